// The client against a real krayd (started here; ctest passes the binary in
// KRAYD): every message this package builds is compared with the node's,
// every signed endpoint is called with signatures made here, and proofs the
// node serves are verified here. A disagreement is a bug in one of the two
// implementations of docs/SIGNING.md and docs/ROLLUP.md.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';

import {
  bytesToHex,
  canonicalFields,
  devKey,
  KrayApiError,
  KrayClient,
  leafKey,
  LEAF,
  messageV1,
  randomKey,
  serializeV1,
  SIGNED_ENDPOINTS,
  verifyAccountProof,
} from '../src/index.js';
import { SOURCE_DIR, eventually, startKrayd } from './support/krayd.js';

const DEV1 = devKey(1);
const DEV2 = devKey(2);
const INS1 = '6fb976ab49dcec017f1e201e84395983204ae1a7c2abf7ced0a85d692e442799i0'; // dev 1's (genesis.market.json)
const INS2 = '26482871f33f1051f450f2da9af275794c0b5f1c61ebf35e4467fb42c2813403i0'; // dev 2's
const VALIDATOR_KEY = 'c9485d1ebc482c8cd7b97da5b1c8f07b64faee3d38d0c1ce77eb05ea34ace6ee';
const VALIDATOR_POP =
  '336904723fb063b176ce8942ca45ff316c5b0c2f107e7e6e08fbf81977a9538486171cce5e9a6dccd34e716ffe9001847da31ee5eb857cb35013afe7e20aaaaa';
const FAR = 4102444800; // 2100-01-01: an expiry or deadline that never passes in a test

// A field set the node accepts for each signed operation (accounts named by
// address in several spellings, amounts as numbers and strings, unicode
// text). A new signed operation without a sample fails the test below:
// add one here.
const SAMPLES = {
  transfer: { signer: DEV1, fields: { to_account: DEV2.address, amount: 1500, asset: 'DOG', data: 'mémo ✓ <b>' } },
  account_create: { signer: DEV1, fields: { l1_address: DEV1.address.toUpperCase(), pubkey: DEV1.publicKey.toUpperCase() } },
  pool_create: { signer: DEV1, fields: { token_a: 'KRAY', token_b: 'BTC', amount_a: 1000000, amount_b: '2000000' } },
  liquidity_add: {
    signer: DEV2,
    fields: { pool_id: 'pool_kray_btc', amount_a: '100000', amount_b: '300000', min_amount_a: 0, min_amount_b: '0', deadline: FAR },
  },
  liquidity_remove: { signer: DEV2, fields: { pool_id: 'pool_kray_btc', liquidity: '1000', min_amount_a: '0', min_amount_b: '0' } },
  swap: { signer: DEV2, fields: { pool_id: 'pool_kray_btc', token_in: 'KRAY', amount_in: '10000', min_amount_out: '1' } },
  swap_route: { signer: DEV2, fields: { path: 'DOG,KRAY,BTC', amount_in: 1000000, min_amount_out: '1' } },
  market_list: { signer: DEV1, fields: { asset: 'DOG', amount: '100000', price_credits: 25000 } },
  market_buy: { signer: DEV2, fields: { listing_id: '1' } },
  market_cancel: { signer: DEV1, fields: { listing_id: 7 } },
  market_sweep: { signer: DEV2, fields: { asset: 'DOG', max_listings: 5, max_total_credits: '100000' } },
  market_offer: { signer: DEV2, fields: { inscription_id: INS1, price_credits: '50000', expires_at: FAR } },
  market_offer_accept: { signer: DEV1, fields: { offer_id: '1' } },
  market_offer_cancel: { signer: DEV2, fields: { offer_id: '2' } },
  inscription_transfer: { signer: DEV1, fields: { inscription_id: INS1, to_account: DEV2.address.toUpperCase() } },
  deposit_claim: { signer: DEV1, fields: { txid: 'ab'.repeat(32), vout: 1, pubkey: '02' + DEV2.publicKey } },
  withdrawal_request: { signer: DEV1, fields: { amount: '10000000', asset: 'BTC', l1_address: DEV2.address } },
  withdrawal_validator_challenge: { signer: DEV2, fields: { id: 3, reason: 'pays an address on a sanctions list ✓' } },
  // The validator key SHA256("krayd-validator-example") and its proof of
  // possession for dev 1 (docs/SIGNING.md, "Validator messages").
  validator_register: {
    signer: DEV1,
    fields: {
      pubkey: VALIDATOR_KEY,
      l1_address: 'bcrt1p8vp93fdwkgqwvrk43f0ymqpcjv6rfah7smex2cvurt8s2xxvfatse6xzac',
      stake_amount: 10000000,
      validator_signature: VALIDATOR_POP,
    },
  },
  stake: { signer: DEV1, fields: { amount: '5000' } },
  unstake: { signer: DEV1, fields: { amount: 6000 } },
  validator_claim_rewards: { signer: DEV1, fields: { validator_id: 'val_032479e9adcd1a63f0fe9abc2c3ba0ed' } },
  validator_equivocation: {
    signer: DEV2,
    fields: {
      validator_id: 'val_032479e9adcd1a63f0fe9abc2c3ba0ed',
      batch: 9,
      state_root_a: 'aa'.repeat(32),
      tx_root_a: 'cc'.repeat(32),
      signature_a: '11'.repeat(64),
      state_root_b: 'bb'.repeat(32),
      tx_root_b: 'cc'.repeat(32),
      signature_b: '22'.repeat(64),
    },
  },
  reward_claim: { signer: DEV1, fields: { reward_id: '1' } },
};

