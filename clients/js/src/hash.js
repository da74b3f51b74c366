// SHA-256 (@noble/hashes) and BIP-340 tagged hashes, the only hashes krayd's
// messages and state commitments use.
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

import { concatBytes, utf8 } from './bytes.js';

/**
 * SHA-256.
 * @param {Uint8Array} data
 * @returns {Uint8Array} 32 bytes
 */
export function sha256(data) {
  return nobleSha256(data);
}

const tagCache = new Map();

/**
 * BIP-340 tagged hash: SHA256(SHA256(tag) || SHA256(tag) || data...).
 * @param {string} tag e.g. "KRAY/tx/v1"
 * @param {...Uint8Array} data
 * @returns {Uint8Array} 32 bytes
 */
export function taggedHash(tag, ...data) {
  let t = tagCache.get(tag);
  if (!t) {
    t = sha256(utf8(tag));
    tagCache.set(tag, t);
  }
  return sha256(concatBytes(t, t, ...data));
}
