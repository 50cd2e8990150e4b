/**
 * `/tapestry/federate/1.0.0`: how the accepter of a federation offer gets the
 * proposer's countersignature, over the link's own network. One request, one reply:
 *
 *   accepter → proposer   frame 1: encodeRecord(link.accept signed by the accepter) (≤ 16 KiB)
 *   proposer → accepter   frame 1: canonical CBOR map                                 (≤ 16 KiB)
 *                           {v: 1, ok: true, accept: encodeRecord(proposer's link.accept)}
 *                         | {v: 1, ok: false, code: "UPPER_CASE", message: "for a person"}
 *
 * The proposer's node decides (`Federation.confirm`): the acceptance is signed by the
 * peer on this connection, answers a proposal of this node that has not expired or
 * ended, names its tribe as tribe A and the same terms, and no other tribe was
 * countersigned before. The mesh runs the handler for peers in their join window (the
 * accepter is nobody's member until the countersignature exists), on link hosts only.
 */
import type { PeerId, Stream } from '@libp2p/interface'
import { encodeRecord, tryDecodeRecord } from '../envelope/codec.js'
import type { SignedRecord } from '../envelope/types.js'
import { decodeCanonical, encodeCanonical, hasExactKeys, isPlainObject } from '../invite/cbor.js'
import { type FramedStream, firstFrame, framed, openFramedStream } from '../net/frames.js'
import { LinkProtocolError } from './errors.js'

export const FEDERATE_PROTOCOL = '/tapestry/federate/1.0.0'
export const MAX_LINK_FRAME_BYTES = 16 * 1024
export const DEFAULT_LINK_TIMEOUT_MS = 15_000
const CODE_RE = /^[A-Z][A-Z0-9_]{0,63}$/
const MAX_MESSAGE_CHARS = 1000

export type LinkReply =
  | { ok: true; accept: SignedRecord }
  | { ok: false; code: string; message: string }

export function encodeLinkReply(reply: LinkReply): Uint8Array {
  if (reply.ok) return encodeCanonical({ v: 1, ok: true, accept: encodeRecord(reply.accept) })
  return encodeCanonical({
    v: 1,
    ok: false,
    code: CODE_RE.test(reply.code) ? reply.code : 'REFUSED',
    message: String(reply.message).slice(0, MAX_MESSAGE_CHARS),
  })
}

/** Parses a reply frame; undefined when it is not one. Never throws. */
export function decodeLinkReply(bytes: Uint8Array): LinkReply | undefined {
  let v: unknown
  try {
    v = decodeCanonical(bytes)
  } catch {
    return undefined
  }
  if (!isPlainObject(v) || v.v !== 1) return undefined
  if (v.ok === true && hasExactKeys(v, ['v', 'ok', 'accept']) && v.accept instanceof Uint8Array) {
    const rec = tryDecodeRecord(v.accept)
    return rec.ok ? { ok: true, accept: rec.value } : undefined
  }
  if (
    v.ok === false &&
    hasExactKeys(v, ['v', 'ok', 'code', 'message']) &&
    typeof v.code === 'string' &&
    CODE_RE.test(v.code) &&
    typeof v.message === 'string' &&
    v.message.length <= MAX_MESSAGE_CHARS
  ) {
    return { ok: false, code: v.code, message: v.message }
  }
  return undefined
}

/** Serves one request on `stream` (from the mesh's handler) with `confirm`. */
export async function serveLinkRequest(
  stream: Stream,
  remotePeer: PeerId,
  confirm: (record: SignedRecord, from: string) => Promise<LinkReply>,
  timeoutMs = DEFAULT_LINK_TIMEOUT_MS,
): Promise<LinkReply> {
  const s = framed(stream, remotePeer, {
    maxFrameLength: MAX_LINK_FRAME_BYTES,
    highWaterMark: MAX_LINK_FRAME_BYTES * 2,
  })
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const frame = await firstFrame(s, signal)
    if (frame === undefined) throw new LinkProtocolError('the peer closed without a request')
    const rec = tryDecodeRecord(frame)
    let reply: LinkReply
    if (!rec.ok) reply = { ok: false, code: 'BAD_REQUEST', message: 'not a record' }
    else {
      try {
        reply = await confirm(rec.value, remotePeer.toString())
      } catch (err) {
        const code = (err as { code?: unknown }).code
        reply = {
          ok: false,
          code: typeof code === 'string' ? code : 'INTERNAL',
          message: err instanceof Error ? err.message : String(err),
        }
      }
    }
    await s.send(encodeLinkReply(reply), { signal })
    await s.close({ signal }).catch(() => {})
    return reply
  } catch (err) {
    s.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}

/**
 * Presents `accept` to the proposer `peer` over an open link-host connection and
 * waits for the countersignature. A refusal is a reply (`ok: false`); a transport
 * failure, a timeout or a garbled reply throws LinkProtocolError.
 */
export async function requestCountersign(
  libp2p: Parameters<typeof openFramedStream>[0],
  peer: PeerId,
  accept: SignedRecord,
  timeoutMs = DEFAULT_LINK_TIMEOUT_MS,
): Promise<LinkReply> {
  const signal = AbortSignal.timeout(timeoutMs)
  let s: FramedStream | undefined
  try {
    s = await openFramedStream(libp2p, peer, FEDERATE_PROTOCOL, {
      maxFrameLength: MAX_LINK_FRAME_BYTES,
      signal,
    })
    await s.send(encodeRecord(accept), { signal })
    const frame = await firstFrame(s, signal)
    if (frame === undefined) throw new LinkProtocolError(`${peer} closed without answering`)
    const reply = decodeLinkReply(frame)
    if (reply === undefined) throw new LinkProtocolError(`${peer} sent a garbled answer`)
    await s.close({ signal }).catch(() => {})
    return reply
  } catch (err) {
    s?.abort(err instanceof Error ? err : new Error(String(err)))
    if (err instanceof LinkProtocolError) throw err
    const why = signal.aborted ? 'no answer in time' : (err as Error).message
    throw new LinkProtocolError(`the link handshake with ${peer} failed: ${why}`)
  }
}