let node;
let client;

before(async () => {
  node = await startKrayd({ genesis: join(SOURCE_DIR, 'docs/examples/genesis.market.json'), args: ['-maxbatchtxs=2', '-batchinterval=1'] });
  client = new KrayClient(node.url, { token: 'secret' });
});

after(async () => {
  if (!node) return;
  const conservation = await client.conservation();
  assert.equal(conservation.ok, true, conservation.report);
  assert.equal(await node.stop(), 0);
});

describe('messages: this package and the node agree', () => {
  test('every signed operation the node lists: canonical fields, serialization and message', async () => {
    const types = await client.operationTypes();
    const { chainId } = await client.chain();
    const checked = [];
    for (const [op, type] of types) {
      if (type.auth !== 'signed' && op !== 'account_create') continue;
      const sample = SAMPLES[op];
      assert.ok(sample, `no sample fields for the signed operation '${op}': add one to SAMPLES`);
      const nonce = type.consumes_nonce ? 3 : 0;
      // The node's answer (account_create is signed only when a signature is sent).
      const ask = { op, account: sample.signer.address, nonce, fields: sample.fields };
      if (op === 'account_create') ask.signature = '00'.repeat(64);
      const theirs = await client.request('POST', '/api/operation/message', ask);
      const fields = canonicalFields(type, sample.fields, 'regtest');
      const mine = { chainId, op, accountId: sample.signer.accountId, nonce, fields };
      assert.deepEqual(fields, theirs.fields, `${op}: canonical fields`);
      assert.equal(bytesToHex(serializeV1(mine)), theirs.serialization, `${op}: serialization`);
      assert.equal(bytesToHex(messageV1(mine)), theirs.message, `${op}: message`);
      checked.push(op);
    }
    for (const op of ['transfer', 'pool_create', 'swap', 'market_list', 'deposit_claim']) assert.ok(checked.includes(op), op);
  });

  test('the node refuses what this package refuses, with the same code', async () => {
    const types = await client.operationTypes();
    const transfer = types.get('transfer');
    for (const [fields, code] of [
      [{ to_account: DEV2.accountId, amount: '007' }, 'invalid_amount'],
      [{ to_account: DEV2.accountId, amount: '9223372036854775808' }, 'invalid_amount'],
      [{ to_account: DEV2.accountId, amount: 1, colour: 'red' }, 'unknown_field'],
      [{ to: DEV2.accountId, to_account: DEV2.accountId, amount: 1 }, 'duplicate_field'],
      [{ amount: 1 }, 'missing_field'],
      [{ to_account: 'tb1p5mlukaswwcm5awfd26l3n0dy6sf2al6d47sp6nm8np43meh3j0tq0000', amount: 1 }, 'invalid_account'],
    ]) {
      assert.throws(() => canonicalFields(transfer, fields), (e) => e.code === code, JSON.stringify(fields));
      await assert.rejects(
        client.request('POST', '/api/operation/message', { op: 'transfer', account: DEV1.accountId, nonce: 0, fields }),
        (e) => e instanceof KrayApiError && e.code === code && e.status === 400,
        JSON.stringify(fields),
      );
    }
  });
});

