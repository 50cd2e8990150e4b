/**
 * `/tapestry/join/1.0.0`: how a joiner holding an invitation asks any member's node to
 * admit it. One request, one reply, then both sides close:
 *
 *   joiner → member   frame 1: encodeRecord(admission record)        (≤ 16 KiB)
 *   member → joiner   frame 1: canonical CBOR map                     (≤ 16 KiB)
 *                       {v: 1, ok: true}
 *                     | {v: 1, ok: false, code: "UPPER_CASE", message: "for a person"}
 *
 * Before calling `admit` the member's side checks what it can without the roster: the
 * bytes are a canonical admission record signed by its author, the author is the peer
 * on this connection, the record's time is within `maxClockSkewMs` of this node's clock
 * (so it cannot be backdated past a revocation or ahead of other joiners). Anything else
 * (stewardship, tribe, expiry, revocation, uses) is for `admit`, which the node wires to
 * storing the record with the roster and checking the fold. Garbage gets an error reply
 * and the stream is closed; a frame over the limit aborts the stream; silence past the
 * timeout aborts it too.
 *
 * ```ts
 * const unregister = await registerJoinHandler(host.libp2p, async (record, from) => {
 *   await replication.ingestRecords([record], from)
 *   return (await isMember(tribeId, from)) ? { ok: true } : { ok: false, code: 'REFUSED', message: '…' }
 * })
 * const reply = await requestJoin(joinerHost.libp2p, memberPeerId, admissionRecord)
 * ```
 */
import type { AbortOptions, Libp2p, PeerId } from '@libp2p/interface'
import { encodeRecord, tryDecodeRecord } from '../envelope/codec.js'
import type { SignedRecord } from '../envelope/types.js'
import { firstFrame, handleFramed, requestFrame } from '../net/frames.js'
import { decodeReplyFrame, encodeReplyFrame, type Refusal } from '../net/reply-frame.js'
import { ADMISSION_KIND, ADMISSION_REASONS, decodeAdmission } from './admission.js'
import { hasExactKeys } from './cbor.js'
import { JoinProtocolError } from './errors.js'

export const JOIN_PROTOCOL = '/tapestry/join/1.0.0'
export const MAX_JOIN_FRAME_BYTES = 16 * 1024
export const DEFAULT_JOIN_TIMEOUT_MS = 15_000
export const DEFAULT_MAX_CLOCK_SKEW_MS = 10 * 60_000

export type JoinReply = { ok: true } | Refusal

/**
 * Decides on an admission record from the peer `fromPeerMemberId` (already checked to be
 * the record's author). Throwing is answered as a refusal with the error's `code`.
 */
export type Admit = (record: SignedRecord, fromPeerMemberId: string) => Promise<JoinReply>

export interface JoinHandlerOptions {
  /** Time allowed for the request to arrive. @default 15 s */
  timeoutMs?: number
  /** Largest difference between the record's time and this node's clock. @default 10 min */
  maxClockSkewMs?: number
  now?: () => number
  /** Told of a peer that sent garbage (the node may close its connection). */
  onBadInput?: (peer: PeerId, code: string, detail: string) => void
  /** Named logger, e.g. `logger.forComponent('join')`. */
  log?: (format: string, ...args: unknown[]) => void
}

/** Reply frame bytes (net/reply-frame.ts: a bad code becomes REFUSED, long messages are cut). */
export function encodeJoinReply(reply: JoinReply): Uint8Array {
  return encodeReplyFrame(reply)
}

/** Parses a reply frame; undefined when it is not one. Never throws. */
export function decodeJoinReply(bytes: Uint8Array): JoinReply | undefined {
  const r = decodeReplyFrame(bytes)
  if (r?.ok !== true) return r
  return hasExactKeys(r.map, ['v', 'ok']) ? { ok: true } : undefined
}

/**
 * Checks a request frame from `peerMemberId` up to what needs the roster: the admission
 * record, or the refusal to send. Never throws.
 */
