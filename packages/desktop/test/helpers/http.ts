import { request } from 'node:http'

/** A raw HTTP GET with exactly these headers (fetch may not set Host or Origin freely). */
export function rawGet(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => {
        body += d
        // Event streams never end: the first chunk is enough.
        if (res.headers['content-type']?.startsWith('text/event-stream')) res.destroy()
      })
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
      res.on('end', done)
      res.on('close', done)
    })
    req.on('error', reject)
    req.end()
  })
}

/** Reads a Server-Sent Events stream until `pred` holds for an event, or `ms` pass. */
export async function waitForEvent<T>(
  url: string,
  headers: Record<string, string>,
  pred: (e: T) => boolean,
  ms = 20_000,
): Promise<T> {
  const stop = new AbortController()
  const timer = setTimeout(() => stop.abort(), ms)
  try {
    const res = await fetch(url, { headers, signal: stop.signal })
    const decoder = new TextDecoder()
    let buf = ''
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true })
      let end = buf.indexOf('\n\n')
      while (end >= 0) {
        const block = buf.slice(0, end)
        buf = buf.slice(end + 2)
        end = buf.indexOf('\n\n')
        if (!block.startsWith('data: ')) continue
        const e = JSON.parse(block.slice(6)) as T
        if (pred(e)) return e
      }
    }
    throw new Error('the event stream ended before the expected event')
  } catch (err) {
    if (stop.signal.aborted) throw new Error(`no expected event within ${ms} ms`)
    throw err
  } finally {
    clearTimeout(timer)
    stop.abort()
  }
}
