// The krayd explorer: latest batches and operations, search, account,
// batch and operation pages, read from the node's REST API; account proofs
// checked here (proof.js); live updates from the event feed (live.js).
//
// Every value from the node is put on the page as text (textContent, never
// innerHTML), and the page's Content-Security-Policy allows no inline
// script: a memo, an asset name or an account id cannot become markup.
import { Live } from './live.js';
import { verifyAccountProof } from './proof.js';

const view = document.getElementById('view');
const live = new Live(document.getElementById('live'));
let renderId = 0; // the current page; a late answer for an older page is dropped

// ---------------------------------------------------------------- helpers

/** GET a path of the node's API; rejects with the node's error message and code. */
async function api(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Error((body && body.error) || `${res.status} ${res.statusText}`);
    err.code = body && body.code;
    err.status = res.status;
    throw err;
  }
  return body;
}

/** Creates an element; attributes are set as properties or attributes, children appended as text or nodes. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** A link to a page of this explorer (#/<kind>/<id>). */
function link(kind, id, label) {
  return el('a', { href: `#/${kind}/${encodeURIComponent(id)}`, class: 'mono' }, label ?? String(id));
}

function short(hash) {
  return typeof hash === 'string' && hash.length > 20 ? `${hash.slice(0, 10)}…${hash.slice(-6)}` : String(hash ?? '');
}

function time(unix) {
  if (typeof unix !== 'number' || !unix) return '';
  return new Date(unix * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

/** Base units -> a decimal string with `decimals` places ("1500", 3 -> "1.500"). */
function units(amount, decimals) {
  const s = String(amount ?? '0');
  if (!/^\d+$/.test(s) || !Number.isInteger(decimals) || decimals <= 0) return s;
  const padded = s.padStart(decimals + 1, '0');
  return `${padded.slice(0, -decimals)}.${padded.slice(-decimals)}`;
}

function table(headers, rows, empty) {
  if (!rows.length) return el('p', { class: 'muted' }, empty);
  return el('table', {}, el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))), el('tbody', {}, rows));
}

