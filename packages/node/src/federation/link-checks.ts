/**
 * Checks on link records: a link's terms, and a presented acceptance (signed by the
 * steward it names, with a well-formed `link.accept` payload).
 */
import {
  CATEGORIES,
  type Category,
  decodeRecordPayload,
  type LinkAccept,
} from '@tapestry/crdt-schema'
import { verifyRecord } from '../envelope/index.js'
import type { SignedRecord } from '../envelope/types.js'
import { UsageError } from '../errors.js'
import type { Identity } from '../identity/index.js'
import { memberIdFromPublicKey } from '../identity/index.js'

export function checkTerms(terms: readonly string[]): Category[] {
  if (!Array.isArray(terms) || terms.length === 0) {
    throw new UsageError('a link needs at least one category in its terms')
  }
  for (const t of terms) {
    if (!(CATEGORIES as readonly string[]).includes(t)) {
      throw new UsageError(`unknown category "${t}"`, `use some of ${CATEGORIES.join(', ')}`)
    }
  }
  return [...new Set(terms as Category[])].sort()
}

export const sameTerms = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join(',') === [...b].sort().join(',')

export function sameKey(author: Uint8Array, identity: Pick<Identity, 'publicKey'>): boolean {
  const k = identity.publicKey
  return author.length === k.length && author.every((b, i) => b === k[i])
}

export function decodeAccept(record: SignedRecord): { signer: string; r: LinkAccept } | string {
  if (!verifyRecord(record) || record.kind !== 'link.accept') return 'not a signed link acceptance'
  const r = acceptPayload(record)
  if (r === undefined) return 'not a link acceptance'
  let signer: string
  try {
    signer = memberIdFromPublicKey(record.author)
  } catch {
    return 'the signer is not a member'
  }
  if (signer !== r.steward) return 'the acceptance is not signed by its steward'
  return { signer, r }
}

function acceptPayload(record: SignedRecord): LinkAccept | undefined {
  const p = decodeRecordPayload(record.payload)
  if (!p.ok || p.value.type !== 'link.accept' || p.value.linkId !== record.docId) return undefined
  return p.value
}
