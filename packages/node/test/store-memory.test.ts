import { MemoryEnvelopeStore } from '../src/store/index.js'
import { runEnvelopeStoreContract } from './helpers/store-contract.js'

runEnvelopeStoreContract('MemoryEnvelopeStore', async () => ({
  store: new MemoryEnvelopeStore(),
  cleanup: async () => {},
}))
