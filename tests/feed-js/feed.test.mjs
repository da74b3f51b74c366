// krayd's event feed (GET /ws, docs/API.md "Event feed") driven by the `ws`
// package, the WebSocket client most Node programs and wallet back ends
// use. Starts the real krayd (KRAYD) on a free loopback port with a temp
// datadir; transfers are made with the real kray-cli (KRAY_CLI).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import WebSocket from 'ws';

const KRAYD = process.env.KRAYD;
const KRAY_CLI = process.env.KRAY_CLI;
const SOURCE_DIR = process.env.KRAY_SOURCE_DIR;
const TOKEN = 'feed-js-token';
const DEV1 = 'kray_3f385eb703a5fc2bacbee9b1b7de87dd';
const DEV2 = 'kray_18f3c6a29ed2ec0773aa63430d966a42';
const DEV2_ADDRESS = 'bcrt1p7vj0cv366fkpahwzunnmslxu3nxk827tyxp9cyylmnmwuwdvtq4swmmrvf';
// SHA256("krayd-dev-account-1"): the public, insecure regtest dev key (docs/STATE.md).
const DEV1_SECRET = '5bd52cab9c4c9909d649af8fa8d6a193211bf551d0eebca6d0d683cf0221692c';

const run = promisify(execFile);
let dir, node, port, keyfile;

async function waitFor(check, what, ms = 20000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

before(async () => {
  assert.ok(KRAYD && KRAY_CLI && SOURCE_DIR, 'KRAYD, KRAY_CLI and KRAY_SOURCE_DIR must be set (run.sh)');
  dir = mkdtempSync(join(tmpdir(), 'krayd-feed-js-'));
  keyfile = join(dir, 'dev1.key');
  writeFileSync(keyfile, DEV1_SECRET, { mode: 0o600 });
  const portfile = join(dir, 'port');
  node = spawn(KRAYD, [`-datadir=${join(dir, 'data')}`, `-genesis=${join(SOURCE_DIR, 'config/genesis.regtest.json')}`,
    '-port=0', `-portfile=${portfile}`, `-rpctoken=${TOKEN}`, '-loglevel=warn'], { stdio: 'ignore' });
  const failed = new Promise((_, reject) => node.on('error', reject));  // e.g. ENOENT: no such binary
  port = await Promise.race([
    waitFor(() => existsSync(portfile) && Number(readFileSync(portfile, 'utf8').trim()), 'krayd'), failed]);
});

after(() => {
  if (node && node.exitCode === null) node.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function send(amount) {
  const { stdout } = await run(KRAY_CLI, ['-rpcconnect=127.0.0.1', `-rpcport=${port}`, `-keyfile=${keyfile}`, 'send',
    DEV2_ADDRESS, String(amount)]);
  return JSON.parse(stdout);
}

async function getJson(path) {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: await r.json() };
}

// A feed connection whose messages are read in order with next().
function openFeed() {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const queue = [];
  const waiters = [];
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('message', (data, isBinary) => {
    const msg = JSON.parse(data.toString());
    assert.equal(isBinary, false, 'the node sends text frames');
    if (waiters.length) waiters.shift()(msg);
    else queue.push(msg);
  });
  const next = (ms = 10000) => {
    if (queue.length) return Promise.resolve(queue.shift());
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no message within ' + ms + ' ms')), ms);
      waiters.push((m) => { clearTimeout(t); resolve(m); });
    });
  };
  const opened = new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  return { ws, next, closed, opened, send: (m) => ws.send(JSON.stringify(m)) };
}

let lastSeq = 0;

test('subscribe, events only after their commit, account balances', async () => {
  const feed = openFeed();
  await feed.opened;
  const welcome = await feed.next();
  assert.equal(welcome.type, 'welcome');
  assert.equal(welcome.protocol, 1);
  feed.send({ op: 'subscribe', topics: ['txs', `account:${DEV2_ADDRESS}`], id: 'js' });
  const sub = await feed.next();
  assert.equal(sub.type, 'subscribed');
  assert.equal(sub.id, 'js');
  assert.deepEqual(sub.topics, ['txs', `account:${DEV2}`]);

  const sent = [await send(1500), await send(2500)];
  const txs = [], account = [];
  while (txs.length < 2 || account.length < 2) {
    const e = await feed.next();
    assert.equal(e.type, 'event');
    if (e.topic === 'txs') {
      // The operation is readable as confirmed when its event arrives.
      const tx = await getJson(`/api/transaction/${e.data.tx_hash}`);
      assert.equal(tx.status, 200);
      assert.equal(tx.body.status, 'confirmed');
      txs.push(e);
    } else {
      assert.equal(e.topic, `account:${DEV2}`);
      account.push(e);
    }
  }
  assert.deepEqual(txs.map((e) => e.data.tx_hash), sent.map((r) => r.tx_hash));
  assert.deepEqual(txs.map((e) => e.seq), [1, 2]);
  const balance = await getJson(`/api/account/${DEV2}/balance`);
  assert.equal(account[1].data.balances.KRAY.available, balance.body.balances.KRAY.available);
  assert.equal(account[1].data.operation.from, DEV1);
  lastSeq = txs[1].seq;
  feed.ws.close(1000);
  assert.equal(await feed.closed, 1000);
});

test('resume with since: the missed events, then live, no duplicate', async () => {
  const missed = await send(10);
  const feed = openFeed();
  await feed.next();  // welcome
  feed.send({ op: 'subscribe', topics: ['txs'], since: lastSeq });
  const replayed = await feed.next();
  assert.equal(replayed.type, 'event');
  assert.equal(replayed.seq, lastSeq + 1);
  assert.equal(replayed.data.tx_hash, missed.tx_hash);
  const sub = await feed.next();
  assert.equal(sub.type, 'subscribed');
  assert.equal(sub.replayed, 1);
  assert.equal(sub.seq, lastSeq + 1);
  await send(11);
  const live = await feed.next();
  assert.equal(live.seq, lastSeq + 2);
  feed.ws.close();
});

test('bad messages get an error with a stable code; the connection stays open', async () => {
  const feed = openFeed();
  await feed.next();
  feed.send({ op: 'subscribe', topics: ['nope'], id: 9 });
  const err = await feed.next();
  assert.equal(err.type, 'error');
  assert.equal(err.code, 'unknown_topic');
  assert.equal(err.id, 9);
  feed.ws.send('{not json');
  assert.equal((await feed.next()).code, 'invalid_json');
  feed.send({ op: 'ping' });
  assert.equal((await feed.next()).type, 'pong');
  feed.ws.close();
});

test('GET /ws without an upgrade is 426', async () => {
  const r = await getJson('/ws');
  assert.equal(r.status, 426);
  assert.equal(r.body.code, 'upgrade_required');
});

test('shutdown closes feeds with 1001 (going away)', async () => {
  const feed = openFeed();
  await feed.next();
  feed.send({ op: 'subscribe', topics: ['txs'] });
  await feed.next();
  const exited = new Promise((resolve) => node.on('exit', (code) => resolve(code)));
  node.kill('SIGTERM');
  assert.equal(await feed.closed, 1001);
  assert.equal(await exited, 0);
});
