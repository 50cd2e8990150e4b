import { useState } from 'preact/hooks'
import type { WeaveItem } from '../../shared/wire.js'
import { audienceLabel, moodColour, nameOf, when } from '../format.js'

const PAGE = 200

/** The same narratives as a plain list, newest first: the weave's text alternative. */
export function ListView({
  items,
  names,
  selected,
  onOpen,
  origin,
}: {
  items: WeaveItem[]
  names: Record<string, string>
  selected: string | null
  onOpen: (id: string) => void
  origin: (item: WeaveItem) => string | null
}) {
  const [shown, setShown] = useState(PAGE)
  const newest = items.slice(-shown).reverse()
  return (
    <div class="list-view">
      <ol>
        {newest.map((it) => {
          const c = moodColour(it.mood)
          const from = origin(it)
          return (
            <li key={it.id}>
              <button
                type="button"
                class={it.id === selected ? 'list-item selected' : 'list-item'}
                onClick={() => onOpen(it.id)}
              >
                <svg width="14" height="14" aria-hidden="true">
                  <circle cx="7" cy="7" r="6" fill={c.fill} stroke={c.edge} />
                </svg>
                <span class="list-title">{it.title || '(untitled)'}</span>
                <span class="list-meta">
                  {it.authors.map((a) => nameOf(names, a)).join(', ')}
                  {from ? ` from ${from}` : ''} · {when(it.createdAt)} ·{' '}
                  {audienceLabel(it.audience, names)}
                  {it.mood ? ` · ${it.mood}` : ''}
                  {it.echoes.length
                    ? ` · ${it.echoes.length} echo${it.echoes.length > 1 ? 'es' : ''}`
                    : ''}
                </span>
              </button>
            </li>
          )
        })}
      </ol>
      {items.length > shown && (
        <button type="button" class="secondary" onClick={() => setShown(shown + PAGE)}>
          Show older narratives
        </button>
      )}
    </div>
  )
}
