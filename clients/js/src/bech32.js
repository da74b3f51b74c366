// Bech32 and bech32m (BIP-173, BIP-350) and segwit addresses: what krayd
// accepts as L1 addresses and what BIP-86 keys are shown as.

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32_CONST = 1;
const BECH32M_CONST = 0x2bc830a3;

function polymod(values) {
  const gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= gen[i];
  }
  return chk >>> 0;
}

function hrpExpand(hrp) {
  const out = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

function convertBits(data, from, to, pad) {
  let acc = 0;
  let bits = 0;
  const out = [];
  const maxv = (1 << to) - 1;
  for (const v of data) {
    if (v < 0 || v >> from) return null;
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & maxv);
    }
  }
  if (pad) {
    if (bits) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || ((acc << (to - bits)) & maxv)) {
    return null;
  }
  return out;
}

/**
 * Encodes a bech32 (`m` false) or bech32m (`m` true) string.
 * @param {string} hrp lower case
 * @param {number[]} data 5-bit values
 * @param {boolean} m
 * @returns {string}
 */
export function bech32Encode(hrp, data, m) {
  const values = hrpExpand(hrp).concat(data, [0, 0, 0, 0, 0, 0]);
  const mod = polymod(values) ^ (m ? BECH32M_CONST : BECH32_CONST);
  let s = hrp + '1';
  for (const d of data) s += CHARSET[d];
  for (let i = 0; i < 6; i++) s += CHARSET[(mod >>> (5 * (5 - i))) & 31];
  return s;
}

/**
 * Decodes a bech32/bech32m string (BIP-173 rules: at most 90 characters, no
 * mixed case).
 * @param {string} s
 * @returns {{hrp: string, data: number[], m: boolean} | null} null if invalid
 */
export function bech32Decode(s) {
  if (typeof s !== 'string' || s.length > 90 || s.length < 8) return null;
  if (s !== s.toLowerCase() && s !== s.toUpperCase()) return null;
  const lower = s.toLowerCase();
  const sep = lower.lastIndexOf('1');
  if (sep < 1 || sep + 7 > lower.length) return null;
  const hrp = lower.slice(0, sep);
  for (const c of hrp) if (c.charCodeAt(0) < 33 || c.charCodeAt(0) > 126) return null;
  const data = [];
  for (const c of lower.slice(sep + 1)) {
    const v = CHARSET.indexOf(c);
    if (v < 0) return null;
    data.push(v);
  }
  const check = polymod(hrpExpand(hrp).concat(data));
  if (check !== BECH32_CONST && check !== BECH32M_CONST) return null;
  return { hrp, data: data.slice(0, -6), m: check === BECH32M_CONST };
}

/**
 * A segwit address from a witness version and program (bech32 for v0,
 * bech32m for v1+, BIP-350).
 * @param {string} hrp "bc", "tb" or "bcrt"
 * @param {number} version 0..16
 * @param {Uint8Array} program
 * @returns {string}
 */
export function encodeSegwitAddress(hrp, version, program) {
  return bech32Encode(hrp, [version].concat(convertBits(program, 8, 5, true)), version !== 0);
}

/**
 * Decodes a segwit address of `hrp`; null if it is not one (wrong HRP,
 * checksum, variant, length or padding).
 * @param {string} hrp
 * @param {string} address
 * @returns {{version: number, program: Uint8Array} | null}
 */
export function decodeSegwitAddress(hrp, address) {
  const d = bech32Decode(address);
  if (!d || d.hrp !== hrp || d.data.length < 1) return null;
  const version = d.data[0];
  if (version > 16 || d.m !== (version !== 0)) return null;
  const program = convertBits(d.data.slice(1), 5, 8, false);
  if (!program || program.length < 2 || program.length > 40) return null;
  if (version === 0 && program.length !== 20 && program.length !== 32) return null;
  return { version, program: Uint8Array.from(program) };
}
