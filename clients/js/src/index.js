// @krayd/client: a small client for krayd for wallets (README.md).
export * from './bytes.js';
export * from './hash.js';
export * from './bech32.js';
export * from './keys.js';
export * from './messages.js';
export * from './proof.js';
export { KrayApiError, KrayClient, SIGNED_ENDPOINTS } from './client.js';
export { KrayFeed } from './feed.js';
