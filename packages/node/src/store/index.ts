/**
 * The durable store: `EnvelopeStore` (the contract), `LevelEnvelopeStore` (LevelDB,
 * what nodes use), `MemoryEnvelopeStore` (unit tests), `probeLock` (is a node running
 * on this directory?) and the store's typed errors.
 *
 * @example
 * ```ts
 * import { LevelEnvelopeStore, StoreLockedError } from './store/index.js'
 * const store = new LevelEnvelopeStore(dir)
 * try { await store.open() } catch (e) { if (e instanceof StoreLockedError) ... }
 * ```
 */

export {
  type DocSnapshot,
  type DocumentEntry,
  docKind,
  type EnvelopeStore,
  type EquivocationEvidence,
  STORE_FORMAT,
  type StoredRecord,
  type StoreStats,
  writerKeyOf,
} from './envelope-store.js'
export * from './errors.js'
export { LevelEnvelopeStore, type LevelStoreOptions, probeLock } from './level-store.js'
export { MemoryEnvelopeStore } from './memory-store.js'
