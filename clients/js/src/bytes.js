// Byte helpers: hex, UTF-8, big-endian integers and the length prefix
// lp(s) = u32be(len(s)) || s used by every krayd serialization
// (docs/SIGNING.md, docs/ROLLUP.md).

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/**
 * Decodes hex (either case) into bytes.
 * @param {string} hex
 * @returns {Uint8Array}
 * @throws {TypeError} when `hex` is not an even-length hex string
 */
export function hexToBytes(hex) {
  if (typeof hex !== 'string' || !HEX.test(hex)) throw new TypeError('expected hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Lower-case hex of `bytes`.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function bytesToHex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/**
 * UTF-8 bytes of a string.
 * @param {string} s
 * @returns {Uint8Array}
 */
export function utf8(s) {
  return new TextEncoder().encode(s);
}

/**
 * Concatenates byte arrays.
 * @param {...Uint8Array} parts
 * @returns {Uint8Array}
 */
export function concatBytes(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * 4-byte big-endian unsigned integer.
 * @param {number} n 0 <= n < 2^32
 * @returns {Uint8Array}
 */
export function u32be(n) {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError('u32 out of range');
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/**
 * 8-byte big-endian unsigned integer.
 * @param {bigint|number|string} n 0 <= n < 2^64 (a decimal string or a safe integer)
 * @returns {Uint8Array}
 */
export function u64be(n) {
  const v = BigInt(n);
  if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError('u64 out of range');
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v);
  return out;
}

/**
 * The length prefix of krayd's serializations: u32be(byte length) || bytes;
 * a string is taken as its UTF-8 bytes.
 * @param {string|Uint8Array} s
 * @returns {Uint8Array}
 */
export function lp(s) {
  const b = typeof s === 'string' ? utf8(s) : s;
  return concatBytes(u32be(b.length), b);
}

/**
 * Bytewise comparison (what "sorted by key" means in docs/SIGNING.md).
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 * @returns {number} negative, 0 or positive
 */
export function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Constant-shape equality of two byte arrays.
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 * @returns {boolean}
 */
export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/**
 * One byte.
 * @param {number} n 0..255
 * @returns {Uint8Array}
 */
export function u8(n) {
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new RangeError('u8 out of range');
  return Uint8Array.of(n);
}
