// State commitments (docs/ROLLUP.md), written from the document: leaf keys
// and value hashes, the account leaf's encoding, and sparse-Merkle proof
// verification, so a wallet can check what a node says about an account
// against a batch root instead of trusting the node.
import { bytesToHex, compareBytes, concatBytes, equalBytes, hexToBytes, lp, u8 } from './bytes.js';
import { taggedHash } from './hash.js';

/** Leaf types (docs/ROLLUP.md, "Leaves"). */
export const LEAF = Object.freeze({ account: 1, supply: 2 });

const ZERO = new Uint8Array(32);
const MAX_DEPTH = 256;

/**
 * A leaf's key: TH("KRAY/smt/key/v1", u8(type) || lp(id)).
 * @param {number} type
 * @param {string} id
 * @returns {Uint8Array}
 */
export function leafKey(type, id) {
  return taggedHash('KRAY/smt/key/v1', u8(type), lp(id));
}

/**
 * A leaf's value hash: TH("KRAY/smt/value/v1", data).
 * @param {Uint8Array} data u8(type) || fields
 * @returns {Uint8Array}
 */
export function valueHash(data) {
  return taggedHash('KRAY/smt/value/v1', data);
}

/**
 * The hash of a single-leaf subtree: TH("KRAY/smt/leaf", key || value_hash).
 * @param {Uint8Array} key
 * @param {Uint8Array} value
 * @returns {Uint8Array}
 */
export function leafHash(key, value) {
  return taggedHash('KRAY/smt/leaf', key, value);
}

/**
 * An inner node: TH("KRAY/smt/node", left || right).
 * @param {Uint8Array} left
 * @param {Uint8Array} right
 * @returns {Uint8Array}
 */
export function nodeHash(left, right) {
  return taggedHash('KRAY/smt/node', left, right);
}

/**
 * Bit `i` of a key, bit 0 being the most significant bit of byte 0.
 * @param {Uint8Array} key
 * @param {number} i
 * @returns {0|1}
 */
export function keyBit(key, i) {
  return (key[i >> 3] >> (7 - (i & 7))) & 1;
}

/**
 * The root of a set of leaves (docs/ROLLUP.md §1), for tests and small
 * trees: H(S, d) = 0 | leaf | node(H(S0), H(S1)).
 * @param {Array<[Uint8Array, Uint8Array]>} leaves (key, value_hash)
 * @param {number} [depth]
 * @returns {Uint8Array}
 */
export function smtRoot(leaves, depth = 0) {
  if (leaves.length === 0) return ZERO;
  if (leaves.length === 1) return leafHash(leaves[0][0], leaves[0][1]);
  return nodeHash(
    smtRoot(leaves.filter(([k]) => !keyBit(k, depth)), depth + 1),
    smtRoot(leaves.filter(([k]) => keyBit(k, depth)), depth + 1),
  );
}

class Reader {
  constructor(bytes) {
    this.b = bytes;
    this.at = 0;
  }
  take(n) {
    if (this.at + n > this.b.length) throw new RangeError('leaf data ends early');
    const out = this.b.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }
  u32() {
    return new DataView(this.take(4).buffer).getUint32(0);
  }
  u64() {
    return new DataView(this.take(8).buffer).getBigUint64(0);
  }
  lpBytes() {
    return this.take(this.u32());
  }
  lpText() {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.lpBytes());
  }
}

/**
 * Decodes an account leaf strictly (type 1): lp(account_id) || lp(l1_address)
 * || lp(pubkey) || u64be(nonce) || u32be(n) || n x [lp(asset) ||
 * u64be(available) || u64be(staked) || u64be(locked)], assets sorted
 * bytewise, no all-zero row, nothing after.
 * @param {Uint8Array} data
 * @returns {{accountId: string, l1Address: string, pubkey: string, nonce: bigint,
 *   balances: Array<{asset: string, available: bigint, staked: bigint, locked: bigint}>}}
 * @throws {RangeError|TypeError} when the data is not a canonical account leaf
 */