export function checkJoinRequest(
  frame: Uint8Array,
  peerMemberId: string,
  now: number,
  maxClockSkewMs = DEFAULT_MAX_CLOCK_SKEW_MS,
): { ok: true; record: SignedRecord } | { ok: false; reply: JoinReply & { ok: false } } {
  const refuse = (code: string, message: string) => ({
    ok: false as const,
    reply: { ok: false as const, code, message },
  })
  const decoded = tryDecodeRecord(frame)
  if (!decoded.ok || decoded.value.kind !== ADMISSION_KIND) {
    return refuse('BAD_REQUEST', 'the join request is not an admission record')
  }
  const record = decoded.value
  const admission = decodeAdmission(record)
  if (!admission.ok) return refuse(admission.reason, ADMISSION_REASONS[admission.reason])
  if (admission.value.memberId !== peerMemberId) {
    return refuse('WRONG_PEER', 'an admission must be presented by the member it admits')
  }
  if (Math.abs(record.createdAt - now) > maxClockSkewMs) {
    return refuse(
      'CLOCK_SKEW',
      `your clock differs from this member’s by more than ${Math.round(maxClockSkewMs / 60_000)} minutes: set your clock, then join again`,
    )
  }
  return { ok: true, record }
}

/**
 * Serves the join protocol on `libp2p` with `admit`. Returns a function that removes
 * the handler.
 */
export async function registerJoinHandler(
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'>,
  admit: Admit,
  options: JoinHandlerOptions = {},
): Promise<() => Promise<void>> {
  const log = options.log ?? (() => {})
  const now = options.now ?? Date.now
  const timeoutMs = options.timeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS
  await handleFramed(
    libp2p,
    JOIN_PROTOCOL,
    async (s) => {
      const peer = s.remotePeer
      const signal = AbortSignal.timeout(timeoutMs)
      let frame: Uint8Array | undefined
      try {
        frame = await firstFrame(s, signal)
      } catch (err) {
        const detail = signal.aborted ? 'no request in time' : (err as Error).message
        log('join request from %p failed: %s', peer, detail)
        options.onBadInput?.(peer, signal.aborted ? 'TIMEOUT' : 'BAD_FRAME', detail)
        s.abort(new JoinProtocolError(detail))
        return
      }
      if (frame === undefined) {
        await s.close().catch(() => {})
        return
      }
      const checked = checkJoinRequest(
        frame,
        peer.toString(),
        now(),
        options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS,
      )
      let reply: JoinReply
      if (!checked.ok) {
        const refusal = checked.reply
        reply = refusal
        log('refused join request from %p: %s', peer, refusal.code)
        if (refusal.code === 'BAD_REQUEST' || refusal.code === 'BAD_RECORD') {
          options.onBadInput?.(peer, refusal.code, refusal.message)
        }
      } else {
        try {
          reply = await admit(checked.record, peer.toString())
        } catch (err) {
          const code = (err as { code?: unknown }).code
          reply = {
            ok: false,
            code: typeof code === 'string' ? code : 'INTERNAL',
            message: err instanceof Error ? err.message : String(err),
          }
        }
        log('join request from %p: %s', peer, reply.ok ? 'admitted' : reply.code)
      }
      await s.send(encodeJoinReply(reply), { signal })
      await s.close({ signal })
    },
    {
      maxFrameLength: MAX_JOIN_FRAME_BYTES,
      highWaterMark: MAX_JOIN_FRAME_BYTES * 2,
      handlerOptions: { maxInboundStreams: 4 },
      onError: (err) => log('join stream failed: %s', (err as Error).message),
    },
  )
  return async () => {
    await libp2p.unhandle(JOIN_PROTOCOL)
  }
}

/**
 * Presents `record` to `peer` and waits for its answer. A refusal is a reply
 * (`ok: false`); a transport failure, a timeout or a garbled reply throws
 * JoinProtocolError (code JOIN_FAILED).
 */
export async function requestJoin(
  libp2p: Pick<Libp2p, 'dialProtocol'>,
  peer: PeerId,
  record: SignedRecord,
  options: { timeout?: number } & AbortOptions = {},
): Promise<JoinReply> {
  const timeout = AbortSignal.timeout(options.timeout ?? DEFAULT_JOIN_TIMEOUT_MS)
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal])
  try {
    const frame = await requestFrame(libp2p, peer, JOIN_PROTOCOL, encodeRecord(record), {
      maxFrameLength: MAX_JOIN_FRAME_BYTES,
      signal,
    })
    if (frame === undefined) throw new JoinProtocolError(`${peer} closed without answering`)
    const reply = decodeJoinReply(frame)
    if (reply === undefined) throw new JoinProtocolError(`${peer} sent a garbled answer`)
    return reply
  } catch (err) {
    if (err instanceof JoinProtocolError) throw err
    const why = timeout.aborted ? 'no answer in time' : (err as Error).message
    throw new JoinProtocolError(`could not join through ${peer}: ${why}`, { cause: err })
  }
}
