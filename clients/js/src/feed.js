// The node's event feed (GET /ws, docs/API.md "Event feed", protocol 1):
// subscribe to topics (txs, batches, deposits, account:<id or address>),
// get each event after the commit it describes, and resume after a
// reconnect from the last seq seen, with no gap and no duplicate.

const RECONNECT_MS = [250, 500, 1000, 2000, 5000, 10000];

/**
 * A feed connection that reconnects and resumes by itself.
 *
 * ```js
 * const feed = new KrayFeed('http://127.0.0.1:5000');
 * feed.on('event', (e) => console.log(e.topic, e.event, e.seq, e.data));
 * await feed.subscribe(['txs', `account:${me.accountId}`]);
 * ```
 *
 * Events (listeners registered with `on`): `welcome` (the server's welcome
 * message), `event` (`{topic, event, seq, data}`), `error` (an error message
 * of the server: `{code, message, id}`), `close` (`{code, reason}`; the feed
 * reconnects unless it was closed by `close()` or `reconnect: false`).
 */
export class KrayFeed {
  /**
   * @param {string} baseUrl the node's HTTP address ("http://127.0.0.1:5000"); ws(s):// is derived
   * @param {{WebSocket?: typeof WebSocket, reconnect?: boolean, since?: number}} [options]
   *   since: resume from this seq on the first subscribe (the last one a
   *   previous session processed)
   */
  constructor(baseUrl, options = {}) {
    this.url = baseUrl.replace(/^http/, 'ws').replace(/\/+$/, '') + '/ws';
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (!this.WebSocket) throw new TypeError('no WebSocket: pass options.WebSocket (Node 20: run with --experimental-websocket)');
    this.reconnect = options.reconnect ?? true;
    /** The last seq seen per resumable topic (what a resume asks for). */
    this.lastSeq = options.since ?? null;
    this.topics = new Set();
    this.listeners = new Map();
    this.pending = new Map();
    this.nextId = 1;
    this.attempt = 0;
    this.closed = false;
    this.socket = null;
    this.ready = null;
    this.connect();
  }

  /**
   * Adds a listener.
   * @param {'welcome'|'event'|'error'|'close'} name
   * @param {(payload: any) => void} fn
   */
  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, []);
    this.listeners.get(name).push(fn);
    return this;
  }

  emit(name, payload) {
    for (const fn of this.listeners.get(name) ?? []) fn(payload);
  }

  connect() {
    const socket = new this.WebSocket(this.url);
    this.socket = socket;
    this.ready = new Promise((resolve, reject) => {
      this.welcomed = resolve;
      this.failed = reject;
    });
    this.ready.catch(() => {});
    socket.addEventListener('message', (m) => this.onMessage(typeof m.data === 'string' ? m.data : String(m.data)));
    socket.addEventListener('close', (e) => this.onClose(socket, e));
    socket.addEventListener('error', () => {});
  }

  onMessage(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    if (m.type === 'welcome') {
      this.attempt = 0;
      this.welcome = m;
      this.welcomed(m);
      this.emit('welcome', m);
      if (this.topics.size) this.send({ op: 'subscribe', topics: [...this.topics], ...this.resumeFrom() }).catch(() => {});
      return;
    }
    if (m.type === 'event') {
      if (typeof m.seq === 'number' && m.topic !== 'deposits') this.lastSeq = Math.max(this.lastSeq ?? 0, m.seq);
      this.emit('event', { topic: m.topic, event: m.event, seq: m.seq, data: m.data });
      return;
    }
    const waiting = m.id !== undefined ? this.pending.get(m.id) : undefined;
    if (waiting) {
      this.pending.delete(m.id);
      if (m.type === 'error') waiting.reject(Object.assign(new Error(m.message), { code: m.code }));
      else waiting.resolve(m);
    }
    if (m.type === 'error') this.emit('error', { code: m.code, message: m.message, id: m.id });
  }

  onClose(socket, e) {
    if (this.socket !== socket) return;
    this.socket = null;
    this.failed(new Error(`feed closed (${e.code})`));
    for (const { reject } of this.pending.values()) reject(new Error(`feed closed (${e.code})`));
    this.pending.clear();
    this.emit('close', { code: e.code, reason: e.reason });
    if (this.closed || !this.reconnect) return;
    const wait = RECONNECT_MS[Math.min(this.attempt++, RECONNECT_MS.length - 1)];
    setTimeout(() => !this.closed && this.connect(), wait);
  }

  resumeFrom() {
    const resumable = [...this.topics].some((t) => t !== 'deposits');
    return resumable && this.lastSeq !== null ? { since: this.lastSeq } : {};
  }

  async send(message) {
    await this.ready;
    const id = this.nextId++;
    const reply = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.socket.send(JSON.stringify({ ...message, id }));
    return reply;
  }

  /**
   * Subscribes to topics (replaying what was missed since the last seq seen,
   * if any). Resolves to the server's `subscribed` message; rejects with its
   * error (`code`: unknown_topic, invalid_account, resume_too_old, …).
   * @param {string[]} topics
   * @param {{since?: number}} [options] since: replay events after this seq
   */
  async subscribe(topics, options = {}) {
    const message = { op: 'subscribe', topics };
    const since = options.since ?? (this.lastSeq !== null && topics.some((t) => t !== 'deposits') ? this.lastSeq : undefined);
    if (since !== undefined) message.since = since;
    const reply = await this.send(message);
    for (const t of reply.topics ?? topics) this.topics.add(t);
    return reply;
  }

  /** Unsubscribes. @param {string[]} topics */
  async unsubscribe(topics) {
    const reply = await this.send({ op: 'unsubscribe', topics });
    for (const t of reply.topics ?? topics) this.topics.delete(t);
    return reply;
  }

  /** Asks for a pong (with the node's last seq). */
  ping() {
    return this.send({ op: 'ping' });
  }

  /** Closes for good (no reconnect). */
  close() {
    this.closed = true;
    this.socket?.close(1000);
  }
}
