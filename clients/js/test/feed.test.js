// The event feed client (src/feed.js) against a real krayd's GET /ws
// (docs/API.md, "Event feed"): live operations on txs and on an account's
// topic (named by address, delivered by id), batch_closed events, a resume
// with `since` that replays exactly what was missed, and the node's errors.
// Node 20 needs --experimental-websocket for its WebSocket (ctest passes it).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { KrayClient, KrayFeed, devKey } from '../src/index.js';
import { eventually, startKrayd } from './support/krayd.js';

const DEV1 = devKey(1);
const DEV2 = devKey(2);

let node;
let client;
let hasFeed = false;

before(async () => {
  node = await startKrayd({ args: ['-maxbatchtxs=1'] });
  client = new KrayClient(node.url, { token: 'secret' });
  // A node built without the feed answers 404; with it, a plain GET is 426.
  hasFeed = (await fetch(`${node.url}/ws`)).status === 426;
});

after(async () => {
  if (node) assert.equal(await node.stop(), 0);
});

/** Collects the feed's events; `next(pred)` resolves with the first that matches. */
function collector(feed) {
  const events = [];
  const waiting = [];
  feed.on('event', (e) => {
    events.push(e);
    for (const w of [...waiting]) {
      if (w.pred(e)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  return {
    events,
    next(pred, ms = 10000) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiting.push(w);
        setTimeout(() => reject(new Error('no such event within ' + ms + ' ms')), ms).unref();
      });
    },
  };
}

describe('the event feed', () => {
  test('live operations on txs and on an account topic named by address', async (t) => {
    if (!hasFeed) return t.skip('this krayd has no event feed (GET /ws is 404)');
    const feed = new KrayFeed(node.url);
    const seen = collector(feed);
    const reply = await feed.subscribe(['txs', `account:${DEV2.address}`]);
    assert.deepEqual(reply.topics, ['txs', `account:${DEV2.accountId}`]);
    const sent = await client.send(DEV1, { to: DEV2.accountId, amount: 1234 });
    const onTxs = await seen.next((e) => e.topic === 'txs' && e.data.tx_hash === sent.tx_hash);
    assert.equal(onTxs.event, 'operation');
    assert.equal(onTxs.seq, sent.seq);
    assert.equal(onTxs.data.status, 'confirmed');
    const onAccount = await seen.next((e) => e.topic === `account:${DEV2.accountId}` && e.data.operation.tx_hash === sent.tx_hash);
    assert.equal(onAccount.data.account_id, DEV2.accountId);
    const balance = await client.balance(DEV2.accountId);
    assert.equal(onAccount.data.balances.KRAY.available, balance.balances.KRAY.available);
    feed.close();
  });

  test('batch_closed events carry the header the REST API serves', async (t) => {
    if (!hasFeed) return t.skip('this krayd has no event feed (GET /ws is 404)');
    const feed = new KrayFeed(node.url);
    const seen = collector(feed);
    await feed.subscribe(['batches']);
    const sent = await client.send(DEV2, { to: DEV1.accountId, amount: 1 });
    const closed = await seen.next((e) => e.event === 'batch_closed' && e.data.last_seq >= sent.seq);
    // The REST header adds the validators' attestations, which come after the close.
    const { attestations, ...header } = await client.batch(closed.data.number);
    assert.equal(typeof attestations, 'object');
    assert.deepEqual(closed.data, header);
    feed.close();
  });

  test('a resume with since replays exactly the missed operations, in order', async (t) => {
    if (!hasFeed) return t.skip('this krayd has no event feed (GET /ws is 404)');
    const first = new KrayFeed(node.url);
    await first.subscribe(['txs']);
    const before = (await client.send(DEV1, { to: DEV2.accountId, amount: 5 })).seq;
    await eventually(() => first.lastSeq === before, { what: 'the first feed to see the transfer' });
    first.close();
    const missed = [];
    for (let i = 0; i < 3; i++) missed.push((await client.send(DEV1, { to: DEV2.accountId, amount: 10 + i })).tx_hash);
    const second = new KrayFeed(node.url, { since: first.lastSeq });
    const seen = collector(second);
    const reply = await second.subscribe(['txs']);
    assert.equal(reply.replayed, 3);
    await eventually(() => seen.events.length >= 3, { what: 'the replay' });
    assert.deepEqual(seen.events.slice(0, 3).map((e) => e.data.tx_hash), missed);
    const seqs = seen.events.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    second.close();
  });

  test('the node\'s errors reject the call with their code', async (t) => {
    if (!hasFeed) return t.skip('this krayd has no event feed (GET /ws is 404)');
    const feed = new KrayFeed(node.url);
    await assert.rejects(feed.subscribe(['tx']), (e) => e.code === 'unknown_topic');
    await assert.rejects(feed.subscribe(['account:nobody']), (e) => e.code === 'invalid_account');
    await assert.rejects(feed.subscribe(['txs'], { since: 1e9 }), (e) => e.code === 'invalid_since');
    const pong = await feed.ping();
    assert.equal(pong.type, 'pong');
    feed.close();
  });
});