export function decodeAccountLeaf(data) {
  const r = new Reader(data);
  if (r.take(1)[0] !== LEAF.account) throw new TypeError('not an account leaf');
  const accountId = r.lpText();
  const l1Address = r.lpText();
  const pub = r.lpBytes();
  if (pub.length !== 0 && pub.length !== 32) throw new RangeError('pubkey must be empty or 32 bytes');
  const nonce = r.u64();
  const n = r.u32();
  const balances = [];
  let previous = null;
  for (let i = 0; i < n; i++) {
    const assetBytes = r.lpBytes();
    if (previous && compareBytes(previous, assetBytes) >= 0) throw new RangeError('assets are not sorted');
    previous = assetBytes;
    const row = { asset: new TextDecoder('utf-8', { fatal: true }).decode(assetBytes), available: r.u64(), staked: r.u64(), locked: r.u64() };
    if (row.available === 0n && row.staked === 0n && row.locked === 0n) throw new RangeError('a zero row is not canonical');
    balances.push(row);
  }
  if (r.at !== data.length) throw new RangeError('trailing bytes after the leaf');
  return { accountId, l1Address, pubkey: bytesToHex(pub), nonce, balances };
}

/**
 * Encodes an account leaf (the inverse of decodeAccountLeaf; rows sorted and
 * zero rows dropped here).
 * @param {{accountId: string, l1Address: string, pubkey: string, nonce: bigint|number,
 *   balances: Array<{asset: string, available: bigint|number, staked?: bigint|number, locked?: bigint|number}>}} a
 * @returns {Uint8Array}
 */
export function encodeAccountLeaf(a) {
  const te = new TextEncoder();
  const rows = a.balances
    .map((b) => ({ asset: te.encode(b.asset), v: [BigInt(b.available), BigInt(b.staked ?? 0), BigInt(b.locked ?? 0)] }))
    .filter((b) => b.v.some((x) => x !== 0n))
    .sort((x, y) => compareBytes(x.asset, y.asset));
  const u64 = (v) => {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(v));
    return out;
  };
  const u32 = (v) => {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, v);
    return out;
  };
  return concatBytes(
    u8(LEAF.account),
    lp(a.accountId),
    lp(a.l1Address),
    lp(a.pubkey ? hexToBytes(a.pubkey) : new Uint8Array(0)),
    u64(a.nonce),
    u32(rows.length),
    ...rows.flatMap((r) => [lp(r.asset), u64(r.v[0]), u64(r.v[1]), u64(r.v[2])]),
  );
}

function hex32(s, what) {
  if (typeof s !== 'string' || !/^[0-9a-fA-F]{64}$/.test(s)) throw new TypeError(`${what} must be 32 bytes of hex`);
  return hexToBytes(s);
}

/**
 * The outcome of a proof check.
 * @typedef {object} ProofCheck
 * @property {boolean} verified the proof holds against the root
 * @property {string} reason why not, or what was proven ("included", "not included")
 * @property {boolean} [included]
 */

/**
 * Verifies a sparse-Merkle proof (VerifySmtProof): at most 256 siblings;
 * from the terminal (empty: 32 zero bytes; leaf: leafHash) combine with
 * siblings[i] for i = depth-1 … 0 on the side given by bit i of `key`; the
 * result must equal `root`. Then: inclusion when the terminal is a leaf
 * with this key; non-inclusion when it is empty, or another leaf sharing
 * the key's first `depth` bits.
 * @param {{key: string, siblings: string[], terminal: {type: string, key?: string, value_hash?: string}}} proof
 *   the `proof` object of GET /api/account/:address/proof
 * @param {string} root hex
 * @returns {ProofCheck}
 */
