/**
 * Length-prefixed frames over libp2p v3 message streams: the thin plumbing every
 * Tapestry protocol runs on. It knows nothing of message types.
 *
 * - `send(bytes)` writes one frame (unsigned-varint length + bytes) and resolves when
 *   the stream can take more, so a loop of `await send()` never buffers without bound.
 * - `frames` yields each received frame. Reading pauses the stream when more than
 *   `highWaterMark` unread bytes are queued (yamux then stops granting window to the
 *   sender) and resumes below half of it: a slow consumer slows the sender down.
 * - A frame longer than `maxFrameLength` (default 4 MiB) is an error on both sides:
 *   `send` throws FrameError, and `frames` throws and aborts the stream.
 *
 * ```ts
 * await handleFramed(libp2p, '/echo/1.0.0', async (s) => {
 *   for await (const frame of s.frames) await s.send(frame)
 *   await s.close()
 * })
 * const s = await openFramedStream(libp2p, peerId, '/echo/1.0.0')
 * await s.send(new TextEncoder().encode('hi'))
 * ```
 */
import type {
  AbortOptions,
  Connection,
  Libp2p,
  PeerId,
  Stream,
  StreamCloseEvent,
  StreamHandlerOptions,
  StreamMessageEvent,
} from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import { pipe } from 'it-pipe'
import { FrameError } from './errors.js'

/** What a message stream delivers: a Uint8Array or a Uint8ArrayList. */
type Chunk = StreamMessageEvent['data']

export const DEFAULT_MAX_FRAME_LENGTH = 4 * 1024 * 1024
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024

export interface FramedOptions {
  /** Largest frame accepted or sent, in bytes. @default 4 MiB */
  maxFrameLength?: number
  /** Unread bytes queued before the stream is paused. @default 1 MiB */
  highWaterMark?: number
}

export interface FramedStream {
  /** Sends one frame; resolves once the stream can accept more (backpressure). */
  send(frame: Uint8Array, options?: AbortOptions): Promise<void>
  /** Every frame the remote sends, in order; ends when the remote closes its side. */
  readonly frames: AsyncIterable<Uint8Array>
  /** Closes our writable end gracefully after queued frames are sent. */
  close(options?: AbortOptions): Promise<void>
  /** Resets the stream at once, discarding queued data. */
  abort(err: Error): void
  readonly remotePeer: PeerId
  readonly stream: Stream
}

export type FramedHandler = (stream: FramedStream, connection: Connection) => void | Promise<void>

/** Opens `protocol` to `peer` (dialling if needed) and frames the stream. */
export async function openFramedStream(
  libp2p: Pick<Libp2p, 'dialProtocol'>,
  peer: PeerId,
  protocol: string,
  options: FramedOptions & AbortOptions = {},
): Promise<FramedStream> {
  const stream = await libp2p.dialProtocol(peer, protocol, { signal: options.signal })
  return framed(stream, peer, options)
}

/**
 * Registers `handler` for `protocol`. A handler that throws aborts its stream (the error
 * is passed to `onError`); one that returns leaves the stream as it left it.
 */
export async function handleFramed(
  libp2p: Pick<Libp2p, 'handle'>,
  protocol: string,
  handler: FramedHandler,
  options: FramedOptions & {
    handlerOptions?: StreamHandlerOptions
    onError?: (err: unknown) => void
  } = {},
): Promise<void> {
  await libp2p.handle(
    protocol,
    async (stream, connection) => {
      const s = framed(stream, connection.remotePeer, options)
      try {
        await handler(s, connection)
      } catch (err) {
        options.onError?.(err)
        s.abort(err instanceof Error ? err : new Error(String(err)))
      }
    },
    options.handlerOptions,
  )
}

