import { extname, join, normalize, sep } from 'node:path'

/** The app's own origin in Electron: a privileged standard scheme, one stable origin for IndexedDB. */
export const APP_SCHEME = 'tapestry'
export const APP_ORIGIN = `${APP_SCHEME}://app`
export const APP_ENTRY = `${APP_ORIGIN}/index.html`

/** Content-Security-Policy of every page the window loads: nothing from elsewhere. */
export const RENDERER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/** BrowserWindow options: isolated, sandboxed, no Node in the page. */
export function windowOptions(preloadPath: string) {
  return {
    width: 1280,
    height: 820,
    minWidth: 720,
    minHeight: 480,
    title: 'Tapestry',
    backgroundColor: '#f7f4ee',
    show: false,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      sandbox: true,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: true,
      navigateOnDragDrop: false,
    },
  } as const
}

/** Whether a URL is the app's own page (navigation and IPC are allowed only there). */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url)
    return u.protocol === `${APP_SCHEME}:` && u.host === 'app'
  } catch {
    return false
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
}

/**
 * The file in the built renderer a tapestry://app URL names, with its content type, or
 * undefined (other hosts, escapes out of the directory, the service worker: Electron
 * has its own files).
 */
export function rendererFile(
  url: string,
  rendererDir: string,
): { path: string; type: string } | undefined {
  if (!isAppUrl(url)) return undefined
  const pathname = decodeURIComponent(new URL(url).pathname)
  const rel = pathname === '/' || pathname === '' ? 'index.html' : pathname.replace(/^\/+/, '')
  if (rel === 'sw.js') return undefined
  const root = normalize(rendererDir)
  const path = normalize(join(root, rel))
  if (!path.startsWith(root + sep)) return undefined
  const type = TYPES[extname(path)]
  return type ? { path, type } : undefined
}
