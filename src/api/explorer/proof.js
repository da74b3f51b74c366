// Account proof verification in the browser, with WebCrypto's SHA-256
// (docs/ROLLUP.md, "Proofs"): the page never trusts the node's word that an
// account's state is in a batch root; it recomputes the path itself.
//
// The same algorithm as the node's VerifyAccountProof and as
// clients/js/src/proof.js (tests check all three agree on real proofs).

const ZERO = new Uint8Array(32);
const MAX_DEPTH = 256;
const ACCOUNT_LEAF = 1;
const encoder = new TextEncoder();
const tagCache = new Map();

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * BIP-340 tagged hash: SHA256(SHA256(tag) || SHA256(tag) || data).
 * @param {string} tag
 * @param {...Uint8Array} data
 * @returns {Promise<Uint8Array>}
 */
export async function taggedHash(tag, ...data) {
  let t = tagCache.get(tag);
  if (!t) {
    t = await sha256(encoder.encode(tag));
    tagCache.set(tag, t);
  }
  return sha256(concat(t, t, ...data));
}

/** @param {string} hex @returns {Uint8Array} */
export function fromHex(hex) {
  if (typeof hex !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new TypeError('not hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** @param {Uint8Array} bytes @returns {string} */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function lp(bytes) {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

function bit(key, i) {
  return (key[i >> 3] >> (7 - (i & 7))) & 1;
}

function hash32(hex, what) {
  if (typeof hex !== 'string' || hex.length !== 64) throw new TypeError(`${what} is not 32 bytes of hex`);
  return fromHex(hex);
}

/**
 * The account leaf's key: TH("KRAY/smt/key/v1", u8(1) || lp(account_id)).
 * @param {string} accountId
 * @returns {Promise<Uint8Array>}
 */
export function accountKey(accountId) {
  return taggedHash('KRAY/smt/key/v1', Uint8Array.of(ACCOUNT_LEAF), lp(encoder.encode(accountId)));
}

/**
 * Decodes an account leaf strictly (type 1; sorted assets, no zero rows,
 * nothing after). Throws on anything else.
 * @param {Uint8Array} data
 * @returns {{accountId: string, l1Address: string, pubkey: string, nonce: bigint,
 *   balances: Array<{asset: string, available: bigint, staked: bigint, locked: bigint}>}}
 */
export function decodeAccountLeaf(data) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let at = 0;
  const need = (n) => {
    if (at + n > data.length) throw new RangeError('the leaf data ends early');
  };
  const u32 = () => (need(4), (at += 4), view.getUint32(at - 4));
  const u64 = () => (need(8), (at += 8), view.getBigUint64(at - 8));
  const bytes = () => {
    const n = u32();
    need(n);
    at += n;
    return data.subarray(at - n, at);
  };
  need(1);
  if (data[at++] !== ACCOUNT_LEAF) throw new TypeError('not an account leaf');
  const accountId = decoder.decode(bytes());
  const l1Address = decoder.decode(bytes());
  const pubkey = toHex(bytes());
  const nonce = u64();
  const count = u32();
  const balances = [];
  let previous = null;
  for (let i = 0; i < count; i++) {
    const name = bytes();
    if (previous !== null && compare(previous, name) >= 0) throw new RangeError('assets are not sorted');
    previous = name;
    const row = { asset: decoder.decode(name), available: u64(), staked: u64(), locked: u64() };
    if (!row.available && !row.staked && !row.locked) throw new RangeError('a zero row is not canonical');
    balances.push(row);
  }
  if (at !== data.length) throw new RangeError('trailing bytes after the leaf');
  return { accountId, l1Address, pubkey, nonce, balances };
}

function compare(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Verifies an account proof (GET /api/account/:address/proof) against a root
 * the caller trusts more than the proof (the batch header's state_root).
 * Never throws: a malformed proof is "not verified" with the reason.
 * @param {object} response the endpoint's JSON
 * @param {{accountId: string, root: string}} expect
 * @returns {Promise<{verified: boolean, included?: boolean, reason: string, account?: object}>}
 */
export async function verifyAccountProof(response, { accountId, root }) {
  try {
    const proof = response && response.proof;
    if (!proof || !Array.isArray(proof.siblings)) return { verified: false, reason: 'no proof in the answer' };
    if (proof.siblings.length > MAX_DEPTH) return { verified: false, reason: 'more than 256 siblings' };
    const key = await accountKey(accountId);
    if (!equal(key, hash32(proof.key, 'the proof key'))) return { verified: false, reason: 'the proof is for another account' };
    const siblings = proof.siblings.map((s, i) => hash32(s, `sibling ${i}`));
    let node = ZERO;
    let included = false;
    const terminal = proof.terminal || {};
    if (terminal.type === 'leaf') {
      const leafKey = hash32(terminal.key, 'the terminal key');
      const value = hash32(terminal.value_hash, 'the terminal value hash');
      included = equal(leafKey, key);
      if (!included) {
        for (let i = 0; i < siblings.length; i++)
          if (bit(leafKey, i) !== bit(key, i)) return { verified: false, reason: 'the terminal leaf is not on the account’s path' };
      }
      node = await taggedHash('KRAY/smt/leaf', leafKey, value);
      if (included) {
        const data = fromHex(response.leaf_data || '');
        const valueHash = await taggedHash('KRAY/smt/value/v1', data);
        if (!equal(valueHash, value)) return { verified: false, reason: 'the leaf data does not hash to the proven value' };
        const account = decodeAccountLeaf(data);
        if (account.accountId !== accountId) return { verified: false, reason: 'the leaf belongs to another account' };
        for (let i = siblings.length - 1; i >= 0; i--)
          node = bit(key, i) ? await taggedHash('KRAY/smt/node', siblings[i], node) : await taggedHash('KRAY/smt/node', node, siblings[i]);
        if (!equal(node, hash32(root, 'the root'))) return { verified: false, reason: 'the path does not lead to the batch root' };
        return { verified: true, included: true, reason: 'included', account };
      }
    } else if (terminal.type !== 'empty') {
      return { verified: false, reason: 'unknown terminal type' };
    }
    if (response.leaf_data) return { verified: false, reason: 'leaf data for an account the proof excludes' };
    for (let i = siblings.length - 1; i >= 0; i--)
      node = bit(key, i) ? await taggedHash('KRAY/smt/node', siblings[i], node) : await taggedHash('KRAY/smt/node', node, siblings[i]);
    if (!equal(node, hash32(root, 'the root'))) return { verified: false, reason: 'the path does not lead to the batch root' };
    return { verified: true, included: false, reason: 'not included' };
  } catch (e) {
    return { verified: false, reason: e.message };
  }
}
