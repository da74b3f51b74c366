// The messages krayd verifies signatures over (docs/SIGNING.md), written
// from the document, independently of the node's C++: the legacy transfer
// message, the v1 chain-bound message of every operation, and the
// canonical fields the v1 message is made of ("one rule for every
// operation"), driven by GET /api/operation/types.
import { schnorr } from '@noble/curves/secp256k1.js';

import { bech32Decode } from './bech32.js';
import { bytesToHex, compareBytes, concatBytes, hexToBytes, lp, u32be, u64be, utf8 } from './bytes.js';
import { sha256, taggedHash } from './hash.js';
import { HRP, canonicalP2trAddress, resolveAccountId } from './keys.js';

/** An input krayd would refuse, with the node's error code. */
export class KrayInputError extends Error {
  /**
   * @param {string} code the code the node answers for the same input (docs/API.md, "Error codes")
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = 'KrayInputError';
    this.code = code;
  }
}

const MAX_AMOUNT = 9223372036854775807n;

/**
 * The canonical decimal text of an amount or other integer field: a
 * non-negative safe JSON integer, a bigint, or a canonical decimal string
 * (no sign, no leading zeros, no fraction or exponent), at most 2^63-1.
 * @param {string|number|bigint} value
 * @param {string} name the field, for the error
 * @param {string} [code] error code (invalid_amount for amounts, invalid_field otherwise)
 * @returns {string}
 */
export function canonicalDecimal(value, name, code = 'invalid_amount') {
  let text;
  if (typeof value === 'bigint') text = value.toString();
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0 || Object.is(value, -0))
      throw new KrayInputError(code, `field '${name}' must be a non-negative integer in base units`);
    text = String(value);
  } else if (typeof value === 'string') text = value;
  else throw new KrayInputError('invalid_type', `field '${name}' must be a string or an integer`);
  if (!/^(0|[1-9][0-9]*)$/.test(text) || BigInt(text) > MAX_AMOUNT)
    throw new KrayInputError(code, `field '${name}' must be a canonical decimal integer <= 2^63-1`);
  return text;
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function base58CheckValid(s) {
  let n = 0n;
  for (const c of s) {
    const v = BASE58.indexOf(c);
    if (v < 0) return false;
    n = n * 58n + BigInt(v);
  }
  let hex = n === 0n ? '' : n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let zeros = 0;
  while (s[zeros] === '1') zeros++;
  const bytes = concatBytes(new Uint8Array(zeros), hexToBytes(hex));
  if (bytes.length !== 25) return false;
  const check = sha256(sha256(bytes.slice(0, 21))).slice(0, 4);
  return compareBytes(check, bytes.slice(21)) === 0;
}

/**
 * The canonical form of an L1 address of `network` (fields of kind
 * "address"): P2TR as canonicalP2trAddress, other segwit addresses in lower
 * case, base58 addresses as written once their checksum holds.
 * @param {string} address
 * @param {string} network
 * @returns {string}
 */
export function canonicalAddress(address, network) {
  const text = address === address.toUpperCase() ? address.toLowerCase() : address;
  const d = bech32Decode(text);
  if (d) {
    if (d.hrp !== HRP[network]) throw new KrayInputError('invalid_address', `'${address}' is not an address of ${network}`);
    if (d.data[0] === 1) {
      const p2tr = canonicalP2trAddress(text, network);
      if (!p2tr) throw new KrayInputError('invalid_address', `'${address}' is not a usable P2TR address`);
      return p2tr;
    }
    return text;
  }
  if (base58CheckValid(address)) return address;
  throw new KrayInputError('invalid_address', `'${address}' is not an address of ${network}`);
}

function canonicalPubkey(value) {
  if (typeof value !== 'string' || !/^([0-9a-fA-F]{64}|[0-9a-fA-F]{66})$/.test(value))
    throw new KrayInputError('invalid_pubkey', 'pubkey must be 32 bytes (x-only) or 33 bytes (compressed) of hex');
  const bytes = hexToBytes(value);
  const x = bytes.length === 33 ? bytes.slice(1) : bytes;
  if (bytes.length === 33 && bytes[0] !== 2 && bytes[0] !== 3)
    throw new KrayInputError('invalid_pubkey', 'pubkey is not a valid compressed key');
  try {
    schnorr.utils.lift_x(BigInt('0x' + bytesToHex(x)));
  } catch {
    throw new KrayInputError('invalid_pubkey', 'pubkey is not a valid curve point');
  }
  return bytesToHex(x);
}

/**
 * The canonical value of one field, by its kind (GET /api/operation/types).
 * Assets and ids are checked by the node (it knows its assets).
 * @param {{name: string, kind: string}} spec
 * @param {string|number|bigint} value as the request gives it
 * @param {string} network
 * @returns {string}
 */
