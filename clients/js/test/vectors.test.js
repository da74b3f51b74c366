// The published vectors of docs/SIGNING.md, docs/ROLLUP.md and docs/API.md
// recomputed by this package alone (no node): it is a second, independent
// implementation of those documents.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  accountIdFromAddress,
  bytesToHex,
  canonicalFields,
  decodeAccountLeaf,
  devKey,
  encodeAccountLeaf,
  encodeSupplyLeaf,
  hexToBytes,
  keyBit,
  leafKey,
  legacyMessage,
  legacyPreimage,
  LEAF,
  messageV1,
  serializeV1,
  sha256,
  signMessage,
  smtRoot,
  transferFields,
  txRoot,
  utf8,
  valueHash,
  verifySignature,
  verifySmtProof,
} from '../src/index.js';

const DEV1 = devKey(1);
const DEV2 = devKey(2);
const CHAIN = 'kray-regtest-1';

test('the dev keys are the README\'s', () => {
  assert.equal(DEV1.address, 'bcrt1p5mlukaswwcm5awfd26l3n0dy6sf2al6d47sp6nm8np43meh3j0tq6kghfj');
  assert.equal(DEV1.accountId, 'kray_3f385eb703a5fc2bacbee9b1b7de87dd');
  assert.equal(DEV1.publicKey, 'c11d54df8692c3e39898810701fdb6109660b0aaf4cc7c7c4a9bb686354d321e');
  assert.equal(DEV2.address, 'bcrt1p7vj0cv366fkpahwzunnmslxu3nxk827tyxp9cyylmnmwuwdvtq4swmmrvf');
  assert.equal(DEV2.accountId, 'kray_18f3c6a29ed2ec0773aa63430d966a42');
  // The upper-case spelling names the same account (docs/API.md).
  assert.equal(accountIdFromAddress(DEV1.address.toUpperCase()), DEV1.accountId);
});

test('docs/SIGNING.md worked example: legacy and v1 messages, the v1 signature', () => {
  assert.equal(
    legacyPreimage(DEV1.address, DEV2.accountId, 1000, 0),
    'bcrt1p5mlukaswwcm5awfd26l3n0dy6sf2al6d47sp6nm8np43meh3j0tq6kghfj:kray_18f3c6a29ed2ec0773aa63430d966a42:1000:0:transfer',
  );
  assert.equal(
    bytesToHex(legacyMessage(DEV1.address, DEV2.accountId, 1000, 0)),
    '64f5a2a3be80aed15df86b395f23c30ab4c000da253c2d7deced94d3b252c112',
  );
  const m = { chainId: CHAIN, op: 'transfer', accountId: DEV1.accountId, nonce: 0, fields: transferFields({ to: DEV2.accountId, amount: 1000 }) };
  assert.equal(
    bytesToHex(serializeV1(m)),
    '0000000e6b7261792d726567746573742d31000000087472616e73666572' +
      '000000256b7261795f3366333835656237303361356663326261636265653962316237646538376464' +
      '000000000000000000000004' +
      '00000006616d6f756e74000000043130303000000005617373657400000004' +
      '4b52415900000004646174610000000000000002746f' +
      '000000256b7261795f3138663363366132396564326563303737336161363334333064393636613432',
  );
  const msg = messageV1(m);
  assert.equal(bytesToHex(msg), 'bdf2a76d69a453d779cf3db1e7bdbcb07db7d8156a75e1e3612fdb4029f3ad23');
  const sig = signMessage(msg, DEV1.secretKey);
  assert.equal(
    sig,
    'a7c8f1bb2e1484656a3fe05946a8fa7c44339bd68a772635d3da0155a9d9656a61d1cea2a7ba96c4cbdc07d2d8c3947dd87f57e530b00bb5da1ed9be9d3e8987',
  );
  assert.ok(verifySignature(sig, msg, DEV1.publicKey));
  assert.ok(!verifySignature(sig, msg, DEV2.publicKey));
});

