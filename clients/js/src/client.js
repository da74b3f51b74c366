// KrayClient: every endpoint of krayd (GET /api/openapi.json lists them),
// with signed calls built by this package (messages.js), never by the node.
import { bytesToHex } from './bytes.js';
import { resolveAccountId, signMessage } from './keys.js';
import { canonicalFields, legacyMessage, messageV1, transferFields } from './messages.js';
import { verifyAccountProof } from './proof.js';

/** An error answer of the node: `{error, code}` with its HTTP status. */
export class KrayApiError extends Error {
  /**
   * @param {number} status HTTP status
   * @param {string} code the stable error code (docs/API.md, "Error codes")
   * @param {string} message
   * @param {object} [body] the whole answer
   */
  constructor(status, code, message, body) {
    super(message);
    this.name = 'KrayApiError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/**
 * The signed endpoints of each module: REST path and operation. The signer
 * field and the fields come from GET /api/operation/types, so a module's new
 * operation needs one line here (or none: KrayClient#submit takes any).
 */
export const SIGNED_ENDPOINTS = Object.freeze({
  pool_create: '/api/defi/pool/create',
  liquidity_add: '/api/defi/liquidity/add',
  liquidity_remove: '/api/defi/liquidity/remove',
  swap: '/api/defi/swap',
  swap_route: '/api/defi/swap/route',
  market_list: '/api/marketplace/list',
  market_buy: '/api/marketplace/buy',
  market_cancel: '/api/marketplace/cancel',
  market_sweep: '/api/marketplace/sweep',
  market_offer: '/api/marketplace/offer',
  market_offer_accept: '/api/marketplace/offer/accept',
  market_offer_cancel: '/api/marketplace/offer/cancel',
  inscription_transfer: '/api/marketplace/inscription/transfer',
  deposit_claim: '/api/bridge/deposit/claim',
  withdrawal_request: '/api/bridge/withdrawal/request',
  validator_register: '/api/validator/register',
  stake: '/api/validator/stake',
  unstake: '/api/validator/unstake',
  reward_claim: '/api/rewards/claim',
});

function query(params) {
  const q = Object.entries(params ?? {}).filter(([, v]) => v !== undefined && v !== null);
  return q.length ? '?' + q.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&') : '';
}

const seg = encodeURIComponent;

/**
 * A client of one krayd node.
 *
 * ```js
 * const node = new KrayClient('http://127.0.0.1:5000');
 * const me = keyFromSecret(secretHex);
 * await node.send(me, { to: 'kray_18f3…', amount: 2500 });
 * ```
 */
export class KrayClient {
  /**
   * @param {string} baseUrl e.g. "http://127.0.0.1:5000"
   * @param {{fetch?: typeof fetch, token?: string, network?: string}} [options]
   *   token: the operator token for operator endpoints; network: the L1
   *   network of the node's addresses (default: asked from /health)
   */
  constructor(baseUrl, options = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.token = options.token;
    this.network = options.network;
    this.types = null;
    this.chainId = null;
  }

  /**
   * One HTTP call. Resolves to the parsed JSON answer; rejects with
   * KrayApiError for any non-2xx answer.
   * @param {string} method
   * @param {string} path with its query
   * @param {object} [body]
   * @param {{operator?: boolean}} [options] send the operator token
   * @returns {Promise<any>}
   */
  async request(method, path, body, options = {}) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (options.operator) {
      if (!this.token) throw new TypeError('this endpoint needs the operator token (options.token)');
      headers.Authorization = `Bearer ${this.token}`;
    }
    const res = await this.fetch(this.baseUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      throw new KrayApiError(res.status, 'invalid_response', `not JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok) throw new KrayApiError(res.status, json?.code ?? 'http_error', json?.error ?? res.statusText, json);
    return json;
  }

  // --- node ---------------------------------------------------------------

  /** GET /health. */
  health() {
    return this.request('GET', '/health');
  }
  /** GET /api/node/conservation (operator). */
  conservation() {
    return this.request('GET', '/api/node/conservation', undefined, { operator: true });
  }
  /** GET /api/openapi.json: the OpenAPI 3.1 document of every route. */
  openapi() {
    return this.request('GET', '/api/openapi.json');
  }

  /**
   * The node's chain id and L1 network (from /health), cached.
   * @returns {Promise<{chainId: string, network: string}>}
   */
  async chain() {
    if (!this.chainId || !this.network) {
      const h = await this.health();
      this.chainId = h.network;
      this.network = this.network ?? h.bitcoin_network;
    }
    return { chainId: this.chainId, network: this.network };
  }

  // --- accounts ------------------------------------------------------------

  /** GET /api/account/:address/balance. @param {string} who id or address */
  balance(who) {
    return this.request('GET', `/api/account/${seg(who)}/balance`);
  }
  /** GET /api/account/:address/transactions. @param {string} who @param {{limit?: number, before?: number, offset?: number}} [page] */
  transactions(who, page) {
    return this.request('GET', `/api/account/${seg(who)}/transactions${query(page)}`);
  }
  /** GET /api/account/:address/stats. @param {string} who */
  accountStats(who) {
    return this.request('GET', `/api/account/${seg(who)}/stats`);
  }
  /** GET /api/account/list (operator). @param {{limit?: number, after?: string, offset?: number}} [page] */
  accounts(page) {
    return this.request('GET', `/api/account/list${query(page)}`, undefined, { operator: true });
  }
  /**
   * POST /api/account/create: binds the key to its BIP-86 account, with the
   * v1 proof of possession (op account_create, nonce 0) unless `sign` is false.
   * @param {import('./keys.js').WalletKey} key
   * @param {{sign?: boolean}} [options]
   */
  async createAccount(key, { sign = true } = {}) {
    const body = { l1_address: key.address, pubkey: key.publicKey };
    if (sign) {
      const { chainId } = await this.chain();
      const fields = { l1_address: key.address.toLowerCase(), pubkey: key.publicKey };
      body.signature = signMessage(messageV1({ chainId, op: 'account_create', accountId: key.accountId, nonce: 0, fields }), key.secretKey);
    }
    return this.request('POST', '/api/account/create', body);
  }
  /**
   * The account's next nonce (0 for an account the node does not know).
   * @param {string} who
   * @returns {Promise<number>}
   */
  async nextNonce(who) {
    try {
      return (await this.balance(who)).nonce;
    } catch (e) {
      if (e instanceof KrayApiError && e.code === 'account_not_found') return 0;
      throw e;
    }
  }

  // --- transactions --------------------------------------------------------

  /**
   * The body of a signed transfer, as POST /api/transaction/send and /batch
   * take it. v1 by default (any asset, memo); `scheme: "legacy"` signs the
   * legacy message (KRAY, no memo), with from/to exactly as sent.
   * @param {import('./keys.js').WalletKey} key
   * @param {{to: string, amount: string|number|bigint, asset?: string, data?: string, nonce?: number,
   *   scheme?: 'v1'|'legacy', from?: string}} t from: how to name the sender (default its account id)
   * @returns {Promise<object>}
   */
  async transferBody(key, t) {
    const from = t.from ?? key.accountId;
    const nonce = t.nonce ?? (await this.nextNonce(from));
    const body = { from_account: from, to_account: t.to, amount: String(t.amount), nonce };
    if (t.scheme === 'legacy') {
      if ((t.asset ?? 'KRAY') !== 'KRAY' || (t.data ?? '') !== '')
        throw new TypeError('the legacy message signs only KRAY transfers without data');
      body.sig_scheme = 'legacy';
      body.signature = signMessage(legacyMessage(from, t.to, t.amount, nonce), key.secretKey);
      return body;
    }
    const { chainId, network } = await this.chain();
    const fields = transferFields(t, network);
    body.asset = fields.asset;
    if (fields.data) body.data = fields.data;
    body.sig_scheme = 'v1';
    body.signature = signMessage(
      messageV1({ chainId, op: 'transfer', accountId: resolveAccountId(from, network), nonce, fields }),
      key.secretKey,
    );
    return body;
  }
  /** POST /api/transaction/send: a signed transfer (see transferBody). */
  async send(key, t) {
    return this.request('POST', '/api/transaction/send', await this.transferBody(key, t));
  }
  /** POST /api/transaction/batch. @param {object[]} bodies from transferBody */
  sendBatch(bodies) {
    return this.request('POST', '/api/transaction/batch', { transactions: bodies });
  }
  /** GET /api/transaction/:hash. @param {string} hash */
  transaction(hash) {
    return this.request('GET', `/api/transaction/${seg(hash)}`);
  }
  /** GET /api/transaction/pending. */
  pending(limit) {
    return this.request('GET', `/api/transaction/pending${query({ limit })}`);
  }
  /** GET /api/transaction/stats. */
  transactionStats() {
    return this.request('GET', '/api/transaction/stats');
  }
  /** POST /api/transaction/estimate-gas. @param {{tx_type?: string, op?: string}} [what] */
  estimateGas(what = {}) {
    return this.request('POST', '/api/transaction/estimate-gas', what);
  }
  /** GET /api/operations: the latest operations, newest first. @param {{limit?: number, before?: number}} [page] */
  recentOperations(page) {
    return this.request('GET', `/api/operations${query(page)}`);
  }

  // --- every operation -------------------------------------------------------

  /**
   * GET /api/operation/types, cached, as a map op -> type.
   * @returns {Promise<Map<string, object>>}
   */
  async operationTypes() {
    if (!this.types) {
      const t = await this.request('GET', '/api/operation/types');
      this.chainId = t.chain_id;
      this.types = new Map(t.operations.map((o) => [o.op, o]));
    }
    return this.types;
  }

  /**
   * Builds and signs an operation's v1 message here, from the node's field
   * metadata. Resolves to what a request needs.
   * @param {string} op
   * @param {Record<string, any>} fields request fields (accounts by id or address)
   * @param {import('./keys.js').WalletKey} key the signing key
   * @param {{nonce?: number, signer?: string}} [options] signer: the account
   *   signed for (default the key's own; deposit_claim names the credited account)
   * @returns {Promise<{type: object, signer: string, nonce: number, fields: Record<string, string>, message: string, signature: string}>}
   */
  async sign(op, fields, key, options = {}) {
    const types = await this.operationTypes();
    const type = types.get(op);
    if (!type) throw new TypeError(`the node has no operation '${op}'`);
    const { chainId, network } = await this.chain();
    const signer = options.signer ?? key.accountId;
    const signerId = resolveAccountId(signer, network);
    const nonce = options.nonce ?? (type.consumes_nonce ? await this.nextNonce(signerId) : 0);
    const canonical = canonicalFields(type, fields, network);
    const message = messageV1({ chainId, op, accountId: signerId, nonce, fields: canonical });
    return { type, signer, nonce, fields: canonical, message: bytesToHex(message), signature: signMessage(message, key.secretKey) };
  }

  /**
   * POST /api/operation/submit: any signed operation in the generic shape.
   * @param {string} op
   * @param {Record<string, any>} fields
   * @param {import('./keys.js').WalletKey} key
   * @param {{nonce?: number, signer?: string}} [options]
   */
  async submit(op, fields, key, options) {
    const s = await this.sign(op, fields, key, options);
    return this.request('POST', '/api/operation/submit', {
      op,
      account: s.signer,
      nonce: s.nonce,
      sig_scheme: 'v1',
      signature: s.signature,
      fields,
    });
  }

  /**
   * An operator operation (auth "operator") through /api/operation/submit.
   * @param {string} op
   * @param {Record<string, any>} fields
   */
  submitOperator(op, fields) {
    return this.request('POST', '/api/operation/submit', { op, fields }, { operator: true });
  }

  /** POST /api/operation/message: what the node would sign (to compare). */
  operationMessage(op, account, nonce, fields) {
    return this.request('POST', '/api/operation/message', { op, account, nonce, fields });
  }

  /**
   * A module's own signed endpoint (SIGNED_ENDPOINTS): the body is the
   * request fields plus the signer field, nonce, sig_scheme and signature.
   * @param {string} op e.g. "swap"
   * @param {Record<string, any>} fields
   * @param {import('./keys.js').WalletKey} key
   * @param {{nonce?: number, signer?: string}} [options]
   */
  async call(op, fields, key, options) {
    const path = SIGNED_ENDPOINTS[op];
    if (!path) throw new TypeError(`no REST endpoint for '${op}' (use submit)`);
    const s = await this.sign(op, fields, key, options);
    const body = { ...fields, [s.type.signer_field]: s.signer, sig_scheme: 'v1', signature: s.signature };
    if (s.type.consumes_nonce || s.nonce !== 0) body.nonce = s.nonce;
    return this.request('POST', path, body);
  }

  // --- rollup --------------------------------------------------------------

  /** GET /api/rollup/state-root. */
  stateRoot() {
    return this.request('GET', '/api/rollup/state-root');
  }
  /** GET /api/rollup/batches. @param {{limit?: number, before?: number}} [page] */
  batches(page) {
    return this.request('GET', `/api/rollup/batches${query(page)}`);
  }
  /** GET /api/rollup/batch/:id. @param {number} n */
  batch(n) {
    return this.request('GET', `/api/rollup/batch/${seg(n)}`);
  }
  /** GET /api/rollup/batch/:id/operations. @param {number} n @param {{after?: number, limit?: number}} [page] */
  batchOperations(n, page) {
    return this.request('GET', `/api/rollup/batch/${seg(n)}/operations${query(page)}`);
  }
  /** GET /api/rollup/genesis. */
  genesis() {
    return this.request('GET', '/api/rollup/genesis');
  }
  /** GET /api/account/:address/proof. @param {string} who @param {{batch?: number}} [at] */
  proof(who, at) {
    return this.request('GET', `/api/account/${seg(who)}/proof${query(at)}`);
  }

  /**
   * Fetches an account's proof at a closed batch and checks it against that
   * batch's state root (from the batch header, not from the proof).
   * @param {string} who
   * @param {number} batch
   * @returns {Promise<import('./proof.js').ProofCheck & {root: string}>}
   */
  async verifiedAccount(who, batch) {
    const { network } = await this.chain();
    const accountId = resolveAccountId(who, network);
    const [header, proof] = await Promise.all([this.batch(batch), this.proof(accountId, { batch })]);
    return { ...verifyAccountProof(proof, { accountId, root: header.state_root }), root: header.state_root };
  }

  // --- defi ----------------------------------------------------------------

  /** GET /api/defi/pools. @param {{active?: boolean}} [filter] */
  pools(filter) {
    return this.request('GET', `/api/defi/pools${query(filter)}`);
  }
  /** GET /api/defi/pool/:id. */
  pool(id) {
    return this.request('GET', `/api/defi/pool/${seg(id)}`);
  }
  /** GET /api/defi/pool/:id/twap. */
  twap(id, window) {
    return this.request('GET', `/api/defi/pool/${seg(id)}/twap${query({ window })}`);
  }
  /** POST /api/defi/quote. */
  quote(request) {
    return this.request('POST', '/api/defi/quote', request);
  }

  // --- marketplace -----------------------------------------------------------

  /** GET /api/marketplace/listings. */
  listings(filter) {
    return this.request('GET', `/api/marketplace/listings${query(filter)}`);
  }
  /** GET /api/marketplace/listing/:id. */
  listing(id) {
    return this.request('GET', `/api/marketplace/listing/${seg(id)}`);
  }
  /** GET /api/marketplace/offers. */
  offers(filter) {
    return this.request('GET', `/api/marketplace/offers${query(filter)}`);
  }
  /** GET /api/marketplace/offer/:id. */
  offer(id) {
    return this.request('GET', `/api/marketplace/offer/${seg(id)}`);
  }
  /** GET /api/marketplace/inscription/:id. */
  inscription(id) {
    return this.request('GET', `/api/marketplace/inscription/${seg(id)}`);
  }
  /** GET /api/marketplace/user/:account/listings. */
  userListings(who, filter) {
    return this.request('GET', `/api/marketplace/user/${seg(who)}/listings${query(filter)}`);
  }
  /** GET /api/marketplace/user/:account/offers. */
  userOffers(who, filter) {
    return this.request('GET', `/api/marketplace/user/${seg(who)}/offers${query(filter)}`);
  }
  /** GET /api/marketplace/user/:account/inscriptions. */
  userInscriptions(who, page) {
    return this.request('GET', `/api/marketplace/user/${seg(who)}/inscriptions${query(page)}`);
  }
  /** GET /api/marketplace/stats. */
  marketStats() {
    return this.request('GET', '/api/marketplace/stats');
  }

  // --- bridge ----------------------------------------------------------------

  /** POST /api/bridge/deposit/initiate. @param {string} who id or address */
  depositAddress(who) {
    const body = who.startsWith('kray_') ? { account_id: who } : { l1_address: who };
    return this.request('POST', '/api/bridge/deposit/initiate', body);
  }
  /** GET /api/bridge/deposit/:txid/:vout/status. */
  depositStatus(txid, vout) {
    return this.request('GET', `/api/bridge/deposit/${seg(txid)}/${seg(vout)}/status`);
  }
  /** GET /api/bridge/deposits/:account. */
  deposits(who, limit) {
    return this.request('GET', `/api/bridge/deposits/${seg(who)}${query({ limit })}`);
  }
  /** GET /api/bridge/unattributed. */
  unattributedDeposits(limit) {
    return this.request('GET', `/api/bridge/unattributed${query({ limit })}`);
  }
  /** GET /api/bridge/info. */
  bridgeInfo() {
    return this.request('GET', '/api/bridge/info');
  }
  /** POST /api/bridge/alarms/resolve (operator). */
  resolveAlarm(id, note) {
    return this.request('POST', '/api/bridge/alarms/resolve', { id, note }, { operator: true });
  }

  // --- bridge withdrawals, spends and anchors -------------------------------
  // A withdrawal is requested with call('withdrawal_request', {asset, amount,
  // l1_address}, key): the signature binds the destination.

  /** GET /api/bridge/withdrawal/:id/status. @param {number|string} id */
  withdrawalStatus(id) {
    return this.request('GET', `/api/bridge/withdrawal/${seg(id)}/status`);
  }
  /** GET /api/bridge/withdrawals/:account. @param {{limit?: number, before?: number}} [page] */
  withdrawals(who, page) {
    return this.request('GET', `/api/bridge/withdrawals/${seg(who)}${query(page)}`);
  }
  /** GET /api/bridge/withdrawal/:id/psbt: the batch's PSBT (base64) and its signers. */
  withdrawalPsbt(id) {
    return this.request('GET', `/api/bridge/withdrawal/${seg(id)}/psbt`);
  }
  /** POST /api/bridge/withdrawal/:id/signatures: a co-signer's PSBT (base64). */
  addWithdrawalSignatures(id, psbt) {
    return this.request('POST', `/api/bridge/withdrawal/${seg(id)}/signatures`, { psbt });
  }
  /** POST /api/bridge/withdrawal/:id/challenge (operator). */
  challengeWithdrawal(id, reason) {
    return this.request('POST', `/api/bridge/withdrawal/${seg(id)}/challenge`, { reason }, { operator: true });
  }
  /**
   * POST /api/bridge/withdrawal/:id/resolve (operator).
   * @param {number|string} id
   * @param {Record<string, any>} fields e.g. {action: 'refund', note: '…'} (docs/API.md)
   */
  resolveWithdrawal(id, fields) {
    return this.request('POST', `/api/bridge/withdrawal/${seg(id)}/resolve`, fields, { operator: true });
  }
  /** GET /api/bridge/spend/:id: a withdrawal batch's or an anchor's L1 transaction. */
  spend(id) {
    return this.request('GET', `/api/bridge/spend/${seg(id)}`);
  }
  /** GET /api/bridge/anchor/:batch: a batch's anchor on Bitcoin. */
  anchor(batch) {
    return this.request('GET', `/api/bridge/anchor/${seg(batch)}`);
  }

  // --- validators and rewards ------------------------------------------------
  // register, stake, unstake and reward claims are call(op, fields, key);
  // attestations and heartbeats carry the validator key's own signature
  // (docs/SIGNING.md, "Validator messages"): post them with request().

  /** GET /api/validator/list. */
  validators() {
    return this.request('GET', '/api/validator/list');
  }
  /** GET /api/validator/:id. */
  validator(id) {
    return this.request('GET', `/api/validator/${seg(id)}`);
  }
  /** GET /api/validator/:id/attestations. @param {{limit?: number, before?: number}} [page] */
  validatorAttestations(id, page) {
    return this.request('GET', `/api/validator/${seg(id)}/attestations${query(page)}`);
  }
  /** GET /api/validator/stats. */
  validatorStats() {
    return this.request('GET', '/api/validator/stats');
  }
  /** GET /api/validator/consensus/state. */
  consensusState() {
    return this.request('GET', '/api/validator/consensus/state');
  }
  /**
   * POST /api/validator/:id/claim-rewards, signed by the validator's account
   * (op validator_claim_rewards; the path carries the signed validator_id).
   * @param {string} validatorId
   * @param {import('./keys.js').WalletKey} key
   * @param {{nonce?: number, signer?: string}} [options]
   */
  async claimValidatorRewards(validatorId, key, options) {
    const s = await this.sign('validator_claim_rewards', { validator_id: validatorId }, key, options);
    const body = { [s.type.signer_field]: s.signer, nonce: s.nonce, sig_scheme: 'v1', signature: s.signature };
    return this.request('POST', `/api/validator/${seg(validatorId)}/claim-rewards`, body);
  }
  /** GET /api/rewards/:account: pending rewards and history. */
  rewards(who, page) {
    return this.request('GET', `/api/rewards/${seg(who)}${query(page)}`);
  }
  /** GET /api/rewards/reward/:id. */
  reward(id) {
    return this.request('GET', `/api/rewards/reward/${seg(id)}`);
  }
  /** GET /api/rewards/stats. */
  rewardStats() {
    return this.request('GET', '/api/rewards/stats');
  }
  /** POST /api/rewards/award (operator): fields as docs/API.md "Rewards" lists them. */
  awardReward(fields) {
    return this.request('POST', '/api/rewards/award', fields, { operator: true });
  }
}
