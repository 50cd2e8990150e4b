// Tapestry page's service worker: keeps the page's own files (never the API) so that
// the page opens when `tapestry ui` is not running; IndexedDB holds what it showed.
// Network first: a running `tapestry ui` always serves the current build.
const CACHE = 'tapestry-shell-v1'
const search = self.location.search

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE)
      const page = new Request(`./${search}`)
      const res = await fetch(page)
      if (!res.ok) return
      const html = await res.clone().text()
      await cache.put(page, res)
      const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) =>
        m[1].replace(/&amp;/g, '&'),
      )
      await Promise.all(
        urls.map(async (u) => {
          const r = await fetch(u).catch(() => undefined)
          if (r?.ok) await cache.put(u, r)
        }),
      )
      await self.skipWaiting()
    })(),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key)
      await self.clients.claim()
    })(),
  )
})

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url)
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return
  if (url.pathname.startsWith('/api/')) return
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE)
      try {
        const res = await fetch(event.request)
        if (res.ok) await cache.put(event.request, res.clone())
        return res
      } catch (err) {
        const hit = await cache.match(event.request)
        if (hit) return hit
        throw err
      }
    })(),
  )
})
