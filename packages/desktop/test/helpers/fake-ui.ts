import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { UiSnapshot, WeaveItem } from '../../src/shared/wire.js'

const RENDERER = fileURLToPath(new URL('../../dist/renderer/', import.meta.url))
const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
}

/**
 * A stand-in for `tapestry ui` that serves the built renderer and a fixed snapshot: for
 * measuring the page with a tapestry no test node could write in time (5,000 narratives).
 */
export async function fakeUi(
  snapshot: UiSnapshot,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/api/snapshot') {
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end(JSON.stringify(snapshot))
    }
    if (url.pathname === '/api/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      return res.write(`data: ${JSON.stringify({ type: 'hello', online: true })}\n\n`)
    }
    if (url.pathname.startsWith('/api/')) {
      res.writeHead(501, { 'content-type': 'application/json' })
      return res.end(JSON.stringify({ error: { code: 'NOT_AVAILABLE', message: 'fake' } }))
    }
    const file = normalize(join(RENDERER, url.pathname === '/' ? 'index.html' : url.pathname))
    try {
      const data = await readFile(file)
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
      res.end(data)
    } catch {
      res.writeHead(404)
      res.end()
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/?token=fake`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** `n` narratives by `members` members over ~`days` days, some with echoes (seeded). */
export function syntheticTapestry(n: number, members = 12, days = 400): UiSnapshot {
  let seed = 42
  const rnd = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
    return seed / 2_147_483_648
  }
  const ids = Array.from(
    { length: members },
    (_, i) => `12D3KooWmember${String(i).padStart(4, '0')}xxxxxxxxxxxxxxxxxxxxxxxx`,
  )
  const names = Object.fromEntries(
    ids.map((id, i) => [
      id,
      ['Ada', 'Bo', 'Cy', 'Dara', 'Eli', 'Fen', 'Gus', 'Hana', 'Ivo', 'Jun', 'Kai', 'Lio'][i % 12]!,
    ]),
  )
  const moods = [
    'joyful',
    'tender',
    'grieving',
    'hopeful',
    'angry',
    'reflective',
    'playful',
    'solemn',
    null,
  ]
  const words = [
    'river',
    'flood',
    'harvest',
    'bridge',
    'winter',
    'salt',
    'song',
    'boats',
    'names',
    'fire',
    'moon',
    'market',
  ]
  const start = Date.UTC(2025, 0, 1)
  let t = start
  const items: WeaveItem[] = []
  for (let i = 0; i < n; i++) {
    t += Math.floor(rnd() * ((days * 86_400_000 * 2) / n))
    const author = ids[Math.floor(rnd() * members)]!
    const echoes = Array.from({ length: rnd() < 0.3 ? 1 + Math.floor(rnd() * 3) : 0 }, (_, k) => ({
      id: `echo_${i}_${k}`,
      author: ids[Math.floor(rnd() * members)]!,
      at: t + Math.floor(rnd() * 3 * 86_400_000),
    }))
    const w = () => words[Math.floor(rnd() * words.length)]!
    items.push({
      id: `narrative_${String(i).padStart(5, '0')}`,
      tribeId: 'roster_fake',
      title: `The ${w()} and the ${w()} (#${i})`,
      authors: rnd() < 0.05 ? [author, ids[(ids.indexOf(author) + 1) % members]!] : [author],
      audience: rnd() < 0.8 ? 'tribe' : 'private',
      tags: [w(), w()].filter((x, k, a) => a.indexOf(x) === k),
      mood: moods[Math.floor(rnd() * moods.length)]!,
      createdAt: t,
      excerpt: 'A story.',
      echoes,
    })
  }
  return {
    memberId: ids[0]!,
    name: 'Ada',
    mode: 'attached',
    tribes: [{ tribeId: 'roster_fake', name: 'River Folk', role: 'steward', members }],
    names,
    items,
    peers: 3,
    methods: [],
    at: Date.now(),
  }
}