export function verifySmtProof(proof, root) {
  try {
    const key = hex32(proof.key, 'proof.key');
    const expected = hex32(root, 'root');
    if (!Array.isArray(proof.siblings) || proof.siblings.length > MAX_DEPTH)
      return { verified: false, reason: 'too many siblings' };
    const siblings = proof.siblings.map((s, i) => hex32(s, `siblings[${i}]`));
    const depth = siblings.length;
    let node;
    let included = false;
    if (proof.terminal?.type === 'empty') {
      node = ZERO;
    } else if (proof.terminal?.type === 'leaf') {
      const leafKeyBytes = hex32(proof.terminal.key, 'terminal.key');
      node = leafHash(leafKeyBytes, hex32(proof.terminal.value_hash, 'terminal.value_hash'));
      included = equalBytes(leafKeyBytes, key);
      if (!included) {
        for (let i = 0; i < depth; i++)
          if (keyBit(leafKeyBytes, i) !== keyBit(key, i))
            return { verified: false, reason: 'the terminal leaf is not on the key’s path' };
      }
    } else {
      return { verified: false, reason: 'unknown terminal type' };
    }
    for (let i = depth - 1; i >= 0; i--)
      node = keyBit(key, i) ? nodeHash(siblings[i], node) : nodeHash(node, siblings[i]);
    if (!equalBytes(node, expected)) return { verified: false, reason: 'the proof does not lead to the root' };
    return { verified: true, reason: included ? 'included' : 'not included', included };
  } catch (e) {
    return { verified: false, reason: e.message };
  }
}

/**
 * Verifies an account proof as GET /api/account/:address/proof serves it
 * (VerifyAccountProof): the proof is for `accountId`'s leaf key, holds
 * against `root` (take it from the batch header you trust, not from the
 * proof), and the leaf data decodes strictly, names the account and hashes
 * to the proven value.
 * @param {object} response the endpoint's JSON
 * @param {{accountId: string, root: string}} expect
 * @returns {ProofCheck & {account?: ReturnType<typeof decodeAccountLeaf>}}
 */
export function verifyAccountProof(response, { accountId, root }) {
  try {
    const key = leafKey(LEAF.account, accountId);
    if (bytesToHex(key) !== String(response?.proof?.key).toLowerCase())
      return { verified: false, reason: 'the proof is for another key' };
    const smt = verifySmtProof(response.proof, root);
    if (!smt.verified) return smt;
    if (!smt.included) {
      if (response.included || response.leaf_data) return { verified: false, reason: 'leaf data for a key the proof excludes' };
      return smt;
    }
    const data = hexToBytes(response.leaf_data ?? '');
    if (bytesToHex(valueHash(data)) !== response.proof.terminal.value_hash.toLowerCase())
      return { verified: false, reason: 'the leaf data does not hash to the proven value' };
    const account = decodeAccountLeaf(data);
    if (account.accountId !== accountId) return { verified: false, reason: 'the leaf belongs to another account' };
    return { verified: true, reason: 'included', included: true, account };
  } catch (e) {
    return { verified: false, reason: e.message };
  }
}

/**
 * The tx root over a batch's operation record hashes, in seq order
 * (docs/ROLLUP.md, "Tx root"): leaves TH("KRAY/txroot/leaf", h), parents
 * TH("KRAY/txroot/node", l || r), an odd last node carried up unchanged;
 * 32 zero bytes for none.
 * @param {Uint8Array[]} recordHashes
 * @returns {Uint8Array}
 */
export function txRoot(recordHashes) {
  if (recordHashes.length === 0) return ZERO;
  let level = recordHashes.map((h) => taggedHash('KRAY/txroot/leaf', h));
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(taggedHash('KRAY/txroot/node', level[i], level[i + 1]));
    if (level.length % 2) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0];
}

/**
 * Encodes a supply leaf (type 2): lp(asset) || u64be(genesis_total) ||
 * u64be(minted) || u64be(burned) || u64be(fee_pool).
 * @param {{asset: string, genesis: bigint|number, minted: bigint|number, burned: bigint|number, feePool: bigint|number}} s
 * @returns {Uint8Array}
 */
export function encodeSupplyLeaf(s) {
  const u64 = (v) => {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(v));
    return out;
  };
  return concatBytes(u8(LEAF.supply), lp(s.asset), u64(s.genesis), u64(s.minted), u64(s.burned), u64(s.feePool));
}