// docs/API.md "DeFi", worked example: v1 message = tx_hash of each step.
const DEFI = [
  ['pool_create', DEV1, 0, { token_a: 'KRAY', token_b: 'BTC', amount_a: '1000000', amount_b: '2000000' }, 'd448b7f678b41d41278a648ecfb56de6d9b377d19dfe09bcf4c20634c0f97041'],
  ['swap', DEV2, 0, { pool_id: 'pool_kray_btc', token_in: 'KRAY', amount_in: '10000', min_amount_out: '19644' }, 'a4cb92e3b056f91b4e201991cd6103ca88edbe960b80a3c473a187200f7e12ba'],
  ['pool_create', DEV1, 1, { token_a: 'DOG', token_b: 'KRAY', amount_a: '50000000', amount_b: '1000000' }, '9b8ab446975bf05766d3be6551a78818ee516e0b2552222246aaeeff59c2ba65'],
  ['swap_route', DEV2, 1, { path: 'DOG,KRAY,BTC', amount_in: '1000000', min_amount_out: '37000' }, '245c7f34b00f59f9c2aec7b0776c5fc593400a107a7d310bd12838c83e6bdbb4'],
  ['liquidity_add', DEV2, 2, { pool_id: 'pool_kray_btc', amount_a: '100000', amount_b: '300000', min_amount_a: '99000', min_amount_b: '150000' }, 'b37e1ed14ca10daa6854f517942bc2e0e4f862a2e87ca053ca61aa5f47ceeb67'],
  ['liquidity_remove', DEV2, 3, { pool_id: 'pool_kray_btc', liquidity: '100000', min_amount_a: '60000', min_amount_b: '100000' }, '25eba1dfb8d7c24894a8036354bdaf818e35f2a604fdecc289a28281ee214ce1'],
];

test('docs/API.md DeFi worked example: every v1 message', () => {
  for (const [op, key, nonce, fields, hash] of DEFI)
    assert.equal(bytesToHex(messageV1({ chainId: CHAIN, op, accountId: key.accountId, nonce, fields })), hash, op);
});

// docs/API.md "Marketplace", worked signing examples (expires_at defaults to "0").
const INS = 'a'.repeat(64) + 'i0';
const MARKET = [
  ['market_list', DEV1, 0, { amount: '100000', asset: 'DOG', expires_at: '0', price_credits: '25000' }, '97a5fc9619d047022b53396345ace413466b74a5d2fa4936f40d726b71b45529'],
  ['market_buy', DEV2, 0, { listing_id: '1' }, '9287c2e91cb9315874fe2c1517d9c9ba44d4337a07362cdef881203eab75be21'],
  ['market_cancel', DEV1, 1, { listing_id: '1' }, '5f9428eff03ec754ff7c27b9ae218593fac3669a69323132c4a03d70e1219aa1'],
  ['market_sweep', DEV2, 1, { asset: 'DOG', max_listings: '5', max_total_credits: '100000' }, '5093645ae5e09994b7d31ded139e2d6a76f7a15b0cc273a00737f6b3b8afe694'],
  ['market_offer', DEV2, 2, { expires_at: '1796000000', inscription_id: INS, price_credits: '50000' }, '24e898a4ee3a1fd468cd6103582bdc790cd0e18b1c286efa6cb3b3743918104e'],
  ['market_offer_accept', DEV1, 2, { offer_id: '1' }, '7628c7579d33b43c26bfda91b1ce07917f91b0399a52001040c2edd03dcc4964'],
  ['market_offer_cancel', DEV2, 3, { offer_id: '2' }, 'df5a3955b4276d1407443e941796fd94f2238600628d864821d53ac1ee657990'],
  ['inscription_transfer', DEV1, 3, { inscription_id: INS, to_account: DEV2.accountId }, '17fae27c2810d3a8881b4f871e69608bd35db87747ed75e0bf92420f827d784e'],
];