function kv(pairs) {
  return el('dl', { class: 'kv' }, pairs.filter(Boolean).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function card(title, ...content) {
  return el('section', { class: 'card' }, title ? el('h2', {}, title) : null, ...content);
}

function showError(e) {
  return el('p', { class: 'error' }, `${e.message}${e.code ? ` (${e.code})` : ''}`);
}

/** Anchor status of a batch header: honest about batches no L1 transaction carries yet. */
function anchorBadge(anchor) {
  if (!anchor || !anchor.txid) return el('span', { class: 'badge warn' }, 'not anchored');
  const label = anchor.status === 'finalized' ? 'finalized' : 'anchored';
  return el('span', { class: `badge ${label === 'finalized' ? 'ok' : ''}` }, `${label} at ${anchor.height ?? '?'}`);
}

// ---------------------------------------------------------------- operations

/** What an operation moved, in one line (transfers: amount and asset). */
function summary(op) {
  if (op.type === 'transfer') return `${op.amount} ${op.asset}`;
  const f = op.fields || {};
  for (const key of ['amount_in', 'amount', 'price_credits', 'liquidity', 'assets'])
    if (f[key]) return `${key} ${f[key]}`;
  return '';
}

function operationRow(op, fresh) {
  const to = op.type === 'transfer' ? op.to : '';
  return el(
    'tr',
    { class: fresh ? 'fresh' : undefined, 'data-seq': op.seq },
    el('td', { class: 'num' }, String(op.seq)),
    el('td', {}, link('tx', op.tx_hash, short(op.tx_hash))),
    el('td', {}, op.type),
    el('td', {}, op.signer ? link('account', op.signer, short(op.signer)) : el('span', { class: 'muted' }, op.auth)),
    el('td', {}, to ? link('account', to, short(to)) : ''),
    el('td', {}, summary(op)),
    el('td', {}, op.batch_id ? link('batch', op.batch_id, `#${op.batch_id}`) : el('span', { class: 'muted' }, 'open')),
    el('td', { class: 'muted' }, time(op.timestamp)),
  );
}

const OPERATION_HEADERS = ['seq', 'tx hash', 'type', 'signer', 'to', 'what', 'batch', 'time'];

function batchRow(b, fresh) {
  return el(
    'tr',
    { class: fresh ? 'fresh' : undefined },
    el('td', {}, link('batch', b.number, `#${b.number}`)),
    el('td', { class: 'num' }, String(b.tx_count)),
    el('td', { class: 'mono', title: b.state_root }, short(b.state_root)),
    el('td', { class: 'mono', title: b.tx_root }, short(b.tx_root)),
    el('td', {}, anchorBadge(b.anchor)),
    el('td', { class: 'muted' }, time(b.created_at)),
  );
}

const BATCH_HEADERS = ['batch', 'ops', 'state root', 'tx root', 'anchor', 'closed'];

// ---------------------------------------------------------------- pages

async function homePage(id) {
  const [batches, ops] = await Promise.all([api('/api/rollup/batches?limit=10'), api('/api/operations?limit=20')]);
  if (id !== renderId) return;
  const batchBody = el('tbody', {}, batches.batches.map((b) => batchRow(b)));
  const opBody = el('tbody', {}, ops.operations.map((o) => operationRow(o)));
  const batchTable = el('table', { id: 'latest-batches' }, el('thead', {}, el('tr', {}, BATCH_HEADERS.map((h) => el('th', {}, h)))), batchBody);
  const opTable = el('table', { id: 'latest-operations' }, el('thead', {}, el('tr', {}, OPERATION_HEADERS.map((h) => el('th', {}, h)))), opBody);
  view.replaceChildren(
    el('h1', {}, 'Latest'),
    card(`Batches (${batches.total})`, batchTable),
    card('Operations', opTable),
  );
  live.follow(['txs', 'batches'], (topic, event, data) => {
    if (id !== renderId) return;
    if (event === 'operation' && topic === 'txs' && !opBody.querySelector(`tr[data-seq="${data.seq}"]`)) {
      opBody.prepend(operationRow(data, true));
      while (opBody.children.length > 20) opBody.lastChild.remove();
    } else if (event === 'batch_closed') {
      batchBody.prepend(batchRow(data, true));
      while (batchBody.children.length > 10) batchBody.lastChild.remove();
    }
  });
}

async function txPage(id, hash) {
  const op = await api(`/api/transaction/${encodeURIComponent(hash)}`);
  if (id !== renderId) return;
  const fields = Object.entries(op.fields || {}).map(([k, v]) => el('tr', {}, el('td', {}, k), el('td', { class: 'mono' }, v)));
  const evidence = Object.entries(op.evidence || {}).map(([k, v]) => el('tr', {}, el('td', {}, k), el('td', { class: 'mono' }, v)));
  view.replaceChildren(
    el('h1', {}, `Operation ${op.type}`),
    card(
      null,
      kv([
        ['tx hash', el('span', { class: 'mono', id: 'tx-hash' }, op.tx_hash)],
        ['status', el('span', { class: `badge ${op.status === 'confirmed' ? 'ok' : 'warn'}` }, op.status)],
        ['seq', String(op.seq)],
        ['batch', op.batch_id ? link('batch', op.batch_id, `#${op.batch_id}`) : 'not batched yet'],
        ['authorisation', op.auth],
        op.signer && ['signer', link('account', op.signer)],
        op.type === 'transfer' && ['to', link('account', op.to)],
        op.type === 'transfer' && ['amount', `${op.amount} ${op.asset} (base units)`],
        op.type === 'transfer' && ['memo', el('span', { id: 'tx-memo' }, op.data || '')],
        ['nonce', String(op.nonce)],
        ['gas fee', `${op.gas_fee} KRAY credits`],
        ['signature', el('span', { class: 'mono' }, op.signature ? `${op.sig_scheme}: ${op.signature}` : 'none')],
        ['time', time(op.timestamp)],
      ]),
    ),
    card('Fields (as signed)', table(['field', 'value'], fields, 'none')),
    card('Evidence', table(['key', 'value'], evidence, 'none')),
    card('Committed leaves touched', el('p', { class: 'mono' }, (op.touched || []).join(', '))),
  );
}

function balancesTable(balance) {
  const rows = Object.entries(balance.balances || {}).map(([asset, b]) =>
    el(
      'tr',
      {},
      el('td', {}, asset),
      el('td', { class: 'num' }, units(b.available, b.decimals)),
      el('td', { class: 'num' }, units(b.staked, b.decimals)),
      el('td', { class: 'num' }, units(b.locked, b.decimals)),
    ),
  );
  return table(['asset', 'available', 'staked', 'locked'], rows, 'no balances');
}

/** The account's history, newest first, paged with the node's cursor. */
function historyCard(accountId, id) {
  const body = el('tbody');
  const more = el('button', { class: 'more', type: 'button' }, 'Older');
  let before = 0;
  async function load() {
    more.disabled = true;
    const page = await api(`/api/account/${encodeURIComponent(accountId)}/transactions?limit=25${before ? `&before=${before}` : ''}`);
    if (id !== renderId) return;
    for (const op of page.transactions) body.append(operationRow(op));
    before = page.next_before || 0;
    more.hidden = !page.next_before;
    more.disabled = false;
  }
  more.addEventListener('click', () => load().catch((e) => more.replaceWith(showError(e))));
  const section = card(
    'History',
    el('table', { id: 'history' }, el('thead', {}, el('tr', {}, OPERATION_HEADERS.map((h) => el('th', {}, h)))), body),
    more,
  );
  return { section, body, load };
}

/**
 * Checks the account's leaf at the latest closed batch against that batch's
 * state root, here, with WebCrypto. The root comes from the batch header,
 * the proof from the proof endpoint: the node cannot make a wrong balance
 * pass without a wrong root in a batch it published.
 */
async function checkProof(accountId, out, id, decimals) {
  out.replaceChildren(el('span', { class: 'proof' }, 'checking…'));
  const latest = await api('/api/rollup/batches?limit=1');
  if (id !== renderId) return;
  const header = latest.batches[0];
  if (!header) {
    out.replaceChildren(el('span', { class: 'proof', id: 'proof-status' }, 'no batch closed yet: nothing to verify against'));
    return;
  }
  const proof = await api(`/api/account/${encodeURIComponent(accountId)}/proof?batch=${header.number}`);
  const result = await verifyAccountProof(proof, { accountId, root: header.state_root });
  if (id !== renderId) return;
  const status = result.verified ? 'verified' : 'not verified';
  const detail = result.verified
    ? result.included
      ? `the account's state is in batch #${header.number} (root ${short(header.state_root)}), checked in this browser`
      : `the account is not in batch #${header.number}: proven absent, checked in this browser`
    : `${result.reason} (batch #${header.number})`;
  const proven = result.account
    ? table(
        ['asset at batch #' + header.number, 'available', 'staked', 'locked'],
        result.account.balances.map((b) =>
          el(
            'tr',
            {},
            el('td', {}, b.asset),
            el('td', { class: 'num' }, units(b.available, decimals[b.asset])),
            el('td', { class: 'num' }, units(b.staked, decimals[b.asset])),
            el('td', { class: 'num' }, units(b.locked, decimals[b.asset])),
          ),
        ),
        'no balances in the leaf',
      )
    : null;
  const line = el('p', {}, el('span', { class: `proof ${result.verified ? 'ok' : 'bad'}`, id: 'proof-status' }, status), ': ', detail);
  out.replaceChildren(...[line, proven].filter(Boolean));
}

async function accountPage(id, who) {
  let balance;
  try {
    balance = await api(`/api/account/${encodeURIComponent(who)}/balance`);
  } catch (e) {
    if (e.code !== 'account_not_found') throw e;
    if (id !== renderId) return;
    view.replaceChildren(el('h1', {}, 'Account'), card(null, el('p', {}, `No account ${who} on this node.`)));
    return;
  }
  if (id !== renderId) return;
  const accountId = balance.account_id;
  const decimals = Object.fromEntries(Object.entries(balance.balances || {}).map(([asset, b]) => [asset, b.decimals]));
  const balances = el('div', {}, balancesTable(balance));
  const proofOut = el('div', { id: 'proof' });
  const history = historyCard(accountId, id);
  view.replaceChildren(
    el('h1', {}, 'Account ', el('span', { class: 'mono', id: 'account-id' }, accountId)),
    el(
      'div',
      { class: 'grid' },
      card(
        null,
        kv([
          ['L1 address', el('span', { class: 'mono' }, balance.l1_address)],
          ['next nonce', String(balance.nonce)],
          ['key bound', balance.has_pubkey ? 'yes' : 'no'],
        ]),
        el('h2', {}, 'Balances'),
        balances,
      ),
      card('Merkle proof', proofOut),
    ),
    history.section,
  );
  await Promise.all([history.load(), checkProof(accountId, proofOut, id, decimals)]);
  live.follow([`account:${accountId}`, 'batches'], async (topic, event, data) => {
    if (id !== renderId) return;
    if (event === 'operation' && topic.startsWith('account:')) {
      const op = data.operation || data;
      if (!history.body.querySelector(`tr[data-seq="${op.seq}"]`)) history.body.prepend(operationRow(op, true));
      const fresh = await api(`/api/account/${encodeURIComponent(accountId)}/balance`);
      if (id === renderId) balances.replaceChildren(balancesTable(fresh));
    } else if (event === 'batch_closed') {
      await checkProof(accountId, proofOut, id, decimals);
    }
  });
}

async function batchPage(id, number) {
  const header = await api(`/api/rollup/batch/${encodeURIComponent(number)}`);
  if (id !== renderId) return;
  const body = el('tbody');
  const more = el('button', { class: 'more', type: 'button' }, 'More');
  let after = 0;
  async function load() {
    more.disabled = true;
    const page = await api(`/api/rollup/batch/${header.number}/operations?limit=100${after ? `&after=${after}` : ''}`);
    if (id !== renderId) return;
    for (const op of page.operations) body.append(operationRow({ ...op, batch_id: header.number }));
    after = page.next_after || 0;
    more.hidden = !page.next_after;
    more.disabled = false;
  }
  more.addEventListener('click', () => load().catch((e) => more.replaceWith(showError(e))));
  view.replaceChildren(
    el('h1', {}, `Batch #${header.number}`),
    card(
      null,
      kv([
        ['state root', el('span', { class: 'mono' }, header.state_root)],
        ['previous root', el('span', { class: 'mono' }, header.prev_state_root)],
        ['tx root', el('span', { class: 'mono' }, header.tx_root)],
        ['operations', `${header.tx_count} (seq ${header.first_seq}…${header.last_seq})`],
        ['gas', `${header.gas_collected} collected, ${header.gas_burned} burned, ${header.gas_retained} to validators`],
        ['anchor', anchorBadge(header.anchor)],
        header.anchor && header.anchor.txid && ['anchor txid', el('span', { class: 'mono' }, header.anchor.txid)],
        ['anchor payload', el('span', { class: 'mono' }, header.anchor ? header.anchor.payload_hex : '')],
        ['closed', time(header.created_at)],
      ]),
    ),
    card('Operations', el('table', { id: 'batch-operations' }, el('thead', {}, el('tr', {}, OPERATION_HEADERS.map((h) => el('th', {}, h)))), body), more),
  );
  await load();
}

function notFound(query) {
  view.replaceChildren(
    el('h1', {}, 'Nothing found'),
    card(null, el('p', {}, 'No transaction, account or batch matches ', el('code', {}, query), '.')),
  );
}

// ---------------------------------------------------------------- search and routing

const TX_HASH = /^[0-9a-fA-F]{64}$/;
const ACCOUNT_ID = /^kray_[0-9a-f]{32}$/;
const ADDRESS = /^(bc|tb|bcrt)1[02-9ac-hj-np-z]{8,87}$/i;

/** Where a search goes: a tx hash, an account (id or L1 address) or a batch number. */
function searchTarget(query) {
  const q = query.trim();
  if (TX_HASH.test(q)) return `#/tx/${q.toLowerCase()}`;
  if (ACCOUNT_ID.test(q) || ADDRESS.test(q)) return `#/account/${encodeURIComponent(q)}`;
  if (/^[1-9][0-9]{0,15}$/.test(q)) return `#/batch/${q}`;
  return `#/search/${encodeURIComponent(q)}`;
}

document.getElementById('search').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = document.getElementById('search-input');
  const target = searchTarget(input.value);
  if (location.hash === target) render();
  else location.hash = target;
});

async function render() {
  const id = ++renderId;
  live.follow([], null);
  const [, kind, rawArg] = (location.hash || '#/').match(/^#\/([a-z]*)\/?(.*)$/) || [];
  let arg = '';
  try {
    arg = decodeURIComponent(rawArg || '');
  } catch {
    arg = rawArg || '';
  }
  view.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
  try {
    if (!kind) await homePage(id);
    else if (kind === 'tx') await txPage(id, arg);
    else if (kind === 'account') await accountPage(id, arg);
    else if (kind === 'batch') await batchPage(id, arg);
    else notFound(arg);
  } catch (e) {
    if (id !== renderId) return;
    if (e.status === 404 || e.code === 'invalid_tx_hash' || e.code === 'invalid_account' || e.code === 'invalid_field') notFound(arg);
    else view.replaceChildren(showError(e));
  }
}

async function nodeInfo() {
  const h = await api('/health');
  document.getElementById('node-info').textContent = `chain ${h.network} (${h.bitcoin_network}), krayd ${h.version}`;
}

window.addEventListener('hashchange', render);
nodeInfo().catch(() => {});
render();
