/**
 * The Tapestry renderer: the same page in Electron (bridge from the preload) and in a
 * browser served by `tapestry ui` (bridge over HTTP with the page's token).
 */
import { render } from 'preact'
import type { TapestryBridge } from '../shared/bridge.js'
import { PageCache } from './cache.js'
import { App } from './components/App.js'
import { httpBridge } from './http-bridge.js'
import { TapestryStore } from './store.js'
import './styles.css'

declare global {
  interface Window {
    /** Set by the Electron preload; absent in a browser. */
    tapestry?: TapestryBridge
  }
}

function pickBridge(): TapestryBridge {
  if (window.tapestry) return window.tapestry
  const token = new URLSearchParams(location.search).get('token') ?? ''
  return httpBridge(token)
}

const cache = new PageCache()
const store = new TapestryStore(pickBridge(), cache)
render(<App store={store} cache={cache} />, document.getElementById('app')!)
void store.start()

// A browser page keeps working when `tapestry ui` is gone: the service worker serves the
// page's own files from its cache, and IndexedDB holds what the page showed.
if (!window.tapestry && 'serviceWorker' in navigator && location.protocol === 'http:') {
  navigator.serviceWorker.register(`sw.js${location.search}`, { scope: './' }).catch(() => {})
}