/** Frames an already open stream. */
export function framed(
  stream: Stream,
  remotePeer: PeerId,
  options: FramedOptions = {},
): FramedStream {
  const maxFrameLength = options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK
  let frames: AsyncIterable<Uint8Array> | undefined
  return {
    remotePeer,
    stream,
    async send(frame, opts) {
      if (frame.byteLength > maxFrameLength) {
        throw new FrameError(`frame of ${frame.byteLength} bytes exceeds ${maxFrameLength}`)
      }
      if (!stream.send(lp.encode.single(frame))) {
        await stream.onDrain(opts)
      }
    },
    get frames() {
      frames ??= pipe(
        pausingSource(stream, highWaterMark),
        (source) => lp.decode(source, { maxDataLength: maxFrameLength }),
        async function* (source) {
          try {
            for await (const frame of source) yield frame.subarray()
          } catch (err) {
            const error = new FrameError(
              `bad frame from ${remotePeer}: ${(err as Error).message}`,
              {
                cause: err,
              },
            )
            stream.abort(error)
            throw error
          }
        },
      )
      return frames
    },
    async close(opts) {
      await stream.close(opts)
    },
    abort(err) {
      stream.abort(err)
    },
  }
}

/**
 * The stream's bytes as an async iterable that pauses the stream while more than
 * `highWaterMark` bytes wait to be consumed.
 */
async function* pausingSource(stream: Stream, highWaterMark: number): AsyncGenerator<Chunk> {
  const queue: Chunk[] = []
  let queued = 0
  let paused = false
  // readableEnded can already be true while unread bytes wait in the stream's buffer
  // (seen with yamux streams), so the end is also checked against readBufferLength.
  let ended = false
  let closed = false
  let error: Error | undefined
  let wake: (() => void) | undefined

  const onMessage = (evt: StreamMessageEvent): void => {
    queue.push(evt.data)
    queued += evt.data.byteLength
    if (!paused && queued > highWaterMark && stream.readStatus === 'readable') {
      paused = true
      stream.pause()
    }
    wake?.()
  }
  const onEnd = (): void => {
    ended = true
    wake?.()
  }
  const onClose = (evt: StreamCloseEvent): void => {
    ended = true
    closed = true
    error = evt.error
    wake?.()
  }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('end', onEnd)
  stream.addEventListener('close', onClose)
  try {
    while (true) {
      const next = queue.shift()
      if (next !== undefined) {
        queued -= next.byteLength
        if (paused && queued <= highWaterMark / 2) {
          paused = false
          if (stream.readStatus === 'paused') stream.resume()
        }
        yield next
        continue
      }
      if (error !== undefined) throw error
      if ((ended || stream.readableEnded) && stream.readBufferLength === 0) return
      if (closed && stream.readStatus === 'closed') return
      await new Promise<void>((resolve) => {
        wake = resolve
      })
      wake = undefined
    }
  } finally {
    stream.removeEventListener('message', onMessage)
    stream.removeEventListener('end', onEnd)
    stream.removeEventListener('close', onClose)
  }
}

/** The first frame of `s` (undefined if the remote closed first); rejects on abort. */
export async function firstFrame(
  s: FramedStream,
  signal: AbortSignal,
): Promise<Uint8Array | undefined> {
  const next = s.frames[Symbol.asyncIterator]().next()
  next.catch(() => {})
  let onAbort = () => {}
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason ?? new Error('aborted'))
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  aborted.catch(() => {})
  try {
    const r = await Promise.race([next, aborted])
    return r.done ? undefined : r.value
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * One request, one reply (the join and federate handshakes): opens `protocol` to `peer`,
 * sends `request`, and resolves to the first frame of the answer (undefined if the remote
 * closed without one). The stream is closed after it, aborted on any error (rethrown).
 */
export async function requestFrame(
  libp2p: Pick<Libp2p, 'dialProtocol'>,
  peer: PeerId,
  protocol: string,
  request: Uint8Array,
  options: { maxFrameLength: number; signal: AbortSignal },
): Promise<Uint8Array | undefined> {
  let s: FramedStream | undefined
  try {
    s = await openFramedStream(libp2p, peer, protocol, options)
    await s.send(request, { signal: options.signal })
    const frame = await firstFrame(s, options.signal)
    await s.close({ signal: options.signal }).catch(() => {})
    return frame
  } catch (err) {
    s?.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}
