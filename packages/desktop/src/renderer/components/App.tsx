import { useEffect, useMemo, useState } from 'preact/hooks'
import type { WeaveItem } from '../../shared/wire.js'
import type { PageCache } from '../cache.js'
import { originOf } from '../format.js'
import { useAppState } from '../hooks.js'
import type { AppState, TapestryStore } from '../store.js'
import { Composer } from './Composer.js'
import { ConsentView } from './ConsentView.js'
import { applyFilters, Filters, Legend, NO_FILTER } from './Filters.js'
import { LinksView } from './LinksView.js'
import { ListView } from './ListView.js'
import { MembersView } from './MembersView.js'
import { Reader } from './Reader.js'
import { SyncStatus } from './SyncStatus.js'
import { Weave } from './Weave.js'

type View = 'tapestry' | 'consent' | 'members' | 'links'
const VIEWS: { id: View; label: string }[] = [
  { id: 'tapestry', label: 'Tapestry' },
  { id: 'consent', label: 'Consent' },
  { id: 'members', label: 'Members & peers' },
  { id: 'links', label: 'Links' },
]

const all = (s: AppState) => s

export function App({ store, cache }: { store: TapestryStore; cache: PageCache }) {
  const s = useAppState(store, all)
  const [view, setView] = useState<View>(() => viewFromHash())
  const [layout, setLayout] = useState<'weave' | 'list'>('weave')
  const [filters, setFilters] = useState(NO_FILTER)
  const [selected, setSelected] = useState<string | null>(null)
  const [composing, setComposing] = useState(false)

  useEffect(() => {
    const onHash = () => setView(viewFromHash())
    addEventListener('hashchange', onHash)
    return () => removeEventListener('hashchange', onHash)
  }, [])
  const go = (v: View) => {
    history.replaceState(null, '', `${location.pathname}${location.search}#${v}`)
    setView(v)
  }

  const shown = useMemo(() => applyFilters(s.items, filters), [s.items, filters])
  const selectedItem = selected ? s.items.find((i) => i.id === selected) : undefined
  const origin = useMemo(
    () => (item: WeaveItem) => originOf(item.tribeId, s.tribes, s.partners),
    [s.tribes, s.partners],
  )
  const online = s.link === 'up' && s.nodeOnline === true
  const tribeName =
    s.tribes.length === 1
      ? s.tribes[0]!.name
      : s.tribes.length > 1
        ? `${s.tribes.length} tribes`
        : ''

  useEffect(() => {
    if (s.notice?.kind !== 'info') return
    const t = setTimeout(() => store.dismiss(), 5000)
    return () => clearTimeout(t)
  }, [s.notice, store])

  return (
    <div class="app">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <div class="brand">
          <svg width="28" height="28" viewBox="0 0 28 28" aria-hidden="true">
            <path d="M2 8 C9 8 9 20 16 20 S23 8 26 8" class="b1" />
            <path d="M2 20 C9 20 9 8 16 8 S23 20 26 20" class="b2" />
            <circle cx="9.3" cy="14" r="2.6" class="b3" />
            <circle cx="19.5" cy="14" r="2.6" class="b4" />
          </svg>
          <div>
            <h1>Tapestry</h1>
            {tribeName && (
              <p class="tribe">
                {tribeName}
                {s.name ? ` · ${s.name}` : ''}
              </p>
            )}
          </div>
        </div>
        <nav aria-label="Views">
          <ul>
            {VIEWS.map((v) => (
              <li key={v.id}>
                <a
                  href={`#${v.id}`}
                  aria-current={view === v.id ? 'page' : undefined}
                  onClick={(e) => {
                    e.preventDefault()
                    go(v.id)
                  }}
                >
                  {v.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <SyncStatus s={s} />
        <button
          type="button"
          class="primary"
          onClick={() => setComposing(true)}
          disabled={s.tribes.length === 0 && s.link === 'up'}
        >
          New narrative
        </button>
      </header>
      {s.notice && (
        <div
          class={`notice ${s.notice.kind}`}
          role={s.notice.kind === 'error' ? 'alert' : 'status'}
        >
          <p>
            {s.notice.text}
            {s.notice.hint && <span class="hint"> {s.notice.hint}</span>}
          </p>
          <button type="button" class="icon" onClick={() => store.dismiss()} aria-label="Dismiss">
            ×
          </button>
        </div>
      )}
      <main id="main" tabIndex={-1}>
        {view === 'tapestry' && (
          <div class={selectedItem ? 'tapestry with-reader' : 'tapestry'}>
            <div class="tapestry-main">
              <div class="toolbar">
                <Filters items={s.items} names={s.names} value={filters} onChange={setFilters} />
                <fieldset class="segmented" aria-label="Show as">
                  <button
                    type="button"
                    aria-pressed={layout === 'weave'}
                    onClick={() => setLayout('weave')}
                  >
                    Weave
                  </button>
                  <button
                    type="button"
                    aria-pressed={layout === 'list'}
                    onClick={() => setLayout('list')}
                  >
                    List
                  </button>
                </fieldset>
              </div>
              <Legend items={shown} />
              {s.items.length === 0 ? (
                <Empty s={s} onWrite={() => setComposing(true)} />
              ) : shown.length === 0 ? (
                <p class="empty">No narrative matches these filters.</p>
              ) : layout === 'weave' ? (
                <Weave
                  items={shown}
                  names={s.names}
                  memberId={s.memberId}
                  selected={selected}
                  onOpen={setSelected}
                  origin={origin}
                />
              ) : (
                <ListView
                  items={shown}
                  names={s.names}
                  selected={selected}
                  onOpen={setSelected}
                  origin={origin}
                />
              )}
            </div>
            {selectedItem && (
              <Reader
                store={store}
                cache={cache}
                item={selectedItem}
                names={s.names}
                memberId={s.memberId}
                online={online}
                origin={origin(selectedItem)}
                onClose={() => setSelected(null)}
              />
            )}
          </div>
        )}
        {view === 'consent' && (
          <ConsentView store={store} names={s.names} tribes={s.tribes} generation={s.generation} />
        )}
        {view === 'members' && (
          <MembersView
            store={store}
            memberId={s.memberId}
            names={s.names}
            tribes={s.tribes}
            generation={s.generation}
          />
        )}
        {view === 'links' && (
          <LinksView store={store} names={s.names} tribes={s.tribes} generation={s.generation} />
        )}
      </main>
      <Composer
        store={store}
        open={composing}
        onClose={() => setComposing(false)}
        tribes={s.tribes}
        names={s.names}
        memberId={s.memberId}
      />
    </div>
  )
}

function Empty({ s, onWrite }: { s: AppState; onWrite: () => void }) {
  if (s.memberId === null) {
    return (
      <p class="empty">
        {s.link === 'down'
          ? 'Nothing cached on this page yet, and tapestry ui does not answer.'
          : 'Loading the tapestry…'}
      </p>
    )
  }
  if (s.tribes.length === 0) {
    return (
      <div class="empty">
        <h2>No tribe yet</h2>
        <p>
          Create one with <code>tapestry tribe create NAME</code>, or join one from Members &amp;
          peers.
        </p>
      </div>
    )
  }
  return (
    <div class="empty">
      <h2>No narrative yet</h2>
      <p>Stories your tribe shares appear here, woven by time and teller.</p>
      <button type="button" class="primary" onClick={onWrite}>
        Write the first one
      </button>
    </div>
  )
}

function viewFromHash(): View {
  const h = location.hash.slice(1)
  return VIEWS.find((v) => v.id === h)?.id ?? 'tapestry'
}
