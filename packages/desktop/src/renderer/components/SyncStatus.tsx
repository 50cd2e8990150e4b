import { ago } from '../format.js'
import type { AppState } from '../store.js'

/** Always visible: is the node there, how many peers, what waits to be sent. */
export function SyncStatus({ s }: { s: AppState }) {
  let state: 'live' | 'offline' | 'connecting'
  let text: string
  if (s.link === 'down') {
    state = 'offline'
    text = 'Offline: tapestry ui is not answering'
  } else if (s.nodeOnline === false) {
    state = 'offline'
    text = 'Offline: your node is not running'
  } else if (s.nodeOnline === null || s.link === 'connecting') {
    state = 'connecting'
    text = 'Connecting to your node…'
  } else {
    state = 'live'
    text = s.mode === 'own' ? 'Live (this window runs your node)' : 'Live'
  }
  const peers = s.peers === null ? null : `${s.peers} peer${s.peers === 1 ? '' : 's'}`
  return (
    <div class={`sync ${state}`} role="status" aria-live="polite" data-state={state}>
      <span class="sync-dot" aria-hidden="true" />
      <span class="sync-text">{text}</span>
      {state === 'live' && peers && <span class="sync-extra">· {peers}</span>}
      {s.outbox.length > 0 && (
        <span class="sync-extra pending">· {s.outbox.length} waiting to be sent</span>
      )}
      {state !== 'live' && s.savedAt && (
        <span class="sync-extra" title="What this page saw last, kept in this browser">
          · cached {ago(s.savedAt)}
        </span>
      )}
    </div>
  )
}
