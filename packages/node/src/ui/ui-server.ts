import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'
import type { NodeApi } from '../core/node-api.js'
import { TapestryError, toTapestryError } from '../errors.js'
import {
  closeServer,
  listenLoopback,
  openEvents,
  refusal,
  rpcMethod,
  sendError,
  sendJson,
  serveRpc,
} from '../http/rpc.js'
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
 * other sites in the same browser (DNS rebinding, cross-site requests) get nothing
 * (http/rpc.ts: the checks and the status of each error code, shared with the control API).
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
    const refused = refusal(req, url, {
      port,
      token: opts.token,
      tokenHint: 'open the address `tapestry ui` printed, token included',
    })
    if (refused) return replyError(res, refused)
    if (url.pathname === '/api/events' && req.method === 'GET') {
      openEvents(
        res,
        securityHeaders(),
      )({
        type: 'hello',
        online: backend.online(),
      } satisfies UiEvent)
      clients.add(res)
      res.on('close', () => clients.delete(res))
      return
    }
    if (url.pathname === '/api/snapshot' && req.method === 'GET') {
      try {
        return reply(res, 200, await snapshot())
      } catch (err) {
        const e = toTapestryError(err)
        return replyError(res, e, e.code === 'NODE_UNREACHABLE' ? undefined : 500)
      }
    }
    const method = rpcMethod('/api', url.pathname)
    if (method !== undefined && req.method === 'POST') {
      return serveRpc(req, res, {
        method,
        methods: UI_RPC_METHODS,
        maxBody: MAX_BODY,
        invoke,
        headers: securityHeaders(),
      })
    }
    if (url.pathname.startsWith('/api/')) {
      return replyError(
        res,
        new TapestryError('NOT_FOUND', `no route ${req.method} ${url.pathname}`),
      )
    }
    if (req.method !== 'GET') {
      return replyError(res, new TapestryError('METHOD_NOT_ALLOWED', 'method not allowed'))
    }
    return serveFile(res, opts.rendererDir, url.pathname, opts.token)
  }

  const invoke = async (method: string, args: unknown[]): Promise<unknown> => {
    const api = backend.api()
    const fn = api[method as keyof NodeApi] as unknown
    if (typeof fn !== 'function') {
      throw new TapestryError('NOT_AVAILABLE', `this node does not offer ${method} yet`)
    }
    const result = await (fn as (...a: unknown[]) => Promise<unknown>).apply(api, args)
    // Authority records (withdrawal, audience, co-author) emit no document event.
    const touched = touchedNarrative(method, args, result)
    if (touched)
      await enqueue(async () => {
        const change = await projection.refresh(touched)
        if (change) broadcast(change)
      })
    return result
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) replyError(res, err, 500)
      else res.destroy()
    })
  })
  port = await listenLoopback(server, opts.port)
  return {
    port,
    url: `http://127.0.0.1:${port}/?token=${encodeURIComponent(opts.token)}`,
    close: async () => {
      offBackend()
      for (const t of [statusTimer, reconcileTimer, heartbeat]) clearInterval(t)
      if (flushTimer) clearTimeout(flushTimer)
      for (const res of clients) res.end()
      clients.clear()
      await closeServer(server)
      await serial
    },
  }
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
    return replyError(res, new TapestryError('NOT_FOUND', 'no such file'))
  }
  let data: Buffer
  try {
    data = await readFile(file)
  } catch {
    return replyError(res, new TapestryError('NOT_FOUND', `no file ${pathname}`))
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

function reply(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, securityHeaders())
}

/** An error reply under this server's security headers; `status` defaults to `statusFor`. */
function replyError(res: ServerResponse, err: unknown, status?: number): void {
  sendError(res, err, { headers: securityHeaders(), ...(status ? { status } : {}) })
}
