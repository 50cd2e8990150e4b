import { access, readFile, stat } from 'node:fs/promises'
import { type IncomingMessage, request } from 'node:http'
import { join } from 'node:path'
import { readNarrative } from '@tapestry/crdt-schema'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { NarrativeView, StatusView } from '../src/core/node-api.js'
import { CliSandbox, type RunningNode, withTimeout } from './helpers/cli.js'

/**
 * `tapestry start` running: other commands go through its control API; the API refuses
 * callers without the token or with a foreign Host; its event stream is live; a node
 * killed with SIGKILL leaves nothing that fools the next command.
 */

const cli = new CliSandbox()
afterEach(() => cli.cleanup())

interface ControlJson {
  port: number
  token: string
  pid: number
  memberId: string
}

async function memberWithNode(): Promise<{
  dir: string
  memberId: string
  node: RunningNode
  control: ControlJson
}> {
  const dir = await cli.dataDir()
  const { memberId } = await cli.json<{ memberId: string }>(dir, 'init', '--name', 'Ada')
  await cli.json(dir, 'tribe', 'create', 'River Folk')
  const node = await cli.startNode(dir)
  expect(node.ready).toMatchObject({ event: 'ready', memberId, dataDir: dir })
  const control = JSON.parse(await readFile(join(dir, 'control.json'), 'utf8')) as ControlJson
  return { dir, memberId, node, control }
}

interface HttpReply {
  status: number
  body: string
}

/** A raw HTTP request to the control API, so every header (Host included) is ours to set. */
function http(
  port: number,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'POST',
        path: opts.path,
        headers: { host: `127.0.0.1:${port}`, ...opts.headers },
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      },
    )
    req.on('error', reject)
    req.end(opts.body)
  })
}

interface WireEvent {
  docId: string
  kind: string
  origin: string
  update?: string
  erased?: boolean
}

/** Subscribes to /v1/events; `next(pred)` resolves with the first matching event. */
async function subscribe(port: number, token: string) {
  const events: WireEvent[] = []
  const waiters = new Set<() => void>()
  let buffered = ''
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'GET',
      path: '/v1/events',
      headers: { host: `127.0.0.1:${port}`, authorization: `Bearer ${token}` },
    })
    req.on('response', resolve).on('error', reject).end()
  })
  let subscribed!: () => void
  const ready = new Promise<void>((r) => {
    subscribed = r
  })
  res.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk
    let end = buffered.indexOf('\n\n')
    while (end >= 0) {
      const block = buffered.slice(0, end)
      buffered = buffered.slice(end + 2)
      end = buffered.indexOf('\n\n')
      if (block.startsWith(': subscribed')) subscribed()
      if (block.startsWith('data: ')) events.push(JSON.parse(block.slice(6)) as WireEvent)
    }
    for (const w of waiters) w()
  })
  res.on('error', () => {})
  if (res.statusCode === 200) await withTimeout(ready, 5_000, 'the event stream to open')
  return {
    status: res.statusCode,
    headers: res.headers,
    events,
    next(pred: (e: WireEvent) => boolean, what: string): Promise<WireEvent> {
      const found = new Promise<WireEvent>((resolve) => {
        const check = () => {
          const e = events.find(pred)
          if (e) {
            waiters.delete(check)
            resolve(e)
          }
        }
        waiters.add(check)
        check()
      })
      return withTimeout(found, 10_000, what)
    },
    close: () => res.destroy(),
  }
}

describe('commands while `tapestry start` runs', () => {
  it('go through the control API, and see what was written through it after a stop', async () => {
    const { dir, memberId, node, control } = await memberWithNode()
    expect((await stat(join(dir, 'control.json'))).mode & 0o777).toBe(0o600)
    expect(control).toMatchObject({ port: node.ready.controlPort, pid: node.pid, memberId })

    // Only the API answers `running: true` (a command that opened the store says false).
    const s = await cli.json<StatusView>(dir, 'status')
    expect(s).toMatchObject({ memberId, running: true })
    expect((await cli.run(dir, ['status'])).stdout).toMatch(/node\s+running/)

    const { narrativeId } = await cli.json<{ narrativeId: string }>(
      dir,
      'narrate',
      '--title',
      'Written while running',
      '--body',
      'through the API',
    )
    const { echoId } = await cli.json<{ echoId: string }>(dir, 'echo', narrativeId, '--body', 'yes')
    const shown = await cli.json<NarrativeView & { echoes: { id: string }[] }>(
      dir,
      'show',
      narrativeId,
    )
    expect(shown).toMatchObject({ title: 'Written while running', body: 'through the API' })
    expect(shown.echoes.map((e) => e.id)).toEqual([echoId])
    // Typed errors cross the API with their code.
    expect(await cli.fail(dir, 'show', 'nope')).toMatchObject({ code: 'USAGE', exit: 2 })
    expect(await cli.fail(dir, 'narrate', '--title', 'x'.repeat(201), '--body', 'b')).toMatchObject(
      { code: expect.stringMatching(/OVERSIZED/) },
    )
    // A second node on the same data directory is refused.
    expect(await cli.fail(dir, 'start')).toMatchObject({ code: 'NODE_RUNNING' })

    expect(await node.stop()).toEqual({ code: 0, signal: null })
    expect(node.lines.at(-1)).toEqual({ event: 'stopped', signal: 'SIGTERM' })
    await expect(access(join(dir, 'control.json'))).rejects.toMatchObject({ code: 'ENOENT' })

    expect(await cli.json<StatusView>(dir, 'status')).toMatchObject({ running: false })
    const list = await cli.json<NarrativeView[]>(dir, 'narratives')
    expect(list.map((n) => n.title)).toEqual(['Written while running'])
  })

  it('after SIGKILL, a command opens the store directly, not fooled by control.json', async () => {
    const { dir, node } = await memberWithNode()
    const { narrativeId } = await cli.json<{ narrativeId: string }>(
      dir,
      'narrate',
      '--title',
      'Before the crash',
      '--body',
      'acknowledged, so durable',
    )
    expect(await node.kill()).toEqual({ code: null, signal: 'SIGKILL' })
    // The killed node could not remove its control file.
    const stale = JSON.parse(await readFile(join(dir, 'control.json'), 'utf8')) as ControlJson
    expect(stale.pid).toBe(node.pid)

    expect(await cli.json<StatusView>(dir, 'status')).toMatchObject({ running: false })
    const shown = await cli.json<NarrativeView>(dir, 'show', narrativeId)
    expect(shown).toMatchObject({ title: 'Before the crash', body: 'acknowledged, so durable' })
    await cli.json(dir, 'narrate', '--title', 'After the crash', '--body', 'direct')

    // A new node replaces the stale file, and commands reach it.
    const again = await cli.startNode(dir)
    const fresh = JSON.parse(await readFile(join(dir, 'control.json'), 'utf8')) as ControlJson
    expect(fresh.pid).toBe(again.pid)
    expect(fresh.token).not.toBe(stale.token)
    expect(await cli.json<StatusView>(dir, 'status')).toMatchObject({ running: true })
    const titles = (await cli.json<NarrativeView[]>(dir, 'narratives')).map((n) => n.title)
    expect(titles).toEqual(['Before the crash', 'After the crash'])
    expect(await again.stop()).toEqual({ code: 0, signal: null })
  })
})