describe('signed calls made here, accepted by the node', () => {
  test('a new wallet: account, transfers in both schemes, memo, batch', async () => {
    const me = randomKey();
    const created = await client.createAccount(me);
    assert.equal(created.account_id, me.accountId);
    assert.match(created.tx_hash, /^[0-9a-f]{64}$/);
    // v1 and legacy, the sender named by id and by address.
    const v1 = await client.send(DEV1, { to: me.address, amount: 5000, asset: 'BTC' });
    assert.equal(v1.status, 'confirmed');
    const legacy = await client.send(DEV1, { to: me.address, amount: 7000, scheme: 'legacy', from: DEV1.address });
    assert.equal(legacy.new_nonce, v1.new_nonce + 1);
    const back = await client.send(me, { to: DEV2.accountId, amount: 1000, data: 'thanks <3' });
    assert.equal((await client.transaction(back.tx_hash)).data, 'thanks <3');
    const bodies = [
      await client.transferBody(me, { to: DEV1.accountId, amount: 1, nonce: 1 }),
      await client.transferBody(me, { to: DEV1.accountId, amount: 2, nonce: 2, scheme: 'legacy' }),
    ];
    const batch = await client.sendBatch(bodies);
    assert.equal(batch.accepted, 2, JSON.stringify(batch));
    const balance = await client.balance(me.address);
    assert.equal(balance.balances.BTC.available, '5000');
    assert.equal(balance.nonce, 3);
    // A replayed nonce and a signature by the wrong key: the node's codes.
    await assert.rejects(client.send(me, { to: DEV1.accountId, amount: 1, nonce: 0 }), (e) => e.code === 'nonce_conflict' && e.status === 409);
    await assert.rejects(client.send(DEV2, { to: DEV1.accountId, amount: 1, from: me.accountId }), (e) => e.code === 'invalid_signature');
  });

  test('every module endpoint: defi, marketplace (and the bridge says it is unavailable)', async () => {
    const ok = async (op, fields, key, options) => {
      const r = await client.call(op, fields, key, options);
      assert.equal(r.status, 'confirmed', `${op}: ${JSON.stringify(r)}`);
      assert.equal(r.op, op);
      return r;
    };
    await ok('pool_create', { token_a: 'KRAY', token_b: 'BTC', amount_a: '1000000', amount_b: '2000000' }, DEV1);
    await ok('pool_create', { token_a: 'DOG', token_b: 'KRAY', amount_a: '50000000', amount_b: '1000000' }, DEV1);
    const quote = await client.quote({ pool_id: 'pool_kray_btc', token_in: 'KRAY', amount_in: '10000' });
    const swap = await ok('swap', { pool_id: 'pool_kray_btc', token_in: 'KRAY', amount_in: '10000', min_amount_out: quote.minimum_received }, DEV2);
    assert.equal(swap.result.amount_out, quote.amount_out);
    await ok('swap_route', { path: 'DOG,KRAY,BTC', amount_in: '1000000', min_amount_out: '1', deadline: FAR }, DEV2);
    const added = await ok('liquidity_add', { pool_id: 'pool_kray_btc', amount_a: '100000', amount_b: '300000', min_amount_a: '1', min_amount_b: '1' }, DEV2);
    await ok('liquidity_remove', { pool_id: 'pool_kray_btc', liquidity: added.result.liquidity, min_amount_a: '1', min_amount_b: '1' }, DEV2);

    const listed = await ok('market_list', { asset: 'DOG', amount: '100000', price_credits: '25000' }, DEV1);
    await ok('market_buy', { listing_id: listed.result.listing_id }, DEV2);
    const second = await ok('market_list', { inscription_id: INS1, price_credits: '500000', expires_at: FAR }, DEV1);
    await ok('market_cancel', { listing_id: second.result.listing_id }, DEV1);
    await ok('market_list', { asset: 'DOG', amount: '200000', price_credits: '40000' }, DEV1);
    await ok('market_sweep', { asset: 'DOG', max_listings: '5', max_total_credits: '50000' }, DEV2);
    const offer = await ok('market_offer', { inscription_id: INS1, price_credits: '450000' }, DEV2);
    await ok('market_offer_accept', { offer_id: offer.result.offer_id }, DEV1);
    const rune = await ok('market_offer', { asset: 'DOG', amount: '50000', price_credits: '9000' }, DEV2);
    await ok('market_offer_cancel', { offer_id: rune.result.offer_id }, DEV2);
    await ok('inscription_transfer', { inscription_id: INS2, to_account: DEV1.address }, DEV2);
    assert.equal((await client.inscription(INS1)).owner, DEV2.accountId);

    // Generic submit of a transfer, and deposit_claim on a node without an L1 backend.
    const submitted = await client.submit('transfer', { to: DEV2.accountId, amount: '3', asset: 'BTC' }, DEV1);
    assert.equal(submitted.status, 'confirmed');
    const funding = randomKey();
    await assert.rejects(
      client.call('deposit_claim', { txid: 'ab'.repeat(32), vout: 0, pubkey: funding.publicKey }, funding, { signer: DEV1.accountId }),
      (e) => e instanceof KrayApiError && e.code === 'bridge_unavailable' && e.status === 503,
    );
  });

  test('validators, rewards and withdrawals: each call reaches its route and the module answers', async () => {
    // A domain answer (never route_not_found) proves the path and the signed body shape.
    const domain = (e) => e instanceof KrayApiError && e.code !== 'route_not_found' && e.status < 500;
    assert.ok(Array.isArray((await client.validators()).validators));
    assert.equal(typeof (await client.validatorStats()).validators.active, 'number');
    assert.equal((await client.consensusState()).mode, 'single-sequencer');
    assert.ok(await client.rewardStats());
    assert.ok(await client.rewards(DEV1.address));
    await assert.rejects(client.validator('val_' + '00'.repeat(16)), domain);
    await assert.rejects(client.reward(999999), domain);
    await assert.rejects(client.call('unstake', { amount: '1' }, DEV1), domain);
    await assert.rejects(client.claimValidatorRewards('val_' + '00'.repeat(16), DEV1), domain);
    await assert.rejects(client.call('reward_claim', { reward_id: '999999' }, DEV1), domain);
    // No L1 backend here: every withdrawal route says the bridge is unavailable.
    const unavailable = (e) => e instanceof KrayApiError && e.code === 'bridge_unavailable' && e.status === 503;
    await assert.rejects(client.withdrawalStatus(1), unavailable);
    await assert.rejects(client.withdrawals(DEV1.accountId), unavailable);
    await assert.rejects(client.withdrawalPsbt(1), unavailable);
    await assert.rejects(client.spend('x'), unavailable);
    await assert.rejects(client.anchor(1), unavailable);
    await assert.rejects(client.challengeWithdrawal(1, 'test'), unavailable);
    await assert.rejects(
      client.call('withdrawal_request', { asset: 'BTC', amount: '1000', l1_address: DEV2.address }, DEV1),
      unavailable,
    );
  });

  test('every path the client calls is in the node\'s OpenAPI document', async () => {
    const doc = await client.openapi();
    for (const [op, path] of Object.entries(SIGNED_ENDPOINTS)) assert.ok(doc.paths[path]?.post, `${op}: ${path}`);
    for (const path of ['/api/operations', '/api/account/{address}/proof', '/api/rollup/batch/{id}/operations', '/api/operation/submit',
      '/api/validator/{id}/claim-rewards', '/api/validator/{id}/attestations', '/api/rewards/reward/{id}',
      '/api/bridge/withdrawal/{id}/status', '/api/bridge/withdrawals/{account}', '/api/bridge/spend/{id}', '/api/bridge/anchor/{batch}'])
      assert.ok(doc.paths[path], path);
  });
});

