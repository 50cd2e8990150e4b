import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { TapestryError, toTapestryError } from '../errors.js'

/**
 * The HTTP pieces the control API (api/control-server.ts, `/v1/...`) and the `tapestry ui`
 * server (ui/ui-server.ts, `/api/...`) share: both listen on 127.0.0.1 only, behind a
 * secret token, and run NodeApi methods as JSON RPC.
 *
 *   POST <prefix>/rpc/<method>   body: JSON array of arguments (at most `maxBody` bytes)
 *     200 JSON result | {"error":{code,message,hint?}} with the status `statusFor(code)`
 *
 * A request is refused, in this order, when its Host does not name the listener (421
 * BAD_HOST: DNS rebinding), when a browser says it comes from another site (403
 * BAD_ORIGIN: an Origin other than the listener's, or `Sec-Fetch-Site: cross-site`), and
 * when it lacks the token (401 UNAUTHORIZED: `Authorization: Bearer T`, or `?token=T` for
 * what cannot set headers, as EventSource and a page's own files). An unknown method is
 * 404 UNKNOWN_METHOD; an oversized or malformed body is 400 (TOO_LARGE, BAD_REQUEST).
 * Callers decide by the `code`, never by the message.
 */

/** The HTTP status of an error reply, from the error's code alone. */
export function statusFor(code: string): number {
  switch (code) {
    case 'UNAUTHORIZED':
      return 401
    case 'FORBIDDEN':
    case 'NOT_AUTHORIZED':
    case 'BAD_ORIGIN':
      return 403
    case 'NOT_FOUND':
    case 'UNKNOWN_METHOD':
      return 404
    case 'METHOD_NOT_ALLOWED':
      return 405
    case 'BAD_HOST':
      return 421
    case 'INTERNAL':
      return 500
    case 'NOT_AVAILABLE':
      return 501
    case 'NODE_UNREACHABLE':
      return 503
    default:
      return 400
  }
}

/** Writes `body` as JSON with `status` (and any extra headers). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'cache-control': 'no-store',
  })
  res.end(JSON.stringify(body))
}

/** Writes `{"error":{code,message,hint?}}` with `statusFor(code)` unless `status` is given. */
export function sendError(
  res: ServerResponse,
  err: unknown,
  opts: { status?: number; headers?: Record<string, string> } = {},
): void {
  const e = toTapestryError(err)
  sendJson(res, opts.status ?? statusFor(e.code), { error: e.toJSON() }, opts.headers)
}

export interface GuardOptions {
  /** The listener's port: the Host (and any Origin) must name 127.0.0.1 or localhost on it. */
  port: number
  token: string
  /** Said when the token is missing or wrong. */
  tokenHint?: string
}

/**
 * Checks Host, Origin and token (see the module comment); returns the refusal to send,
 * or undefined when the request may proceed.
 */
export function refusal(
  req: IncomingMessage,
  url: URL,
  opts: GuardOptions,
): TapestryError | undefined {
  const self = [`127.0.0.1:${opts.port}`, `localhost:${opts.port}`]
  if (!self.includes(req.headers.host ?? '')) {
    return new TapestryError('BAD_HOST', 'wrong Host header')
  }
  const origin = req.headers.origin
  if (
    (origin !== undefined && !self.some((h) => origin === `http://${h}`)) ||
    req.headers['sec-fetch-site'] === 'cross-site'
  ) {
    return new TapestryError('BAD_ORIGIN', 'requests from other sites are refused')
  }
  if (!hasToken(req, url, opts.token)) {
    return new TapestryError('UNAUTHORIZED', 'missing or wrong token', opts.tokenHint)
  }
  return undefined
}

function hasToken(req: IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization
  const given = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('token')
  if (!given) return false
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The method named by `<prefix>/rpc/<method>`, or undefined for another path. */
export function rpcMethod(prefix: string, pathname: string): string | undefined {
  if (!pathname.startsWith(`${prefix}/rpc/`)) return undefined
  const method = pathname.slice(prefix.length + 5)
  return /^[A-Za-z]+$/.test(method) ? method : undefined
}

export interface RpcOptions {
  method: string
  /** The methods this server offers; any other is 404 UNKNOWN_METHOD. */
  methods: readonly string[]
  maxBody: number
  /** Runs the method; what it throws becomes the error reply. */
  invoke: (method: string, args: unknown[]) => Promise<unknown>
  headers?: Record<string, string>
}

/** Answers one RPC request: reads the arguments, invokes, replies with result or error. */
export async function serveRpc(
  req: IncomingMessage,
  res: ServerResponse,
  opts: RpcOptions,
): Promise<void> {
  const headers = opts.headers ?? {}
  if (!opts.methods.includes(opts.method)) {
    return sendError(res, new TapestryError('UNKNOWN_METHOD', `no method ${opts.method}`), {
      headers,
    })
  }
  let args: unknown
  try {
    args = JSON.parse((await readBody(req, opts.maxBody)) || '[]')
  } catch (err) {
    const e =
      err instanceof TapestryError ? err : new TapestryError('BAD_REQUEST', 'body is not JSON')
    return sendError(res, e, { headers })
  }
  if (!Array.isArray(args)) {
    return sendError(
      res,
      new TapestryError('BAD_REQUEST', 'body must be a JSON array of arguments'),
      { headers },
    )
  }
  try {
    sendJson(res, 200, (await opts.invoke(opts.method, args)) ?? null, headers)
  } catch (err) {
    sendError(res, err, { headers })
  }
}

/** The request body as text; rejects with TOO_LARGE past `max` bytes. */
export function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > max) {
        reject(new TapestryError('TOO_LARGE', `request body over ${max} bytes`))
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** Starts a Server-Sent Events reply; each `send` writes one `data:` line. */
export function openEvents(
  res: ServerResponse,
  headers: Record<string, string> = {},
): (data: unknown) => void {
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  })
  return (data) => res.write(`data: ${JSON.stringify(data)}\n\n`)
}

/** Listens on 127.0.0.1:`port` (0: any free port) with bounded header and request times. */
export function listenLoopback(server: Server, port: number): Promise<number> {
  server.headersTimeout = 10_000
  server.requestTimeout = 60_000
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err)
    server.once('error', onError)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

/** Closes `server` and every connection it holds (event streams included). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
}
