/** Stored records as inputs of the schema's authority folds. */
import { type SignedRecord as AuthorityInput, decodeRecordPayload } from '@tapestry/crdt-schema'
import { memberIdFromPublicKey } from '../identity/index.js'
import type { StoredRecord } from '../store/index.js'

/** Stored (verified) records as fold inputs; a payload that does not decode is skipped. */
export function foldInputs(raw: readonly StoredRecord[]): AuthorityInput[] {
  const inputs: AuthorityInput[] = []
  for (const { record } of raw) {
    const decoded = decodeRecordPayload(record.payload)
    if (decoded.ok) {
      inputs.push({ signer: memberIdFromPublicKey(record.author), record: decoded.value })
    }
  }
  return inputs
}
