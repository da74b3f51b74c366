// Live updates for the explorer from the node's event feed (GET /ws,
// docs/API.md "Event feed": subscribe to topics, events after the commit
// they describe, resume with `since` after a reconnect).
//
// A node without the feed (its OpenAPI document has no /ws) is polled
// instead, every few seconds, for new operations and batches; the badge in
// the header says which one the page uses.

const POLL_MS = 2000;
const RECONNECT_MS = [500, 1000, 2000, 5000, 10000];

export class Live {
  /** @param {HTMLElement} badge where the page says how it is updated */
  constructor(badge) {
    this.badge = badge;
    this.topics = [];
    this.handler = null;
    this.lastSeq = null; // the last operation seq seen: what a resume asks for
    this.lastBatch = 0;
    this.socket = null;
    this.subscribed = new Set();
    this.attempt = 0;
    this.mode = 'starting';
    this.nextId = 1;
    this.start();
  }

  /**
   * Replaces the topics the current page follows and its handler
   * (topic, event, data) => void. Events are those of docs/API.md's feed:
   * "operation" on txs and account:<id>, "batch_closed" on batches.
   */
  follow(topics, handler) {
    this.topics = topics;
    this.handler = handler;
    if (this.mode === 'feed') this.resubscribe();
  }

  async start() {
    let hasFeed = false;
    try {
      const doc = await (await fetch('/api/openapi.json')).json();
      hasFeed = Boolean(doc && doc.paths && doc.paths['/ws']);
    } catch {
      hasFeed = false;
    }
    if (hasFeed && 'WebSocket' in window) this.connect();
    else this.poll();
  }

  setBadge(text, on) {
    this.badge.textContent = text;
    this.badge.classList.toggle('on', on);
  }

  // ------------------------------------------------------------ the feed

  connect() {
    this.mode = 'feed';
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    const socket = new WebSocket(url);
    this.socket = socket;
    this.subscribed = new Set();
    socket.addEventListener('message', (m) => this.onMessage(m.data));
    socket.addEventListener('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.setBadge('live: reconnecting…', false);
      const wait = RECONNECT_MS[Math.min(this.attempt++, RECONNECT_MS.length - 1)];
      setTimeout(() => this.connect(), wait);
    });
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  resubscribe() {
    const wanted = new Set(this.topics);
    const drop = [...this.subscribed].filter((t) => !wanted.has(t));
    const add = [...wanted].filter((t) => !this.subscribed.has(t));
    if (drop.length) this.send({ op: 'unsubscribe', topics: drop, id: this.nextId++ });
    if (add.length) {
      // After a reconnect, ask for what was missed (the feed replays it).
      const message = { op: 'subscribe', topics: add, id: this.nextId++ };
      if (this.lastSeq !== null && !add.includes('deposits')) message.since = this.lastSeq;
      this.send(message);
    }
    this.subscribed = wanted;
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
      if (this.lastSeq === null) this.lastSeq = m.seq;
      this.setBadge('live', true);
      this.subscribed = new Set();
      this.resubscribe();
    } else if (m.type === 'event') {
      if (m.event === 'operation' && typeof m.seq === 'number') this.lastSeq = Math.max(this.lastSeq ?? 0, m.seq);
      this.deliver(m.topic, m.event, m.data);
    } else if (m.type === 'error' && m.code === 'resume_too_old') {
      // Too far behind to replay: start live again; the page re-reads on its next render.
      this.lastSeq = null;
      this.subscribed = new Set();
      this.resubscribe();
    }
  }

  deliver(topic, event, data) {
    if (this.handler && this.topics.includes(topic)) this.handler(topic, event, data);
  }

  // ------------------------------------------------------------ polling

  async poll() {
    this.mode = 'poll';
    this.setBadge('live: polling', true);
    try {
      const ops = await (await fetch('/api/operations?limit=50')).json();
      const batches = await (await fetch('/api/rollup/batches?limit=10')).json();
      this.pollOperations(ops.operations || []);
      this.pollBatches(batches.batches || []);
    } catch {
      this.setBadge('live: node unreachable', false);
    }
    setTimeout(() => this.poll(), POLL_MS);
  }

  pollOperations(ops) {
    const fresh = ops.filter((o) => this.lastSeq !== null && o.seq > this.lastSeq).reverse();
    if (ops.length) this.lastSeq = Math.max(this.lastSeq ?? 0, ops[0].seq);
    else if (this.lastSeq === null) this.lastSeq = 0;
    for (const op of fresh) {
      this.deliver('txs', 'operation', op);
      for (const leaf of op.touched || []) {
        if (leaf.startsWith('1:')) this.deliver(`account:${leaf.slice(2)}`, 'operation', { account_id: leaf.slice(2), operation: op });
      }
    }
  }

  pollBatches(batches) {
    const fresh = batches.filter((b) => this.lastBatch && b.number > this.lastBatch).reverse();
    if (batches.length) this.lastBatch = Math.max(this.lastBatch, batches[0].number);
    else if (!this.lastBatch) this.lastBatch = -1;
    for (const b of fresh) this.deliver('batches', 'batch_closed', b);
  }
}
