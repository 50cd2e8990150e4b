/**
 * Echo document: a member's response to a narrative, in its own document,
 * written by its responder only. The responder (and the echo's own audience,
 * never wider than the narrative's) come from its signed `echo.genesis` record.
 *
 * Layout (schema version 1):
 * - `meta` Y.Map { kind: 'echo', schemaVersion: 1 }
 * - `echo` Y.Map { tribeId, narrativeId, createdAt }
 * - `body` Y.Text
 */
import * as v from 'valibot'
import type * as Y from 'yjs'
import { observeDoc, type WriteResult, withBody, writeDoc } from './document.js'
import { OversizedError, type SchemaError, SchemaValidationError } from './errors.js'
import { MAX_ECHO_BODY_CHARS } from './limits.js'
import { err, ok, type Result } from './result.js'
import { docIdSchema, TimestampSchema, TribeIdSchema, validate } from './validate.js'
import { META, readMeta, safely, writeMeta } from './version.js'

export const EchoContentSchema = v.object({
  tribeId: TribeIdSchema,
  narrativeId: docIdSchema('narrative'),
  createdAt: TimestampSchema,
})

export interface EchoSnapshot {
  readonly tribeId: string
  readonly narrativeId: string
  readonly body: string
  readonly createdAt: number
  readonly schemaVersion: number
}

export interface EchoInit {
  tribeId: string
  narrativeId: string
  body?: string
  createdAt: number
}

const ECHO = 'echo'
const BODY = 'body'

export function createEcho(doc: Y.Doc, init: EchoInit): WriteResult {
  const content = {
    tribeId: init.tribeId,
    narrativeId: init.narrativeId,
    createdAt: init.createdAt,
  }
  const valid = validate(EchoContentSchema, content, 'echo')
  if (!valid.ok) return valid
  const body = init.body ?? ''
  if (body.length > MAX_ECHO_BODY_CHARS) {
    return err(new OversizedError('body', MAX_ECHO_BODY_CHARS, body.length))
  }
  if (doc.getMap(META).size > 0) return err(new SchemaValidationError('document already created'))
  doc.transact(() => {
    writeMeta(doc, 'echo')
    const map = doc.getMap<unknown>(ECHO)
    for (const [k, val] of Object.entries(valid.value)) map.set(k, val)
    if (body.length > 0) doc.getText(BODY).insert(0, body)
  })
  return ok(undefined)
}

export function readEcho(doc: Y.Doc, docId?: string): Result<EchoSnapshot, SchemaError> {
  return safely(() => {
    const meta = readMeta(doc, { expected: 'echo', docId })
    if (!meta.ok) return meta
    const content = validate(
      EchoContentSchema,
      Object.fromEntries(doc.getMap<unknown>(ECHO).entries()),
      'echo',
      docId,
    )
    if (!content.ok) return content
    return withBody(
      doc,
      content.value,
      { name: BODY, maxChars: MAX_ECHO_BODY_CHARS },
      meta.value.schemaVersion,
      docId,
    )
  }, docId)
}

/** The collaborative body of an echo, for editors. */
export function echoBody(doc: Y.Doc): Y.Text {
  return doc.getText(BODY)
}

export function setEchoBody(doc: Y.Doc, body: string): WriteResult {
  if (body.length > MAX_ECHO_BODY_CHARS) {
    return err(new OversizedError('body', MAX_ECHO_BODY_CHARS, body.length))
  }
  return writeDoc(doc, 'echo', {}, () => {
    const text = doc.getText(BODY)
    text.delete(0, text.length)
    text.insert(0, body)
    return undefined
  })
}

export function observeEcho(
  doc: Y.Doc,
  cb: (result: Result<EchoSnapshot, SchemaError>) => void,
): () => void {
  return observeDoc(doc, (d) => readEcho(d), cb)
}
