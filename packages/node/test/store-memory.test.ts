import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MemoryEnvelopeStore } from '../src/store/index.js'
import { runEnvelopeStoreContract } from '../src/testing/index.js'

runEnvelopeStoreContract(
  'MemoryEnvelopeStore',
  async () => ({ store: new MemoryEnvelopeStore(), cleanup: async () => {} }),
  { describe, it, expect, beforeEach, afterEach },
)