describe('proofs served by the node, verified here', () => {
  test('included and absent accounts verify against the batch root; every tampering is caught', async () => {
    const move = await client.send(DEV1, { to: DEV2.accountId, amount: 10 });
    const header = await eventually(async () => {
      const op = await client.transaction(move.tx_hash);
      return op.batch_id && client.batch(op.batch_id);
    }, { what: 'the transfer to be batched' });
    const checked = await client.verifiedAccount(DEV1.address, header.number);
    assert.equal(checked.verified, true, checked.reason);
    assert.equal(checked.included, true);
    assert.equal(checked.account.accountId, DEV1.accountId);
    const nobody = randomKey();
    const absent = await client.verifiedAccount(nobody.accountId, header.number);
    assert.equal(absent.verified, true, absent.reason);
    assert.equal(absent.included, false);

    // The browser's implementation (WebCrypto) must agree on the same proofs.
    const browser = await import(join(SOURCE_DIR, 'src/api/explorer/proof.js'));
    const proof = await client.proof(DEV1.accountId, { batch: header.number });
    const expect = { accountId: DEV1.accountId, root: header.state_root };
    assert.equal((await browser.verifyAccountProof(proof, expect)).verified, true);
    const absentProof = await client.proof(nobody.accountId, { batch: header.number });
    const b = await browser.verifyAccountProof(absentProof, { accountId: nobody.accountId, root: header.state_root });
    assert.deepEqual([b.verified, b.included], [true, false]);
    assert.equal(bytesToHex(await browser.accountKey(DEV1.accountId)), bytesToHex(leafKey(LEAF.account, DEV1.accountId)));

    // Flip one hex digit anywhere that matters: both implementations say no.
    const flip = (hex, i) => hex.slice(0, i) + (parseInt(hex[i], 16) ^ 8).toString(16) + hex.slice(i + 1);
    const variants = [];
    for (let s = 0; s < proof.proof.siblings.length; s++) {
      const p = structuredClone(proof);
      p.proof.siblings[s] = flip(p.proof.siblings[s], 5);
      variants.push([`sibling ${s}`, p, expect]);
    }
    const data = structuredClone(proof);
    data.leaf_data = flip(data.leaf_data, data.leaf_data.length - 1);
    variants.push(['leaf data', data, expect]);
    const value = structuredClone(proof);
    value.proof.terminal.value_hash = flip(value.proof.terminal.value_hash, 0);
    variants.push(['value hash', value, expect]);
    variants.push(['root', proof, { ...expect, root: flip(expect.root, 63) }]);
    variants.push(['another account', proof, { ...expect, accountId: DEV2.accountId }]);
    for (const [what, p, e] of variants) {
      assert.equal(verifyAccountProof(p, e).verified, false, `client: ${what}`);
      assert.equal((await browser.verifyAccountProof(p, e)).verified, false, `browser: ${what}`);
    }
  });
});
