import type { DocumentEvent, NodeApi, NodeApiMethod } from '../core/node-api.js'
import { TapestryError } from '../errors.js'
import type { ControlInfo } from './control-file.js'

/** NodeApi over a running node's control API (see control-server.ts for the routes). */
export class ControlClient implements NodeApi {
  private readonly base: string

  constructor(private readonly info: Pick<ControlInfo, 'port' | 'token'>) {
    this.base = `http://127.0.0.1:${info.port}`
  }

  private async call<T>(method: NodeApiMethod, ...args: unknown[]): Promise<T> {
    let res: Response
    try {
      res = await fetch(`${this.base}/v1/rpc/${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.info.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(args),
      })
    } catch (err) {
      throw new TapestryError(
        'NODE_UNREACHABLE',
        `the running node's control API did not answer (${(err as Error).message})`,
        'check that `tapestry start` is still running for this data directory',
      )
    }
    if (!res.ok) throw await replyError(res)
    return (await res.json()) as T
  }

  status: NodeApi['status'] = () => this.call('status')
  createTribe: NodeApi['createTribe'] = (name) => this.call('createTribe', name)
  tribes: NodeApi['tribes'] = () => this.call('tribes')
  narrate: NodeApi['narrate'] = (input) => this.call('narrate', input)
  narratives: NodeApi['narratives'] = (query) => this.call('narratives', query)
  show: NodeApi['show'] = (id) => this.call('show', id)
  echo: NodeApi['echo'] = (id, body) => this.call('echo', id, body)
  withdraw: NodeApi['withdraw'] = (id) => this.call('withdraw', id)
  coauthor: NodeApi['coauthor'] = (id, member) => this.call('coauthor', id, member)
  consentShow: NodeApi['consentShow'] = () => this.call('consentShow')
  consentSet: NodeApi['consentSet'] = (input) => this.call('consentSet', input)
  receipts: NodeApi['receipts'] = (id) => this.call('receipts', id)
  peers: NodeApi['peers'] = () => this.call('peers')
  remove: NodeApi['remove'] = (id, q) => this.call('remove', id, q)
  tribeKey: NodeApi['tribeKey'] = (q) => this.call('tribeKey', q)
  editSession: NodeApi['editSession'] = (id, writer) => this.call('editSession', id, writer)
  editUpdate: NodeApi['editUpdate'] = (id, writer, update) =>
    this.call('editUpdate', id, writer, update)
  invite: NodeApi['invite'] = (input) => this.call('invite', input)
  join: NodeApi['join'] = (code) => this.call('join', code)
  invites: NodeApi['invites'] = (q) => this.call('invites', q)
  revokeInvite: NodeApi['revokeInvite'] = (id) => this.call('revokeInvite', id)
  members: NodeApi['members'] = (q) => this.call('members', q)
  federatePropose: NodeApi['federatePropose'] = (input) => this.call('federatePropose', input)
  federateAccept: NodeApi['federateAccept'] = (code, input) =>
    this.call('federateAccept', code, input)
  federation: NodeApi['federation'] = () => this.call('federation')
  federateEnd: NodeApi['federateEnd'] = (id) => this.call('federateEnd', id)

  /**
   * Live document events until `signal` aborts. Reads the Server-Sent Events stream
   * of /v1/events and decodes each event's update from base64. `onOpen` is called once
   * the node has accepted the subscription, before any event.
   */
  async *events(signal: AbortSignal, onOpen?: () => void): AsyncGenerator<DocumentEvent> {
    const res = await fetch(`${this.base}/v1/events`, {
      headers: { authorization: `Bearer ${this.info.token}` },
      signal,
    })
    if (!res.ok) throw await replyError(res)
    if (!res.body) throw new TapestryError('INTERNAL', 'events: the node sent no stream')
    onOpen?.()
    const decoder = new TextDecoder()
    let buffered = ''
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true })
        let end = buffered.indexOf('\n\n')
        while (end >= 0) {
          const block = buffered.slice(0, end)
          buffered = buffered.slice(end + 2)
          end = buffered.indexOf('\n\n')
          if (!block.startsWith('data: ')) continue
          const raw = JSON.parse(block.slice(6)) as Omit<DocumentEvent, 'update'> & {
            update?: string
          }
          yield {
            ...raw,
            update: raw.update ? new Uint8Array(Buffer.from(raw.update, 'base64')) : undefined,
          } as DocumentEvent
        }
      }
    } catch (err) {
      if (!signal.aborted) throw err
    }
  }
}

/** The TapestryError of a failed reply: its `{"error":{code,message,hint}}` body (http/rpc.ts). */
async function replyError(res: Response): Promise<TapestryError> {
  const body = (await res.json().catch(() => undefined)) as
    | { error?: { code?: string; message?: string; hint?: string } }
    | undefined
  const e = body?.error
  return new TapestryError(e?.code ?? 'INTERNAL', e?.message ?? `HTTP ${res.status}`, e?.hint)
}
