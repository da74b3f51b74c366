// The explorer in a real browser: Debian's chromium driven headless by
// playwright-core against a real krayd. The page loads with no console
// error, shows a transfer this test made, finds it by hash, checks the
// account's Merkle proof in the browser ("verified"; "not verified" when the
// proof is tampered with on the way), updates live, and shows hostile memos
// as text. A screenshot of each page is saved in the build tree.
//
// Environment (set by ctest): KRAYD, KRAY_SOURCE_DIR, KRAY_ARTIFACTS (where
// screenshots go), CHROMIUM (default /usr/bin/chromium),
// KRAY_REQUIRE_CHROMIUM=1 (CI: a missing chromium fails instead of skipping).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { KrayClient, devKey, randomKey } from '../clients-js/src/index.js';
import { eventually, startKrayd } from '../clients-js/test/support/krayd.js';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.KRAY_ARTIFACTS || '.';
const SKIP = 77; // ctest SKIP_RETURN_CODE

if (!existsSync(CHROMIUM)) {
  const message = `chromium not found at ${CHROMIUM} (apt-get install chromium)`;
  if (process.env.KRAY_REQUIRE_CHROMIUM === '1') {
    console.error(`${message}; KRAY_REQUIRE_CHROMIUM=1 makes this a failure`);
    process.exit(1);
  }
  console.error(`${message}: skipped`);
  process.exit(SKIP);
}

const DEV1 = devKey(1);
const DEV2 = devKey(2);
let node, client, browser, page;
const consoleErrors = [];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // Every operation closes a batch, so the proof of the latest batch covers it.
  node = await startKrayd({ args: ['-maxbatchtxs=1'] });
  client = new KrayClient(node.url, { token: 'secret' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
});

after(async () => {
  await browser?.close();
  if (node) assert.equal(await node.stop(), 0);
});

// Saves the page as an artifact, after checking it shows no placeholder of
// a missing value.
async function shot(name) {
  assert.doesNotMatch(await page.locator('main').innerText(), /\b(undefined|null|NaN|\[object Object\])\b/, name);
  await page.screenshot({ path: join(ARTIFACTS, `explorer-${name}.png`), fullPage: true });
}

test('the home page shows the latest batches and a transfer made by the test, with no console error', async () => {
  const sent = await client.send(DEV1, { to: DEV2.accountId, amount: 2500, asset: 'DOG' });
  await eventually(async () => (await client.transaction(sent.tx_hash)).batch_id, { what: 'the batch' });
  const response = await page.goto(node.url + '/');
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-security-policy'], /script-src 'self'/);
  const row = page.locator('#latest-operations tr', { hasText: sent.tx_hash.slice(0, 10) });
  await row.waitFor();
  assert.match(await row.innerText(), /2500 DOG/);
  await page.locator('#latest-batches tbody tr').first().waitFor();
  assert.match(await page.locator('#latest-batches').innerText(), /not anchored/);
  await shot('home');
  assert.deepEqual(consoleErrors, []);
});

test('search finds the transfer by hash, the account by id and by address, a batch by number', async () => {
  const sent = await client.send(DEV2, { to: DEV1.address, amount: 77, data: 'found by hash' });
  await page.goto(node.url + '/');
  await page.fill('#search-input', sent.tx_hash);
  await page.press('#search-input', 'Enter');
  await page.locator('#tx-hash', { hasText: sent.tx_hash }).waitFor();
  assert.match(await page.locator('main').innerText(), /found by hash/);
  await shot('transaction');

  await page.fill('#search-input', DEV2.address);
  await page.press('#search-input', 'Enter');
  await page.locator('#account-id', { hasText: DEV2.accountId }).waitFor();

  await page.fill('#search-input', '1');
  await page.press('#search-input', 'Enter');
  await page.locator('h1', { hasText: 'Batch #1' }).waitFor();

  await page.fill('#search-input', 'no such thing');
  await page.press('#search-input', 'Enter');
  await page.locator('h1', { hasText: 'Nothing found' }).waitFor();
  assert.deepEqual(consoleErrors, []);
});

test('the account page checks the Merkle proof in the browser: "verified"', async () => {
  await page.goto(`${node.url}/#/account/${DEV2.accountId}`);
  const status = page.locator('#proof-status');
  await status.filter({ hasText: /verified/ }).waitFor();
  assert.equal(await status.innerText(), 'verified');
  assert.match(await page.locator('#proof').innerText(), /is in batch #\d+/);
  assert.match(await page.locator('#history').innerText(), /2500 DOG/);
  await shot('account');
  assert.deepEqual(consoleErrors, []);
});

test('a proof tampered with on the way reads "not verified"', async () => {
  // Flip one byte of the first sibling (or of the leaf data for a proof
  // without siblings) in the node's answer, as a lying node or a proxy would.
  await page.route('**/api/account/*/proof*', async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    const flip = (hex) => hex.slice(0, 4) + (parseInt(hex[4], 16) ^ 1).toString(16) + hex.slice(5);
    if (body.proof.siblings.length) body.proof.siblings[0] = flip(body.proof.siblings[0]);
    else body.leaf_data = flip(body.leaf_data);
    await route.fulfill({ response, json: body });
  });
  await page.goto(`${node.url}/#/account/${DEV1.accountId}`);
  const status = page.locator('#proof-status');
  await status.filter({ hasText: 'not verified' }).waitFor();
  assert.equal(await status.innerText(), 'not verified');
  await shot('account-tampered');
  await page.unroute('**/api/account/*/proof*');
});

test('the home page updates live when an operation is committed', async () => {
  await page.goto(node.url + '/');
  await page.locator('#latest-operations tbody tr').first().waitFor();
  await page.locator('#live.on').waitFor();
  const sent = await client.send(DEV1, { to: DEV2.accountId, amount: 31337 });
  await page.locator('#latest-operations tr', { hasText: sent.tx_hash.slice(0, 10) }).waitFor({ timeout: 15000 });
  assert.deepEqual(consoleErrors, []);
});

test('hostile memos and queries are shown as text, never run', async () => {
  const evil = randomKey();
  await client.createAccount(evil);
  await client.send(DEV1, { to: evil.address, amount: 100000 });
  const memo = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
  const sent = await client.send(evil, { to: DEV2.accountId, amount: 1, data: memo });
  await page.goto(`${node.url}/#/tx/${sent.tx_hash}`);
  await page.locator('#tx-memo').waitFor();
  assert.equal(await page.locator('#tx-memo').innerText(), memo);
  assert.equal(await page.locator('main img').count(), 0);
  await page.goto(`${node.url}/#/account/${evil.accountId}`);
  await page.locator('#history tbody tr').first().waitFor();
  await page.goto(`${node.url}/#/search/${encodeURIComponent('"><img src=x onerror=window.__xss=3>')}`);
  await page.locator('h1', { hasText: 'Nothing found' }).waitFor();
  assert.equal(await page.locator('main img').count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.deepEqual(consoleErrors, []);
});