test('docs/API.md Marketplace worked examples: every v1 message', () => {
  for (const [op, key, nonce, fields, hash] of MARKET)
    assert.equal(bytesToHex(messageV1({ chainId: CHAIN, op, accountId: key.accountId, nonce, fields })), hash, op);
});

test('canonical fields: defaults, request names, accounts resolved, refusals with the node\'s codes', () => {
  const transfer = {
    op: 'transfer',
    fields: [
      { kind: 'amount', name: 'amount', required: true },
      { default: 'KRAY', kind: 'asset', name: 'asset', required: false },
      { default: '', kind: 'text', name: 'data', required: false },
      { kind: 'account', name: 'to', request_name: 'to_account', required: true },
    ],
  };
  assert.deepEqual(canonicalFields(transfer, { to_account: DEV2.address, amount: 1500 }), {
    to: DEV2.accountId,
    amount: '1500',
    asset: 'KRAY',
    data: '',
  });
  const code = (fields) => {
    try {
      canonicalFields(transfer, fields);
    } catch (e) {
      return e.code;
    }
    return 'accepted';
  };
  assert.equal(code({ to: DEV2.accountId, amount: '007' }), 'invalid_amount');
  assert.equal(code({ to: DEV2.accountId, amount: 1.5 }), 'invalid_amount');
  assert.equal(code({ to: DEV2.accountId, amount: -1 }), 'invalid_amount');
  assert.equal(code({ to: DEV2.accountId, amount: '9223372036854775808' }), 'invalid_amount');
  assert.equal(code({ to: DEV2.accountId, amount: '9223372036854775807' }), 'accepted');
  assert.equal(code({ to: DEV2.accountId, amount: 1, colour: 'red' }), 'unknown_field');
  assert.equal(code({ to: DEV2.accountId, to_account: DEV2.accountId, amount: 1 }), 'duplicate_field');
  assert.equal(code({ amount: 1 }), 'missing_field');
  assert.equal(code({ to: 'tb1p5mlukaswwcm5awfd26l3n0dy6sf2al6d47sp6nm8np43meh3j0tqzzzzzz', amount: 1 }), 'invalid_account');
  assert.equal(code({ to: 'kray_ABC', amount: 1 }), 'invalid_account');
});

test('docs/ROLLUP.md golden vectors: SMT roots, tx root, account and supply leaves', () => {
  const leaves = (n) =>
    Array.from({ length: n }, (_, i) => [sha256(utf8(`key${i}`)), sha256(utf8(`value${i}`))]);
  assert.equal(bytesToHex(smtRoot([])), '0'.repeat(64));
  assert.equal(bytesToHex(smtRoot(leaves(1))), '9fa518c1a2ea4a69f72e6b06df454b4607dc052d8f9c45e627ae66ffe00db1a6');
  assert.equal(bytesToHex(smtRoot(leaves(2))), '550d802db2cd83569e51e96eeeafcf457c82f8f92338ce35452faac6e398a35e');
  assert.equal(bytesToHex(smtRoot(leaves(5))), '6f776e2bccb00e5cabfd41f412b4712e4092bff7d21fb89395da0d382ef8cb84');
  assert.equal(bytesToHex(smtRoot(leaves(100))), '24a77a17d289cf5316a82d081e08fedfd02168995e3d7ec88d61529e4d2144e7');
  const txs = Array.from({ length: 5 }, (_, i) => sha256(utf8(`tx${i}`)));
  assert.equal(bytesToHex(txRoot(txs)), '44f6ab44c9ca1ec7d2ea292c4bbcaf22a8225a6ff69bcb8a92371b2477bfb060');
  const account = {
    accountId: 'kray_0123456789abcdef0123456789abcdef',
    l1Address: 'bcrt1p5mlukaswwcm5awfd26l3n0dy6sf2al6d47sp6nm8np43meh3j0tq6kghfj',
    pubkey: 'c11d54df8692c3e39898810701fdb6109660b0aaf4cc7c7c4a9bb686354d321e',
    nonce: 7,
    balances: [
      { asset: 'KRAY', available: 1000, staked: 20, locked: 3 },
      { asset: 'BTC', available: 5 },
      { asset: 'DOG', available: 0 },
    ],
  };
  assert.equal(bytesToHex(leafKey(LEAF.account, account.accountId)), 'cf6deb03b1de2abdce2bfeec8dc24a290bfbb34335db354ff51b1a9bbf1d8e39');
  const data = encodeAccountLeaf(account);
  assert.equal(bytesToHex(valueHash(data)), '29d447cfa9b06850f792b53753c5590b11a0a4a47d7f9f34e08d2d42e8c6db6b');
  const back = decodeAccountLeaf(data);
  assert.deepEqual(back.balances.map((b) => b.asset), ['BTC', 'KRAY']);
  assert.equal(back.nonce, 7n);
  for (let n = 0; n < data.length; n++) assert.throws(() => decodeAccountLeaf(data.slice(0, n)), `truncated at ${n}`);
  assert.throws(() => decodeAccountLeaf(Uint8Array.from([...data, 0])));
  assert.equal(
    bytesToHex(valueHash(encodeSupplyLeaf({ asset: 'KRAY', genesis: 2000000000, minted: 0, burned: 11, feePool: 10 }))),
    'a4348147cc26e5a4ea054a369f18e25c65f6fd046f4e0a7e2644db6341e807b8',
  );
});

