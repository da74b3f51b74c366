// Keys, BIP-86 addresses and account ids: what a wallet derives from a
// secret key before it can sign for krayd.
import { schnorr } from '@noble/curves/secp256k1.js';

import { bytesToHex, hexToBytes, utf8 } from './bytes.js';
import { decodeSegwitAddress, encodeSegwitAddress } from './bech32.js';
import { sha256, taggedHash } from './hash.js';

/** Address prefixes (HRPs) by Bitcoin network. */
export const HRP = Object.freeze({ mainnet: 'bc', testnet: 'tb', signet: 'tb', regtest: 'bcrt' });

const ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

function hrpOf(network) {
  const hrp = HRP[network];
  if (!hrp) throw new TypeError(`unknown network '${network}'`);
  return hrp;
}

function toBigInt(bytes) {
  return BigInt('0x' + (bytesToHex(bytes) || '0'));
}

/**
 * The BIP-86 (BIP-341 key-path-only) output key of an x-only internal key:
 * Q = lift_x(P) + int(TaggedHash("TapTweak", P)) * G.
 * @param {Uint8Array} internalKey 32 bytes
 * @returns {Uint8Array} the 32-byte x-only output key
 */
export function taprootOutputKey(internalKey) {
  const P = schnorr.utils.lift_x(toBigInt(internalKey));
  const t = toBigInt(taggedHash('TapTweak', internalKey));
  if (t >= ORDER) throw new RangeError('tweak out of range');
  const Q = t === 0n ? P : P.add(schnorr.Point.BASE.multiply(t));
  return schnorr.utils.pointToBytes(Q);
}

/**
 * The BIP-86 P2TR address of an internal key.
 * @param {Uint8Array|string} internalKey 32 bytes or its hex
 * @param {string} [network] mainnet, testnet, signet or regtest (default)
 * @returns {string}
 */
export function bip86Address(internalKey, network = 'regtest') {
  const key = typeof internalKey === 'string' ? hexToBytes(internalKey) : internalKey;
  return encodeSegwitAddress(hrpOf(network), 1, taprootOutputKey(key));
}

/**
 * An account id: "kray_" + the first 32 hex digits of SHA-256 of the
 * address (its lower-case form: the all-upper-case spelling names the same
 * account).
 * @param {string} address
 * @returns {string}
 */
export function accountIdFromAddress(address) {
  return 'kray_' + bytesToHex(sha256(utf8(address.toLowerCase()))).slice(0, 32);
}

/**
 * True for a well-formed account id (kray_ + 32 lower-case hex).
 * @param {string} s
 * @returns {boolean}
 */
export function isAccountId(s) {
  return typeof s === 'string' && /^kray_[0-9a-f]{32}$/.test(s);
}

/**
 * The canonical (lower-case) form of a P2TR address of `network`, or null
 * when it is not one krayd accepts as an account (mixed case, another
 * network, another witness version, an output key that is not on the curve).
 * @param {string} address
 * @param {string} [network]
 * @returns {string|null}
 */
export function canonicalP2trAddress(address, network = 'regtest') {
  const hrp = hrpOf(network);
  const d = decodeSegwitAddress(hrp, address);
  if (!d || d.version !== 1 || d.program.length !== 32) return null;
  try {
    schnorr.utils.lift_x(toBigInt(d.program));
  } catch {
    return null;
  }
  return address.toLowerCase();
}

/**
 * Resolves how a request names an account (an id or an address) to its id.
 * @param {string} who
 * @param {string} [network]
 * @returns {string} the account id
 * @throws {TypeError} for neither
 */
export function resolveAccountId(who, network = 'regtest') {
  if (typeof who === 'string' && who.startsWith('kray_')) {
    if (!isAccountId(who)) throw new TypeError(`'${who}' is not a valid account id`);
    return who;
  }
  const address = canonicalP2trAddress(who, network);
  if (!address) throw new TypeError(`'${who}' is neither an account id nor a P2TR address of ${network}`);
  return accountIdFromAddress(address);
}

/**
 * A wallet key: the secret, its BIP-86 internal key, address and account id.
 * @typedef {object} WalletKey
 * @property {Uint8Array} secretKey 32 bytes
 * @property {string} publicKey the x-only internal key, hex (what POST /api/account/create binds)
 * @property {string} address the BIP-86 P2TR address
 * @property {string} accountId kray_…
 * @property {string} network
 */

/**
 * The wallet key of a secret.
 * @param {Uint8Array|string} secret 32 bytes or its hex
 * @param {string} [network] default regtest
 * @returns {WalletKey}
 */
export function keyFromSecret(secret, network = 'regtest') {
  const secretKey = typeof secret === 'string' ? hexToBytes(secret) : Uint8Array.from(secret);
  if (secretKey.length !== 32) throw new TypeError('a secret key is 32 bytes');
  const internal = schnorr.getPublicKey(secretKey);
  const address = bip86Address(internal, network);
  return { secretKey, publicKey: bytesToHex(internal), address, accountId: accountIdFromAddress(address), network };
}

/**
 * A fresh random wallet key.
 * @param {string} [network]
 * @returns {WalletKey}
 */
export function randomKey(network = 'regtest') {
  return keyFromSecret(schnorr.utils.randomSecretKey(), network);
}

/**
 * The public, insecure development keys of the regtest genesis
 * (secret = SHA256("krayd-dev-account-<n>"), README.md).
 * @param {1|2} n
 * @returns {WalletKey}
 */
export function devKey(n) {
  return keyFromSecret(sha256(utf8(`krayd-dev-account-${n}`)), 'regtest');
}

/**
 * BIP-340 signature of a 32-byte message.
 * @param {Uint8Array} message
 * @param {Uint8Array} secretKey
 * @param {Uint8Array} [auxRand] 32 bytes; defaults to 32 zero bytes, so signatures are reproducible
 * @returns {string} 64 bytes, hex
 */
export function signMessage(message, secretKey, auxRand = new Uint8Array(32)) {
  return bytesToHex(schnorr.sign(message, secretKey, auxRand));
}

/**
 * Verifies a BIP-340 signature.
 * @param {string|Uint8Array} signature
 * @param {Uint8Array} message
 * @param {string|Uint8Array} publicKey x-only
 * @returns {boolean}
 */
export function verifySignature(signature, message, publicKey) {
  const sig = typeof signature === 'string' ? hexToBytes(signature) : signature;
  const pub = typeof publicKey === 'string' ? hexToBytes(publicKey) : publicKey;
  return schnorr.verify(sig, message, pub);
}
