/**
 * Federation link document: an agreement between two tribes to exchange what
 * their members consented to share (`federated`), for the categories in `terms`.
 * Written by stewards of the two tribes; active once a steward of EACH tribe has
 * accepted the current terms and neither side has revoked it.
 *
 * Layout (schema version 1):
 * - `meta`        Y.Map { kind: 'link', schemaVersion: 1 }
 * - `link`        Y.Map { tribeA: {id, name}, tribeB: {id, name}, terms: Category[], proposedBy, proposedAt }
 * - `acceptances` Y.Map tribeId → { steward, at, terms }
 * - `revocations` Y.Map tribeId → { steward, at }
 */
import * as v from 'valibot'
import type * as Y from 'yjs'
import { observeDoc, type WriteResult, writeDoc } from './document.js'
import { type SchemaError, SchemaValidationError } from './errors.js'
import { type Category, CategorySchema } from './profile.js'
import { err, ok, type Result } from './result.js'
import type { RosterView } from './roster.js'
import {
  deepFreeze,
  MemberIdSchema,
  NameSchema,
  TimestampSchema,
  TribeIdSchema,
  validate,
} from './validate.js'
import { META, readMeta, safely, writeMeta } from './version.js'

const TermsSchema = v.pipe(
  v.array(CategorySchema),
  v.minLength(1),
  v.maxLength(3),
  v.check((t) => new Set(t).size === t.length, 'duplicate terms'),
)
const TribeRefSchema = v.object({ id: TribeIdSchema, name: NameSchema })
export const LinkInfoSchema = v.pipe(
  v.object({
    tribeA: TribeRefSchema,
    tribeB: TribeRefSchema,
    terms: TermsSchema,
    proposedBy: MemberIdSchema,
    proposedAt: TimestampSchema,
  }),
  v.check((l) => l.tribeA.id !== l.tribeB.id, 'a link joins two different tribes'),
)
export const AcceptanceSchema = v.object({
  steward: MemberIdSchema,
  at: TimestampSchema,
  terms: TermsSchema,
})
export const LinkRevocationSchema = v.object({ steward: MemberIdSchema, at: TimestampSchema })

export interface TribeRef {
  readonly id: string
  readonly name: string
}
export interface LinkAcceptance {
  readonly steward: string
  readonly at: number
  readonly terms: readonly Category[]
}
export interface LinkRevocation {
  readonly steward: string
  readonly at: number
}
export interface LinkSnapshot {
  readonly tribeA: TribeRef
  readonly tribeB: TribeRef
  /** Categories that flow over the link, sorted. */
  readonly terms: readonly Category[]
  readonly proposedBy: string
  readonly proposedAt: number
  readonly acceptances: Readonly<Record<string, LinkAcceptance>>
  readonly revocations: Readonly<Record<string, LinkRevocation>>
  /** Both tribes accepted the current terms and neither revoked (stewardship not checked here). */
  readonly active: boolean
  readonly schemaVersion: number
}

export interface LinkInit {
  tribeA: TribeRef
  tribeB: TribeRef
  terms: readonly Category[]
  /** A steward of `tribeA`; the proposal counts as tribe A's acceptance. */
  proposedBy: string
  proposedAt: number
}

const LINK = 'link'
const ACCEPTANCES = 'acceptances'
const REVOCATIONS = 'revocations'

const sortTerms = (terms: readonly Category[]): Category[] => [...new Set(terms)].sort()

export function createLink(doc: Y.Doc, init: LinkInit): WriteResult {
  const info = validate(
    LinkInfoSchema,
    {
      tribeA: { ...init.tribeA },
      tribeB: { ...init.tribeB },
      terms: sortTerms(init.terms),
      proposedBy: init.proposedBy,
      proposedAt: init.proposedAt,
    },
    'link',
  )
  if (!info.ok) return info
  if (doc.getMap(META).size > 0) return err(new SchemaValidationError('document already created'))
  doc.transact(() => {
    writeMeta(doc, 'link')
    const map = doc.getMap<unknown>(LINK)
    for (const [k, val] of Object.entries(info.value)) map.set(k, val)
    doc.getMap<unknown>(ACCEPTANCES).set(info.value.tribeA.id, {
      steward: info.value.proposedBy,
      at: info.value.proposedAt,
      terms: info.value.terms,
    })
  })
  return ok(undefined)
}

function sameTerms(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((t, i) => t === [...b].sort()[i])
}

