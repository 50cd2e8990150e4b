import { timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize, sep } from 'node:path'
import type { NodeApi } from '../core/node-api.js'
import { TapestryError, toTapestryError } from '../errors.js'
import type { UiBackend } from './backend.js'
import { Projection } from './projection.js'
import type { UiEvent, UiSnapshot } from './wire.js'

/**
 * The `tapestry ui` HTTP server on 127.0.0.1: the built renderer and the node's data for
 * it, behind one secret token.
 *
 *   GET  /?token=T                 the renderer (its asset URLs carry the token too)
 *   GET  /assets/*?token=T, /sw.js?token=T, ...   the renderer's files
 *   GET  /api/snapshot?token=T     UiSnapshot (503 while the node is unreachable)
 *   GET  /api/events?token=T       Server-Sent Events: UiEvent per `data:` line
 *   POST /api/rpc/<method>         Authorization: Bearer T; body: JSON array of arguments
 *
 * Every request needs the token (query or bearer), a Host naming this listener, and, when
 * the browser sends one, an Origin of this listener and no `Sec-Fetch-Site: cross-site`:
 * other sites in the same browser (DNS rebinding, cross-site requests) get nothing.
 */
export interface UiServerOptions {
  backend: UiBackend
  /** The built renderer (index.html and assets/). */
  rendererDir: string
  token: string
  /** Port to listen on; 0 picks a free one. */
  port: number
  /** How often peers are counted and the projection reconciled (ms). */
  statusEveryMs?: number
  reconcileEveryMs?: number
}

export interface UiServer {
  port: number
  /** The page's address, token included: a secret. */
  url: string
  close(): Promise<void>
}

/**
 * NodeApi methods the renderer may call. `tribeKey` (a raw secret) is not among them;
 * `federatePropose` returns an offer code (a secret) only to the page that asked for it.
 */
export const UI_RPC_METHODS = [
  'status',
  'tribes',
  'createTribe',
  'narrate',
  'show',
  'echo',
  'withdraw',
  'coauthor',
  'consentShow',
  'consentSet',
  'receipts',
  'peers',
  'members',
  'invite',
  'invites',
  'revokeInvite',
  'join',
  'remove',
  'editSession',
  'editUpdate',
  'federation',
  'federatePropose',
  'federateAccept',
  'federateEnd',
] as const

