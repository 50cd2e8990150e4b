import { createServer, type Server, type ServerResponse } from 'node:http'
import {
  type DocumentEvent,
  NODE_API_METHODS,
  type NodeApi,
  type NodeApiMethod,
} from '../core/node-api.js'
import { TapestryError } from '../errors.js'
import {
  closeServer,
  listenLoopback,
  openEvents,
  refusal,
  rpcMethod,
  sendError,
  serveRpc,
} from '../http/rpc.js'
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
 * which cannot set headers), a Host naming the loopback listener and no other site's
 * Origin, so a web page in a browser cannot reach the API (http/rpc.ts: the checks and
 * the status of each error code, shared with the `tapestry ui` server).
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
  let port = 0

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const refused = refusal(req, url, { port, token })
    if (refused) return sendError(res, refused)
    if (req.method === 'GET' && url.pathname === '/v1/events') {
      return streamEvents(res, opts.subscribe)
    }
    const method = rpcMethod('/v1', url.pathname)
    if (req.method === 'POST' && method !== undefined) {
      return void serveRpc(req, res, {
        method,
        methods: NODE_API_METHODS,
        maxBody,
        // Each NodeApi method validates its own arguments: the same checks run whether
        // the call comes from this API or in-process.
        invoke: (m, args) =>
          (opts.api[m as NodeApiMethod] as (...a: unknown[]) => Promise<unknown>).apply(
            opts.api,
            args,
          ),
      })
    }
    sendError(res, new TapestryError('NOT_FOUND', `no route ${req.method} ${url.pathname}`))
  })
  port = await listenLoopback(server, opts.port ?? 0)
  return { port, token, close: () => closeServer(server) }
}

function streamEvents(res: ServerResponse, subscribe: ControlServerOptions['subscribe']): void {
  const send = openEvents(res)
  res.write(': subscribed\n\n')
  const unsubscribe = subscribe((event) =>
    send({
      ...event,
      update: event.update ? Buffer.from(event.update).toString('base64') : undefined,
    }),
  )
  res.on('close', unsubscribe)
}
