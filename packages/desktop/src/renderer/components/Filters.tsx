import type { WeaveItem } from '../../shared/wire.js'
import { audienceLabel, MOOD_COLOURS, moodColour, nameOf } from '../format.js'

export interface FilterState {
  author: string
  tag: string
  mood: string
  audience: string
  text: string
}

export const NO_FILTER: FilterState = { author: '', tag: '', mood: '', audience: '', text: '' }

export function applyFilters(items: WeaveItem[], f: FilterState): WeaveItem[] {
  if (!f.author && !f.tag && !f.mood && !f.audience && !f.text) return items
  const text = f.text.trim().toLowerCase()
  return items.filter(
    (it) =>
      (!f.author || it.authors.includes(f.author)) &&
      (!f.tag || it.tags.includes(f.tag)) &&
      (!f.mood || (it.mood ?? '') === f.mood) &&
      (!f.audience || audienceKind(it.audience) === f.audience) &&
      (!text || it.title.toLowerCase().includes(text) || it.tags.some((t) => t.includes(text))),
  )
}

function audienceKind(a: string): string {
  return a.startsWith('circle') ? 'circle' : a
}

interface Props {
  items: WeaveItem[]
  names: Record<string, string>
  value: FilterState
  onChange: (f: FilterState) => void
}

/** Filters by author, tag, mood and audience, with the values the tapestry holds. */
export function Filters({ items, names, value, onChange }: Props) {
  const authors = new Set<string>()
  const tags = new Set<string>()
  const moods = new Set<string>()
  const audiences = new Set<string>()
  for (const it of items) {
    for (const a of it.authors) authors.add(a)
    for (const t of it.tags) tags.add(t)
    if (it.mood) moods.add(it.mood)
    audiences.add(audienceKind(it.audience))
  }
  const set = (k: keyof FilterState) => (e: Event) =>
    onChange({ ...value, [k]: (e.currentTarget as HTMLInputElement | HTMLSelectElement).value })
  const active = Object.values(value).some(Boolean)
  const sorted = (s: Set<string>, key = (x: string) => x) =>
    [...s].sort((a, b) => key(a).localeCompare(key(b)))

  return (
    <form class="filters" aria-label="Filter the tapestry" onSubmit={(e) => e.preventDefault()}>
      <label>
        <span>Search</span>
        <input type="search" value={value.text} onInput={set('text')} placeholder="Title or tag" />
      </label>
      <label>
        <span>Author</span>
        <select value={value.author} onChange={set('author')}>
          <option value="">Everyone</option>
          {sorted(authors, (a) => nameOf(names, a)).map((a) => (
            <option key={a} value={a}>
              {nameOf(names, a)}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>Tag</span>
        <select value={value.tag} onChange={set('tag')}>
          <option value="">Any tag</option>
          {sorted(tags).map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>Mood</span>
        <select value={value.mood} onChange={set('mood')}>
          <option value="">Any mood</option>
          {sorted(moods).map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>Audience</span>
        <select value={value.audience} onChange={set('audience')}>
          <option value="">Any audience</option>
          {sorted(audiences).map((a) => (
            <option key={a} value={a}>
              {audienceLabel(a, names)}
            </option>
          ))}
        </select>
      </label>
      {active && (
        <button type="button" class="link" onClick={() => onChange(NO_FILTER)}>
          Clear filters
        </button>
      )}
    </form>
  )
}

/** The moods on screen, with their colours (colour is never the only cue: names are). */
export function Legend({ items }: { items: WeaveItem[] }) {
  const present = new Set(items.map((i) => i.mood ?? ''))
  const moods = [
    ...Object.keys(MOOD_COLOURS).filter((m) => present.has(m)),
    ...[...present].filter((m) => m && !MOOD_COLOURS[m]).sort(),
  ]
  if (present.has('')) moods.push('')
  if (moods.length === 0) return null
  return (
    <ul class="legend" aria-label="Moods">
      {moods.map((m) => {
        const c = moodColour(m || null)
        return (
          <li key={m || '-'}>
            <svg width="12" height="12" aria-hidden="true">
              <circle cx="6" cy="6" r="5" fill={c.fill} stroke={c.edge} />
            </svg>
            {m || 'no mood'}
          </li>
        )
      })}
      <li class="legend-knot">
        <svg width="26" height="12" aria-hidden="true">
          <path d="M1 2 C10 2 10 10 19 10" fill="none" stroke="#5d636d" />
          <circle cx="20" cy="10" r="3.5" fill="#fff" stroke="#5d636d" />
        </svg>
        an echo
      </li>
    </ul>
  )
}