const MAX_BODY = 1024 * 1024
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
}
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  const { backend } = opts
  const expected = Buffer.from(opts.token)
  const projection = new Projection({
    narratives: (q) => backend.api().narratives(q),
    show: (id) => backend.api().show(id),
  })
  const clients = new Set<ServerResponse>()
  let port = 0
  let peers: number | null = null
  let serial: Promise<unknown> = Promise.resolve()
  /** Runs projection work one piece at a time, so events reach pages in order. */
  const enqueue = (fn: () => Promise<void>) => {
    serial = serial.then(fn).catch(() => {})
    return serial
  }
  const broadcast = (e: UiEvent) => {
    const line = `data: ${JSON.stringify(e)}\n\n`
    for (const res of clients) res.write(line)
  }

  const rebuild = () =>
    enqueue(async () => {
      const before = new Map(projection.items().map((i) => [i.id, JSON.stringify(i)]))
      await projection.rebuild()
      const after = projection.items()
      const changes: UiEvent[] = []
      for (const item of after) {
        if (before.get(item.id) !== JSON.stringify(item)) changes.push({ type: 'upsert', item })
        before.delete(item.id)
      }
      for (const id of before.keys()) changes.push({ type: 'remove', id })
      if (changes.length > 200) broadcast({ type: 'reset' })
      else for (const c of changes) broadcast(c)
    })

  // Narratives touched by events, refreshed together a moment later (a burst of edits
  // to one body costs one read).
  const dirty = new Set<string>()
  let flushTimer: NodeJS.Timeout | undefined
  const markDirty = (id: string) => {
    dirty.add(id)
    flushTimer ??= setTimeout(() => {
      flushTimer = undefined
      const ids = [...dirty]
      dirty.clear()
      void enqueue(async () => {
        for (const id of ids) {
          const change = await projection.refresh(id)
          if (change) broadcast(change)
        }
      })
    }, 25)
  }

  const countPeers = async (): Promise<number | null> => {
    if (!backend.online()) return null
    const api = backend.api()
    if (typeof api.peers !== 'function') return null
    try {
      return (await api.peers()).length
    } catch {
      return null
    }
  }
  const pollStatus = async () => {
    const now = await countPeers()
    if (now !== peers) {
      peers = now
      broadcast({ type: 'status', online: backend.online(), peers })
    }
  }

  const offBackend = backend.on((e) => {
    if (e.type === 'online') {
      broadcast({ type: 'status', online: e.online, peers: null })
      if (e.online) {
        void rebuild().then(() => broadcast({ type: 'reset' }))
        void pollStatus()
      }
      return
    }
    const { docId, kind, origin, update } = e.event
    if (update && (kind === 'narrative' || kind === 'echo')) {
      // Open editors apply these to their replicas (their own come back too: harmless).
      broadcast({ type: 'update', docId, origin, update: Buffer.from(update).toString('base64') })
    }
    const narrativeId = projection.narrativeOf(e.event)
    if (narrativeId) markDirty(narrativeId)
    else if (e.event.kind !== 'echo') {
      broadcast({ type: 'changed', kind: e.event.kind, docId: e.event.docId })
    }
  })
  if (backend.online()) await rebuild()

  const statusTimer = setInterval(() => void pollStatus(), opts.statusEveryMs ?? 2000)
  // Authority records (a changed audience, a co-author) carry no document event: a slow
  // reconciliation picks them up.
  const reconcileTimer = setInterval(() => {
    if (backend.online() && clients.size > 0) void rebuild()
  }, opts.reconcileEveryMs ?? 30_000)
  const heartbeat = setInterval(() => {
    for (const res of clients) res.write(': ping\n\n')
  }, 20_000)
  for (const t of [statusTimer, reconcileTimer, heartbeat]) t.unref()

  const snapshot = async (): Promise<UiSnapshot> => {
    const api = backend.api()
    const status = await api.status()
    const names: Record<string, string> = {}
    if (typeof api.members === 'function') {
      for (const t of status.tribes) {
        try {
          for (const m of await api.members({ tribeId: t.tribeId })) names[m.memberId] = m.name
        } catch {
          // a roster this node cannot read yet: ids stand in for names
        }
      }
    }
    names[status.memberId] ??= status.name
    await serial
    return {
      memberId: status.memberId,
      name: status.name,
      mode: backend.mode,
      tribes: status.tribes,
      names,
      items: projection.items(),
      peers: await countPeers(),
      methods: UI_RPC_METHODS.filter((m) => typeof api[m] === 'function'),
      at: Date.now(),
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const self = [`127.0.0.1:${port}`, `localhost:${port}`]
    if (!self.includes(req.headers.host ?? '')) {
      return sendError(res, 421, new TapestryError('BAD_HOST', 'wrong Host header'))
    }
    const origin = req.headers.origin
    if (
      (origin !== undefined && !self.some((h) => origin === `http://${h}`)) ||
      req.headers['sec-fetch-site'] === 'cross-site'
    ) {
      return sendError(
        res,
        403,
        new TapestryError('BAD_ORIGIN', 'requests from other sites are refused'),
      )
    }
    if (!authorized(req, url, expected)) {
      return sendError(
        res,
        401,
        new TapestryError(
          'UNAUTHORIZED',
          'missing or wrong token',
          'open the address `tapestry ui` printed, token included',
        ),
      )
    }
    if (url.pathname === '/api/events' && req.method === 'GET') {
      res.writeHead(200, {
        ...securityHeaders(),
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      })
      res.write(
        `data: ${JSON.stringify({ type: 'hello', online: backend.online() } satisfies UiEvent)}\n\n`,
      )
      clients.add(res)
      res.on('close', () => clients.delete(res))
      return
    }
    if (url.pathname === '/api/snapshot' && req.method === 'GET') {
      try {
        return sendJson(res, 200, await snapshot())
      } catch (err) {
        const e = toTapestryError(err)
        return sendError(res, e.code === 'NODE_UNREACHABLE' ? 503 : 500, e)
      }
    }
    const rpc = /^\/api\/rpc\/([A-Za-z]+)$/.exec(url.pathname)
    if (rpc && req.method === 'POST') return handleRpc(req, res, rpc[1]!)
    if (url.pathname.startsWith('/api/')) {
      return sendError(
        res,
        404,
        new TapestryError('NOT_FOUND', `no route ${req.method} ${url.pathname}`),
      )
    }
    if (req.method !== 'GET') {
      return sendError(res, 405, new TapestryError('BAD_REQUEST', 'method not allowed'))
    }
    return serveFile(res, opts.rendererDir, url.pathname, opts.token)
  }

  const handleRpc = async (req: IncomingMessage, res: ServerResponse, method: string) => {
    if (!(UI_RPC_METHODS as readonly string[]).includes(method)) {
      return sendError(res, 404, new TapestryError('NOT_FOUND', `no method ${method}`))
    }
    let args: unknown
    try {
      args = JSON.parse((await readBody(req)) || '[]')
    } catch (err) {
      return sendError(res, 400, toTapestryError(err))
    }
    if (!Array.isArray(args)) {
      return sendError(res, 400, new TapestryError('BAD_REQUEST', 'body must be a JSON array'))
    }
    try {
      const api = backend.api()
      const fn = api[method as keyof NodeApi] as unknown
      if (typeof fn !== 'function') {
        return sendError(
          res,
          501,
          new TapestryError('NOT_AVAILABLE', `this node does not offer ${method} yet`),
        )
      }
      const result = await (fn as (...a: unknown[]) => Promise<unknown>).apply(api, args)
      // Authority records (withdrawal, audience, co-author) emit no document event.
      const touched = touchedNarrative(method, args, result)
      if (touched)
        await enqueue(async () => {
          const change = await projection.refresh(touched)
          if (change) broadcast(change)
        })
      return sendJson(res, 200, result ?? null)
    } catch (err) {
      const e = toTapestryError(err)
      return sendError(res, statusFor(e.code), e)
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendError(res, 500, toTapestryError(err))
      else res.destroy()
    })
  })
  server.headersTimeout = 10_000
  server.requestTimeout = 60_000

  port = await listen(server, opts.port)
  return {
    port,
    url: `http://127.0.0.1:${port}/?token=${encodeURIComponent(opts.token)}`,
    close: async () => {
      offBackend()
      for (const t of [statusTimer, reconcileTimer, heartbeat]) clearInterval(t)
      if (flushTimer) clearTimeout(flushTimer)
      for (const res of clients) res.end()
      clients.clear()
      await new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
      await serial
    },
  }
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err)
    server.once('error', onError)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

