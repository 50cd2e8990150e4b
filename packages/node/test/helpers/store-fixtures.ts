export type { FakeWriter } from '../../src/testing/index.js'
export { fakeRecord, fakeWriter, ids } from '../../src/testing/index.js'