export function canonicalFieldValue(spec, value, network) {
  // A JSON integer is its decimal text (the node's FieldText); a negative
  // or fractional number is invalid_amount whatever the field's kind.
  if (typeof value === 'number' || typeof value === 'bigint') value = canonicalDecimal(value, spec.name, 'invalid_amount');
  if (typeof value !== 'string') throw new KrayInputError('invalid_type', `field '${spec.name}' must be a string or an integer`);
  switch (spec.kind) {
    case 'amount':
      return canonicalDecimal(value, spec.name, 'invalid_amount');
    case 'uint':
      return canonicalDecimal(value, spec.name, 'invalid_field');
    case 'account':
      try {
        return resolveAccountId(value, network);
      } catch (e) {
        throw new KrayInputError('invalid_account', e.message);
      }
    case 'address':
      return canonicalAddress(value, network);
    case 'pubkey':
      return canonicalPubkey(value);
    default: // text, asset, id: as sent
      return value;
  }
}

/**
 * The canonical fields of a request for an operation type: each given field
 * (by its name or its REST request name) made canonical, declared defaults
 * filled in; an undeclared field is refused, as the node refuses it.
 * @param {{op: string, fields: Array<{name: string, kind: string, required: boolean, default?: string, request_name?: string}>}} type
 *   an entry of GET /api/operation/types
 * @param {Record<string, string|number|bigint|null|undefined>} fields
 * @param {string} [network]
 * @returns {Record<string, string>} name -> canonical value
 */
export function canonicalFields(type, fields, network = 'regtest') {
  const out = {};
  for (const [given, value] of Object.entries(fields)) {
    if (value === null || value === undefined) continue;
    const spec = type.fields.find((f) => f.name === given || f.request_name === given);
    if (!spec) throw new KrayInputError('unknown_field', `operation '${type.op}' has no field '${given}'`);
    if (spec.name in out) throw new KrayInputError('duplicate_field', `field '${spec.name}' is given twice`);
    out[spec.name] = canonicalFieldValue(spec, value, network);
  }
  for (const spec of type.fields) {
    if (spec.name in out) continue;
    if (spec.default !== undefined) out[spec.name] = spec.default;
    else if (spec.required)
      throw new KrayInputError('missing_field', `missing field '${spec.request_name || spec.name}'`);
  }
  return out;
}

/**
 * The legacy transfer message's preimage: "<from>:<to>:<amount>:<nonce>:transfer",
 * with from/to exactly as they will be sent.
 * @param {string} from
 * @param {string} to
 * @param {string|number|bigint} amount
 * @param {string|number|bigint} nonce
 * @returns {string}
 */
export function legacyPreimage(from, to, amount, nonce) {
  return `${from}:${to}:${canonicalDecimal(amount, 'amount')}:${canonicalDecimal(nonce, 'nonce', 'invalid_field')}:transfer`;
}

/**
 * The legacy transfer message: SHA256(utf8(legacyPreimage(...))). Only for
 * a KRAY transfer with empty data (docs/SIGNING.md (a)).
 * @returns {Uint8Array} 32 bytes
 */
export function legacyMessage(from, to, amount, nonce) {
  return sha256(utf8(legacyPreimage(from, to, amount, nonce)));
}

/**
 * The v1 serialization: lp(chain_id) || lp(op) || lp(account_id) ||
 * u64be(nonce) || u32be(n) || (lp(key) || lp(value)) for each field sorted
 * bytewise by key.
 * @param {{chainId: string, op: string, accountId: string, nonce: string|number|bigint, fields: Record<string, string>}} m
 *   fields already canonical (canonicalFields)
 * @returns {Uint8Array}
 */
export function serializeV1({ chainId, op, accountId, nonce, fields }) {
  const entries = Object.entries(fields).map(([k, v]) => [utf8(k), utf8(v)]);
  entries.sort((a, b) => compareBytes(a[0], b[0]));
  return concatBytes(
    lp(chainId),
    lp(op),
    lp(accountId),
    u64be(nonce),
    u32be(entries.length),
    ...entries.flatMap(([k, v]) => [lp(k), lp(v)]),
  );
}

/**
 * The v1 message, TaggedHash("KRAY/tx/v1", serializeV1(m)); its hex is the
 * operation's tx_hash.
 * @param {Parameters<typeof serializeV1>[0]} m
 * @returns {Uint8Array} 32 bytes
 */
export function messageV1(m) {
  return taggedHash('KRAY/tx/v1', serializeV1(m));
}

/**
 * The v1 transfer message's canonical fields: amount, asset (KRAY), data (""), to (resolved id).
 * @param {{to: string, amount: string|number|bigint, asset?: string, data?: string}} t
 * @param {string} [network]
 * @returns {Record<string, string>}
 */
export function transferFields({ to, amount, asset = 'KRAY', data = '' }, network = 'regtest') {
  return {
    amount: canonicalDecimal(amount, 'amount'),
    asset,
    data,
    to: canonicalFieldValue({ name: 'to', kind: 'account' }, to, network),
  };
}
