/** Names, times and colours as people read them. */

/** Mood -> colour of a narrative's node (a darker edge keeps 3:1 against the page). */
export const MOOD_COLOURS: Record<string, { fill: string; edge: string }> = {
  joyful: { fill: '#f2b705', edge: '#8a6400' },
  tender: { fill: '#e07aa5', edge: '#9c3567' },
  grieving: { fill: '#5d6f96', edge: '#34415e' },
  hopeful: { fill: '#3fa34d', edge: '#22652c' },
  angry: { fill: '#d64533', edge: '#8c2013' },
  reflective: { fill: '#4c7fd1', edge: '#23508f' },
  playful: { fill: '#a066e3', edge: '#6330a0' },
  solemn: { fill: '#7a6352', edge: '#4a3a2e' },
}
const OTHER_COLOURS = [
  { fill: '#1c9c9c', edge: '#0c5e5e' },
  { fill: '#e07b28', edge: '#8f4608' },
  { fill: '#7d8f2a', edge: '#4b5712' },
]
const NO_MOOD = { fill: '#9aa0aa', edge: '#5d636d' }

export function moodColour(mood: string | null): { fill: string; edge: string } {
  if (!mood) return NO_MOOD
  const known = MOOD_COLOURS[mood.toLowerCase()]
  if (known) return known
  let h = 0
  for (const c of mood) h = (h * 31 + c.charCodeAt(0)) >>> 0
  return OTHER_COLOURS[h % OTHER_COLOURS.length]!
}

/** A member's name, or a short form of their id when the roster is not known. */
export function nameOf(names: Record<string, string>, memberId: string): string {
  return names[memberId] || shortId(memberId)
}

export function shortId(id: string): string {
  return id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const dayOnly = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' })
const dayYear = new Intl.DateTimeFormat(undefined, {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
})

export function when(t: number): string {
  return dateTime.format(t)
}

/** A tick on the weave's time axis: hours within a day or two, else days. */
export function tickLabel(t: number, span: number): string {
  if (span < 36 * 3_600_000) return timeOnly.format(t)
  if (span < 300 * 86_400_000) return dayOnly.format(t)
  return dayYear.format(t)
}

export function ago(t: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - t) / 1000))
  if (s < 60) return 'just now'
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`
  return when(t)
}

/** `circle:a,b` as names; other audiences as words. */
export function audienceLabel(audience: string, names: Record<string, string>): string {
  if (audience.startsWith('circle:')) {
    const ids = audience.slice(7).split(',').filter(Boolean)
    return ids.length ? `circle: ${ids.map((m) => nameOf(names, m)).join(', ')}` : 'circle (nobody)'
  }
  return audience
}

export const AUDIENCE_HELP: Record<string, string> = {
  private: 'only your own devices',
  circle: 'the members you name',
  tribe: 'everyone in the tribe',
  federated: 'the tribe and the tribes it federates with',
}

/**
 * Where a narrative comes from when it is not from one of the member's tribes (it came
 * over a federation link): the partner tribe's name; null for the member's own.
 */
export function originOf(
  tribeId: string,
  own: readonly { tribeId: string }[],
  partners: Record<string, string>,
): string | null {
  // Before the member's tribes are known, nothing can be told apart.
  if (own.length === 0 || own.some((t) => t.tribeId === tribeId)) return null
  return partners[tribeId] ?? 'another tribe'
}
