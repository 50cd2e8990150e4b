import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type DocumentEvent,
  NODE_API_METHODS,
  type NodeApi,
  type NodeApiMethod,
} from '../core/node-api.js'
import { TapestryError, toTapestryError } from '../errors.js'
import { newToken } from './control-file.js'

/**
 * The local control API of a running node: HTTP on 127.0.0.1 with a bearer token.
 *
 *   POST /v1/rpc/<method>   body: JSON array of arguments -> 200 JSON result
 *                                                         | 4xx/5xx {"error":{code,message,hint}}
 *   GET  /v1/events         Server-Sent Events, one `data:` line per DocumentEvent
 *                           (update as base64): the live subscription the desktop uses
 *
 * Every request needs `Authorization: Bearer <token>` (or `?token=` for EventSource,
 * which cannot set headers). The Host header must name the loopback listener, so a web
 * page in a browser cannot reach the API through DNS rebinding.
 */
export interface ControlServerOptions {
  api: NodeApi
  subscribe: (listener: (event: DocumentEvent) => void) => () => void
  port?: number
  token?: string
  /** Largest request body accepted (bytes). */
  maxBody?: number
}

export interface ControlServer {
  port: number
  token: string
  close(): Promise<void>
}

const DEFAULT_MAX_BODY = 4 * 1024 * 1024

export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const token = opts.token ?? newToken()
  const maxBody = opts.maxBody ?? DEFAULT_MAX_BODY
  const expected = Buffer.from(token)
  let port = 0

  const authorized = (req: IncomingMessage, url: URL): boolean => {
    const header = req.headers.authorization
    const given = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('token')
    if (!given) return false
    const buf = Buffer.from(given)
    return buf.length === expected.length && timingSafeEqual(buf, expected)
  }
  const hostAllowed = (req: IncomingMessage): boolean =>
    req.headers.host === `127.0.0.1:${port}` || req.headers.host === `localhost:${port}`

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (!hostAllowed(req))
      return sendError(res, 421, new TapestryError('BAD_HOST', 'wrong Host header'))
    if (!authorized(req, url)) {
      return sendError(
        res,
        401,
        new TapestryError('UNAUTHORIZED', 'missing or wrong control token'),
      )
    }
    if (req.method === 'GET' && url.pathname === '/v1/events')
      return streamEvents(res, opts.subscribe)
    const rpc = /^\/v1\/rpc\/([A-Za-z]+)$/.exec(url.pathname)
    if (req.method === 'POST' && rpc) return void handleRpc(req, res, opts.api, rpc[1]!, maxBody)
    sendError(res, 404, new TapestryError('NOT_FOUND', `no route ${req.method} ${url.pathname}`))
  })
  server.headersTimeout = 10_000
  server.requestTimeout = 60_000

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve())
  })
  port = (server.address() as AddressInfo).port
  return {
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function isMethod(name: string): name is NodeApiMethod {
  return (NODE_API_METHODS as readonly string[]).includes(name)
}

async function handleRpc(
  req: IncomingMessage,
  res: ServerResponse,
  api: NodeApi,
  method: string,
  maxBody: number,
): Promise<void> {
  if (!isMethod(method)) {
    return sendError(res, 404, new TapestryError('NOT_FOUND', `no method ${method}`))
  }
  let args: unknown
  try {
    args = JSON.parse((await readBody(req, maxBody)) || '[]')
  } catch (err) {
    return sendError(res, 400, toTapestryError(err))
  }
  if (!Array.isArray(args)) {
    return sendError(
      res,
      400,
      new TapestryError('BAD_REQUEST', 'body must be a JSON array of arguments'),
    )
  }
  try {
    // Each NodeApi method validates its own arguments: the same checks run whether the
    // call comes from this API or in-process.
    const fn = api[method] as (...a: unknown[]) => Promise<unknown>
    const result = await fn.apply(api, args)
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(result))
  } catch (err) {
    const e = toTapestryError(err)
    sendError(res, statusFor(e.code), e)
  }
}

function statusFor(code: string): number {
  if (code === 'NOT_FOUND') return 404
  if (code === 'FORBIDDEN' || code === 'NOT_AUTHORIZED') return 403
  if (code === 'INTERNAL') return 500
  return 400
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
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

function streamEvents(res: ServerResponse, subscribe: ControlServerOptions['subscribe']): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  })
  res.write(': subscribed\n\n')
  const unsubscribe = subscribe((event) => {
    const wire = {
      ...event,
      update: event.update ? Buffer.from(event.update).toString('base64') : undefined,
    }
    res.write(`data: ${JSON.stringify(wire)}\n\n`)
  })
  res.on('close', unsubscribe)
}

function sendError(res: ServerResponse, status: number, err: TapestryError): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ error: err.toJSON() }))
}