function authorized(req: IncomingMessage, url: URL, expected: Buffer): boolean {
  const header = req.headers.authorization
  const given = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('token')
  if (!given) return false
  const buf = Buffer.from(given)
  return buf.length === expected.length && timingSafeEqual(buf, expected)
}

function touchedNarrative(method: string, args: unknown[], result: unknown): string | undefined {
  const first = args[0]
  if (method === 'withdraw' || method === 'coauthor' || method === 'echo') {
    return typeof first === 'string' ? first : undefined
  }
  if (method === 'consentSet' && first && typeof first === 'object') {
    const id = (first as { narrativeId?: unknown }).narrativeId
    return typeof id === 'string' ? id : undefined
  }
  if (method === 'narrate' && result && typeof result === 'object') {
    const id = (result as { narrativeId?: unknown }).narrativeId
    return typeof id === 'string' ? id : undefined
  }
  return undefined
}

async function serveFile(
  res: ServerResponse,
  root: string,
  pathname: string,
  token: string,
): Promise<void> {
  const rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '')
  const file = normalize(join(root, rel))
  if (!file.startsWith(normalize(root) + sep)) {
    return sendError(res, 404, new TapestryError('NOT_FOUND', 'no such file'))
  }
  let data: Buffer
  try {
    data = await readFile(file)
  } catch {
    return sendError(res, 404, new TapestryError('NOT_FOUND', `no file ${pathname}`))
  }
  const type = TYPES[extname(file)] ?? 'application/octet-stream'
  if (rel === 'index.html') {
    // The page's own files are behind the token too: their URLs carry it.
    const q = `?token=${encodeURIComponent(token)}`
    const html = data
      .toString('utf8')
      .replace(
        /(src|href)="(\.?\/?(?:assets\/[^"?]+|[\w.-]+\.(?:js|css|svg|png|ico|webmanifest)))"/g,
        `$1="$2${q}"`,
      )
    res.writeHead(200, { ...securityHeaders(), 'content-type': type, 'cache-control': 'no-store' })
    res.end(html)
    return
  }
  res.writeHead(200, {
    ...securityHeaders(),
    'content-type': type,
    'cache-control': rel.startsWith('assets/')
      ? 'private, max-age=31536000, immutable'
      : 'no-cache',
  })
  res.end(data)
}

function securityHeaders(): Record<string, string> {
  return {
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'x-frame-options': 'DENY',
  }
}

function statusFor(code: string): number {
  if (code === 'NOT_FOUND') return 404
  if (code === 'FORBIDDEN' || code === 'NOT_AUTHORIZED') return 403
  if (code === 'NODE_UNREACHABLE') return 503
  if (code === 'INTERNAL') return 500
  return 400
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY) {
        reject(new TapestryError('TOO_LARGE', `request body over ${MAX_BODY} bytes`))
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    ...securityHeaders(),
    'content-type': 'application/json',
    'cache-control': 'no-store',
  })
  res.end(JSON.stringify(body))
}

function sendError(res: ServerResponse, status: number, err: TapestryError): void {
  sendJson(res, status, { error: err.toJSON() })
}