// A proof built here from a known tree, checked, then broken every way.
test('sparse-Merkle proofs: inclusion, non-inclusion, and every flipped byte refused', () => {
  const leaves = Array.from({ length: 9 }, (_, i) => [sha256(utf8(`k${i}`)), sha256(utf8(`v${i}`))]);
  const root = bytesToHex(smtRoot(leaves));
  // Siblings along the path of `key`, computed from the leaf set (a prover).
  const prove = (key) => {
    let set = leaves;
    const siblings = [];
    let depth = 0;
    while (set.length > 1) {
      const same = set.filter(([k]) => keyBit(k, depth) === keyBit(key, depth));
      const other = set.filter(([k]) => keyBit(k, depth) !== keyBit(key, depth));
      siblings.push(bytesToHex(smtRoot(other, depth + 1)));
      set = same;
      depth++;
    }
    const terminal =
      set.length === 0 ? { type: 'empty' } : { type: 'leaf', key: bytesToHex(set[0][0]), value_hash: bytesToHex(set[0][1]) };
    return { key: bytesToHex(key), siblings, terminal };
  };
  const p = prove(leaves[3][0]);
  assert.deepEqual(verifySmtProof(p, root), { verified: true, reason: 'included', included: true });
  const absent = prove(sha256(utf8('nobody')));
  const r = verifySmtProof(absent, root);
  assert.equal(r.verified, true);
  assert.equal(r.included, false);
  // Flip each byte of each sibling and of the terminal: never verified.
  const flip = (hex, i) => hex.slice(0, i) + ((parseInt(hex[i], 16) ^ 1).toString(16)) + hex.slice(i + 1);
  for (let s = 0; s < p.siblings.length; s++) {
    const bad = structuredClone(p);
    bad.siblings[s] = flip(bad.siblings[s], 7);
    assert.equal(verifySmtProof(bad, root).verified, false, `sibling ${s}`);
  }
  const badValue = structuredClone(p);
  badValue.terminal.value_hash = flip(badValue.terminal.value_hash, 0);
  assert.equal(verifySmtProof(badValue, root).verified, false);
  assert.equal(verifySmtProof(p, flip(root, 63)).verified, false);
  assert.equal(verifySmtProof({ ...p, siblings: Array(257).fill('00'.repeat(32)) }, root).verified, false);
  assert.equal(verifySmtProof({ ...p, key: 'zz' }, root).verified, false);
  assert.equal(hexToBytes('00ff').length, 2);
});