describe('the control API', () => {
  it('refuses requests without the token, with a wrong token, or with a foreign Host', async () => {
    const { dir, control } = await memberWithNode()
    await cli.json(dir, 'narrate', '--title', 'Secret title', '--body', 'secret body')
    const { port, token } = control
    const rpc = (headers: Record<string, string>, path = '/v1/rpc/narratives') =>
      http(port, { path, headers, body: '[{}]' })
    const wrong = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`

    const refusals: [string, HttpReply][] = [
      ['no token', await rpc({})],
      ['wrong token', await rpc({ authorization: `Bearer ${wrong}` })],
      ['longer token', await rpc({ authorization: `Bearer ${token}x` })],
      ['empty bearer', await rpc({ authorization: 'Bearer ' })],
      ['basic auth', await rpc({ authorization: `Basic ${token}` })],
      ['wrong ?token=', await rpc({}, `/v1/rpc/narratives?token=${wrong}`)],
      ['events without token', await http(port, { method: 'GET', path: '/v1/events' })],
    ]
    for (const [what, reply] of refusals) {
      expect(reply.status, what).toBe(401)
      expect(JSON.parse(reply.body), what).toEqual({
        error: { code: 'UNAUTHORIZED', message: expect.any(String) },
      })
      expect(reply.body, what).not.toMatch(/Secret|narrative_/)
    }

    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`]) {
      const reply = await rpc({ host, authorization: `Bearer ${token}` })
      expect(reply.status, host).toBe(421)
      expect(reply.body, host).not.toMatch(/Secret|narrative_/)
      expect(JSON.parse(reply.body).error.code).toBe('BAD_HOST')
    }

    const ok = await rpc({ authorization: `Bearer ${token}` })
    expect(ok.status).toBe(200)
    expect((JSON.parse(ok.body) as NarrativeView[]).map((n) => n.title)).toEqual(['Secret title'])
    const viaLocalhost = await rpc({ host: `localhost:${port}`, authorization: `Bearer ${token}` })
    expect(viaLocalhost.status).toBe(200)

    const auth = { authorization: `Bearer ${token}` }
    expect((await rpc(auth, '/v1/rpc/close')).status).toBe(404)
    expect((await http(port, { path: '/v1/rpc/status', headers: auth, body: '{}' })).status).toBe(
      400,
    )
    expect((await http(port, { path: '/v1/rpc/status', headers: auth, body: '[' })).status).toBe(
      400,
    )
  })

  it('streams a live event with the Yjs update when a narrative is written, and its erasure', async () => {
    const { dir, control } = await memberWithNode()
    const refused = await subscribe(control.port, 'wrong')
    expect(refused.status).toBe(401)
    refused.close()

    const stream = await subscribe(control.port, control.token)
    expect(stream.status).toBe(200)
    expect(stream.headers['content-type']).toBe('text/event-stream')
    try {
      const { narrativeId } = await cli.json<{ narrativeId: string }>(
        dir,
        'narrate',
        '--title',
        'Heard live',
        '--body',
        'over server-sent events',
      )
      const event = await stream.next(
        (e) => e.docId === narrativeId && e.update !== undefined,
        'an event carrying the narrative update',
      )
      expect(event).toMatchObject({ kind: 'narrative', origin: 'local' })
      const doc = new Y.Doc()
      Y.applyUpdate(doc, Buffer.from(event.update!, 'base64'))
      const content = readNarrative(doc, narrativeId)
      expect(content.ok && content.value).toMatchObject({
        title: 'Heard live',
        body: 'over server-sent events',
      })

      await cli.json(dir, 'withdraw', narrativeId)
      const erased = await stream.next(
        (e) => e.docId === narrativeId && e.erased === true,
        'the erasure event',
      )
      expect(erased.update).toBeUndefined()
    } finally {
      stream.close()
    }
  })
})