export function readLink(doc: Y.Doc, docId?: string): Result<LinkSnapshot, SchemaError> {
  return safely(() => {
    const meta = readMeta(doc, { expected: 'link', docId })
    if (!meta.ok) return meta
    const info = validate(
      LinkInfoSchema,
      Object.fromEntries(doc.getMap<unknown>(LINK).entries()),
      'link',
      docId,
    )
    if (!info.ok) return info
    const tribes = [info.value.tribeA.id, info.value.tribeB.id]
    const acceptances: Record<string, LinkAcceptance> = {}
    for (const [k, val] of doc.getMap<unknown>(ACCEPTANCES).entries()) {
      if (!tribes.includes(k)) {
        return err(new SchemaValidationError('acceptance for a tribe not in the link', [k], docId))
      }
      const r = validate(AcceptanceSchema, val, `acceptances[${k}]`, docId)
      if (!r.ok) return r
      acceptances[k] = { ...r.value, terms: sortTerms(r.value.terms) }
    }
    const revocations: Record<string, LinkRevocation> = {}
    for (const [k, val] of doc.getMap<unknown>(REVOCATIONS).entries()) {
      if (!tribes.includes(k)) {
        return err(new SchemaValidationError('revocation for a tribe not in the link', [k], docId))
      }
      const r = validate(LinkRevocationSchema, val, `revocations[${k}]`, docId)
      if (!r.ok) return r
      revocations[k] = r.value
    }
    const terms = sortTerms(info.value.terms)
    const active =
      Object.keys(revocations).length === 0 &&
      tribes.every((t) => acceptances[t] !== undefined && sameTerms(acceptances[t].terms, terms))
    return ok(
      deepFreeze({
        ...info.value,
        terms,
        acceptances,
        revocations,
        active,
        schemaVersion: meta.value.schemaVersion,
      }),
    )
  }, docId)
}

/** Records the acceptance of the link's current terms by `steward` for `tribeId`. */
export function acceptLink(
  doc: Y.Doc,
  init: { tribeId: string; steward: string; at: number },
): WriteResult {
  const link = readLink(doc)
  if (!link.ok) return link
  const { tribeA, tribeB, terms } = link.value
  if (init.tribeId !== tribeA.id && init.tribeId !== tribeB.id) {
    return err(new SchemaValidationError('tribe is not part of this link', [init.tribeId]))
  }
  const r = validate(AcceptanceSchema, { steward: init.steward, at: init.at, terms }, 'acceptance')
  if (!r.ok) return r
  return writeDoc(doc, 'link', {}, () => {
    doc.getMap<unknown>(ACCEPTANCES).set(init.tribeId, { ...r.value, terms: [...terms] })
    return undefined
  })
}

/** Ends the link from `tribeId`'s side. Final: a new link document is needed to federate again. */
export function revokeLink(
  doc: Y.Doc,
  init: { tribeId: string; steward: string; at: number },
): WriteResult {
  const link = readLink(doc)
  if (!link.ok) return link
  if (init.tribeId !== link.value.tribeA.id && init.tribeId !== link.value.tribeB.id) {
    return err(new SchemaValidationError('tribe is not part of this link', [init.tribeId]))
  }
  const r = validate(LinkRevocationSchema, { steward: init.steward, at: init.at }, 'revocation')
  if (!r.ok) return r
  return writeDoc(doc, 'link', {}, () => {
    doc.getMap<unknown>(REVOCATIONS).set(init.tribeId, r.value)
    return undefined
  })
}

export function observeLink(
  doc: Y.Doc,
  cb: (result: Result<LinkSnapshot, SchemaError>) => void,
): () => void {
  return observeDoc(doc, (d) => readLink(d), cb)
}

/**
 * True when the link is active and, for each tribe whose roster is known, the
 * accepting steward is a current steward of it. (For a tribe whose roster is not
 * known, the node's envelope check — only that tribe's stewards may write — stands.)
 */
export function isLinkActive(
  link: LinkSnapshot,
  rosters: (tribeId: string) => RosterView | undefined,
): boolean {
  if (!link.active) return false
  return [link.tribeA.id, link.tribeB.id].every((t) => {
    const roster = rosters(t)
    const acceptance = link.acceptances[t]
    return (
      acceptance !== undefined && (roster === undefined || roster.isSteward(acceptance.steward))
    )
  })
}

/** The other tribe of a link, or undefined if `tribeId` is not part of it. */
export function otherTribe(link: LinkSnapshot, tribeId: string): string | undefined {
  if (link.tribeA.id === tribeId) return link.tribeB.id
  if (link.tribeB.id === tribeId) return link.tribeA.id
  return undefined
}
