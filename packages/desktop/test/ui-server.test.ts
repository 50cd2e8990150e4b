import { afterEach, describe, expect, it } from 'vitest'
import {
  newMember,
  type Running,
  startNode,
  startUi,
  TempDirs,
  tapestry,
  type UiReady,
} from './helpers/cli.js'
import { rawGet, waitForEvent } from './helpers/http.js'

/**
 * `tapestry ui` as a server, without a browser: the token, Host and Origin checks, the
 * remembered port, attaching to a running node or running one.
 */
const dirs = new TempDirs()
const running: Running<unknown>[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
  await dirs.cleanup()
})
async function ui(dataDir: string, args: string[] = []): Promise<Running<UiReady>> {
  const r = await startUi(dataDir, args)
  running.push(r)
  return r
}

const parts = (ready: UiReady) => {
  const url = new URL(ready.url)
  return { port: Number(url.port), token: url.searchParams.get('token')! }
}

describe('tapestry ui', () => {
  it('prints a ready line with the page address and its token, and serves the page only with it', async () => {
    const ada = await newMember(dirs, 'Ada')
    const { ready } = await ui(ada.dataDir, ['--port', '0'])
    expect(ready).toMatchObject({ event: 'ready', mode: 'own', memberId: ada.memberId })
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43}$/)
    const { port, token } = parts(ready)
    const host = { host: `127.0.0.1:${port}` }

    // No token, a wrong one, or one of the same length that differs: refused everywhere.
    for (const path of [
      '/',
      '/index.html',
      '/api/snapshot',
      '/api/events',
      '/sw.js',
      '/assets/x.js',
    ]) {
      expect((await rawGet(port, path, host)).status, path).toBe(401)
      expect((await rawGet(port, `${path}?token=wrong`, host)).status, path).toBe(401)
      expect(
        (await rawGet(port, `${path}?token=${'x'.repeat(token.length)}`, host)).status,
        path,
      ).toBe(401)
    }
    const rpc = await fetch(`http://127.0.0.1:${port}/api/rpc/status`, {
      method: 'POST',
      body: '[]',
    })
    expect(rpc.status).toBe(401)

    // With the token: the page, whose own files carry the token too, under a strict CSP.
    const page = await rawGet(port, `/?token=${token}`, host)
    expect(page.status).toBe(200)
    expect(page.headers['content-security-policy']).toContain("default-src 'self'")
    expect(page.headers['referrer-policy']).toBe('no-referrer')
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!)
    expect(assets.length).toBeGreaterThanOrEqual(2)
    for (const a of assets) {
      expect(a).toContain(`token=${token}`)
      expect((await rawGet(port, a.replace(/^\./, ''), host)).status, a).toBe(200)
    }
    const snap = await rawGet(port, `/api/snapshot?token=${token}`, host)
    expect(snap.status).toBe(200)
    expect(JSON.parse(snap.body)).toMatchObject({
      memberId: ada.memberId,
      name: 'Ada',
      mode: 'own',
      items: [],
    })
  })

  it('refuses other Hosts and other sites (Origin, Sec-Fetch-Site), even with the token', async () => {
    const ada = await newMember(dirs, 'Ada')
    const { ready } = await ui(ada.dataDir, ['--port', '0'])
    const { port, token } = parts(ready)
    const ok = { host: `127.0.0.1:${port}` }
    expect(
      (await rawGet(port, `/api/snapshot?token=${token}`, { host: 'evil.example' })).status,
    ).toBe(421)
    expect(
      (await rawGet(port, `/api/snapshot?token=${token}`, { host: `127.0.0.1:${port + 1}` }))
        .status,
    ).toBe(421)
    for (const origin of ['http://evil.example', `http://127.0.0.1:${port + 1}`, 'null']) {
      const r = await rawGet(port, `/api/snapshot?token=${token}`, { ...ok, origin })
      expect(r.status, origin).toBe(403)
      expect(JSON.parse(r.body).error.code).toBe('BAD_ORIGIN')
    }
    expect(
      (await rawGet(port, `/?token=${token}`, { ...ok, 'sec-fetch-site': 'cross-site' })).status,
    ).toBe(403)
    const rpc = await fetch(`http://127.0.0.1:${port}/api/rpc/status`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, origin: 'http://evil.example' },
      body: '[]',
    })
    expect(rpc.status).toBe(403)
    // Same origin, localhost spelling: accepted.
    const same = await rawGet(port, `/api/snapshot?token=${token}`, {
      host: `localhost:${port}`,
      origin: `http://localhost:${port}`,
    })
    expect(same.status).toBe(200)
  })

  it('offers the node’s methods to the page, but not the tribe’s raw key', async () => {
    const ada = await newMember(dirs, 'Ada')
    const { ready } = await ui(ada.dataDir, ['--port', '0'])
    const { port, token } = parts(ready)
    const call = (method: string, args: unknown[]) =>
      fetch(`http://127.0.0.1:${port}/api/rpc/${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify(args),
      })
    const narrated = await call('narrate', [{ title: 'Over HTTP', body: 'b', tags: ['t'] }])
    expect(narrated.status).toBe(200)
    const key = await call('tribeKey', [{}])
    expect(key.status).toBe(404)
    expect(JSON.stringify(await key.json())).not.toContain('/key/swarm/psk')
    const bad = await call('show', [{ not: 'an id' }])
    expect(bad.status).toBe(400)
    expect((await bad.json()).error.code).toBe('USAGE')
  })

  it('keeps its port and token across runs, and the CLI keeps working while it runs the node', async () => {
    const ada = await newMember(dirs, 'Ada')
    const first = await ui(ada.dataDir)
    // While `tapestry ui` holds the store, commands go through its control API.
    await tapestry(ada.dataDir, ['narrate', '--title', 'Through the UI’s node', '--body', 'b'])
    const listed = await tapestry<{ title: string }[]>(ada.dataDir, ['narratives'])
    expect(listed.map((n) => n.title)).toEqual(['Through the UI’s node'])
    await first.stop()
    running.splice(running.indexOf(first), 1)

    const second = await ui(ada.dataDir)
    expect(parts(second.ready)).toEqual(parts(first.ready))
  })

  it('attaches to a running node, follows it live, and says when it is gone', async () => {
    const ada = await newMember(dirs, 'Ada')
    const node = await startNode(ada.dataDir)
    running.push(node)
    const { ready } = await ui(ada.dataDir, ['--port', '0'])
    expect(ready.mode).toBe('attached')
    const { port, token } = parts(ready)
    const base = `http://127.0.0.1:${port}`
    const auth = { authorization: `Bearer ${token}` }

    const seen = waitForEvent<{ type: string; item?: { title: string } }>(
      `${base}/api/events`,
      auth,
      (e) => e.type === 'upsert' && e.item?.title === 'Live from the CLI',
    )
    await tapestry(ada.dataDir, [
      'narrate',
      '--title',
      'Live from the CLI',
      '--body',
      'b',
      '--mood',
      'hopeful',
    ])
    expect((await seen).item).toMatchObject({ title: 'Live from the CLI', echoes: [] })

    const offline = waitForEvent<{ type: string; online?: boolean }>(
      `${base}/api/events`,
      auth,
      (e) => e.type === 'status' && e.online === false,
    )
    await node.stop()
    await offline
    const snap = await fetch(`${base}/api/snapshot`, { headers: auth })
    expect(snap.status).toBe(503)
    expect((await snap.json()).error.code).toBe('NODE_UNREACHABLE')
  })

  it('says what to do when the member has no identity yet', async () => {
    const empty = await dirs.make()
    await expect(startUi(empty)).rejects.toThrow(/init|identity/i)
  })
})
