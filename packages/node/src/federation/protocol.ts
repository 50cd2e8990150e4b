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
import { hasExactKeys } from '../invite/cbor.js'
import { firstFrame, framed, requestFrame } from '../net/frames.js'
import { decodeReplyFrame, encodeReplyFrame, type Refusal } from '../net/reply-frame.js'
import { LinkProtocolError } from './errors.js'

export const FEDERATE_PROTOCOL = '/tapestry/federate/1.0.0'
export const MAX_LINK_FRAME_BYTES = 16 * 1024
export const DEFAULT_LINK_TIMEOUT_MS = 15_000

export type LinkReply = { ok: true; accept: SignedRecord } | Refusal

export function encodeLinkReply(reply: LinkReply): Uint8Array {
  return encodeReplyFrame(
    reply.ok ? { ok: true, fields: { accept: encodeRecord(reply.accept) } } : reply,
  )
}

/** Parses a reply frame; undefined when it is not one. Never throws. */
export function decodeLinkReply(bytes: Uint8Array): LinkReply | undefined {
  const r = decodeReplyFrame(bytes)
  if (r?.ok !== true) return r
  const { map } = r
  if (!hasExactKeys(map, ['v', 'ok', 'accept']) || !(map.accept instanceof Uint8Array)) {
    return undefined
  }
  const rec = tryDecodeRecord(map.accept)
  return rec.ok ? { ok: true, accept: rec.value } : undefined
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
  libp2p: Parameters<typeof requestFrame>[0],
  peer: PeerId,
  accept: SignedRecord,
  timeoutMs = DEFAULT_LINK_TIMEOUT_MS,
): Promise<LinkReply> {
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const frame = await requestFrame(libp2p, peer, FEDERATE_PROTOCOL, encodeRecord(accept), {
      maxFrameLength: MAX_LINK_FRAME_BYTES,
      signal,
    })
    if (frame === undefined) throw new LinkProtocolError(`${peer} closed without answering`)
    const reply = decodeLinkReply(frame)
    if (reply === undefined) throw new LinkProtocolError(`${peer} sent a garbled answer`)
    return reply
  } catch (err) {
    if (err instanceof LinkProtocolError) throw err
    const why = signal.aborted ? 'no answer in time' : (err as Error).message
    throw new LinkProtocolError(`the link handshake with ${peer} failed: ${why}`)
  }
}
