/**
 * `@tapestry/node/testing`: what tests and the harness (bench, chaos, fuzz) use to build
 * and check nodes, beside the library rather than inside its tests. Nothing here imports a
 * test runner: suites take the runner's functions as an argument.
 *
 * @example
 * import { afterEach, beforeEach, describe, expect, it } from '<your test runner>'
 * import { MemoryEnvelopeStore } from '@tapestry/node'
 * import { runEnvelopeStoreContract } from '@tapestry/node/testing'
 * runEnvelopeStoreContract('memory', async () => ({ store: new MemoryEnvelopeStore(), cleanup: async () => {} }),
 *   { describe, it, expect, beforeEach, afterEach })
 */

export type { Link, LinkedReplication, LinkSide } from './session-link.js'
export { link, mulberry32, waitFor } from './session-link.js'
export type { ContractAssertion, ContractRunner, StoreHarness } from './store-contract.js'
export { runEnvelopeStoreContract } from './store-contract.js'
export type { FakeWriter } from './store-fixtures.js'
export { fakeRecord, fakeWriter, ids } from './store-fixtures.js'
