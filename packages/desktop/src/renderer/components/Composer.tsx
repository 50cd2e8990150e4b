import { useEffect, useRef, useState } from 'preact/hooks'
import { AUDIENCE_HELP, MOOD_COLOURS, nameOf } from '../format.js'
import type { TapestryStore } from '../store.js'

interface Props {
  store: TapestryStore
  open: boolean
  onClose: () => void
  tribes: { tribeId: string; name: string }[]
  names: Record<string, string>
  memberId: string | null
}

/** The "new narrative" form, in a modal dialog: title, body, audience, tags, mood. */
export function Composer({ store, open, onClose, tribes, names, memberId }: Props) {
  const dialog = useRef<HTMLDialogElement>(null)
  const [title, setTitle] = useState('')
  const [body, setBody] = useState('')
  const [audience, setAudience] = useState('tribe')
  const [circle, setCircle] = useState<string[]>([])
  const [tags, setTags] = useState('')
  const [mood, setMood] = useState('')
  const [tribeId, setTribeId] = useState('')
  const [busy, setBusy] = useState(false)
  const [problem, setProblem] = useState<string | null>(null)

  useEffect(() => {
    const d = dialog.current
    if (!d) return
    if (open && !d.open) d.showModal()
    if (!open && d.open) d.close()
  }, [open])

  const others = Object.keys(names).filter((m) => m !== memberId)

  const submit = async (e: Event) => {
    e.preventDefault()
    if (!title.trim() || !body.trim()) {
      setProblem('A narrative needs a title and a body.')
      return
    }
    if (audience === 'circle' && circle.length === 0) {
      setProblem('Name at least one member for a circle, or choose another audience.')
      return
    }
    setBusy(true)
    setProblem(null)
    const input = {
      title: title.trim(),
      body,
      audience: audience === 'circle' ? `circle:${circle.join(',')}` : audience,
      tags: tags
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
      mood: mood.trim() || undefined,
      tribeId: tribeId || undefined,
    }
    try {
      const now = await store.write('narrate', [input], input.title)
      store.inform(
        now
          ? `“${input.title}” is written and stored.`
          : `Your node is away: “${input.title}” waits on this page and is written when it answers.`,
      )
      setTitle('')
      setBody('')
      setTags('')
      setMood('')
      onClose()
    } catch (err) {
      const m = err as { message?: string; hint?: string }
      setProblem([m.message, m.hint].filter(Boolean).join(' — '))
    } finally {
      setBusy(false)
    }
  }

  return (
    <dialog ref={dialog} class="composer" aria-labelledby="composer-title" onClose={onClose}>
      <form onSubmit={submit}>
        <header>
          <h2 id="composer-title">New narrative</h2>
          <button
            type="button"
            class="icon close"
            onClick={onClose}
            aria-label="Close without writing"
          >
            ×
          </button>
        </header>
        <label>
          <span>Title</span>
          <input
            name="title"
            required
            maxLength={200}
            value={title}
            onInput={(e) => setTitle(e.currentTarget.value)}
          />
        </label>
        <label>
          <span>Story</span>
          <textarea
            name="body"
            required
            rows={8}
            value={body}
            onInput={(e) => setBody(e.currentTarget.value)}
          />
        </label>
        <div class="row">
          <label>
            <span>Tags</span>
            <input
              name="tags"
              value={tags}
              placeholder="river, flood"
              aria-describedby="tags-help"
              onInput={(e) => setTags(e.currentTarget.value)}
            />
            <small id="tags-help">Separate tags with commas.</small>
          </label>
          <label>
            <span>Mood</span>
            <input
              name="mood"
              list="moods"
              value={mood}
              onInput={(e) => setMood(e.currentTarget.value)}
            />
            <datalist id="moods">
              {Object.keys(MOOD_COLOURS).map((m) => (
                <option key={m} value={m} />
              ))}
            </datalist>
          </label>
        </div>
        <fieldset class="audience">
          <legend>Who may receive it</legend>
          {(['tribe', 'circle', 'private', 'federated'] as const).map((a) => (
            <label key={a} class="radio">
              <input
                type="radio"
                name="audience"
                value={a}
                checked={audience === a}
                onChange={() => setAudience(a)}
              />
              <span>
                <strong>{a}</strong> — {AUDIENCE_HELP[a]}
              </span>
            </label>
          ))}
          {audience === 'circle' && (
            <fieldset class="circle-pick" aria-label="Members in the circle">
              {others.length === 0 && <p class="muted">No other member is known yet.</p>}
              {others.map((m) => (
                <label key={m} class="check">
                  <input
                    type="checkbox"
                    checked={circle.includes(m)}
                    onChange={(e) =>
                      setCircle(
                        e.currentTarget.checked ? [...circle, m] : circle.filter((x) => x !== m),
                      )
                    }
                  />
                  {nameOf(names, m)}
                </label>
              ))}
            </fieldset>
          )}
        </fieldset>
        {tribes.length > 1 && (
          <label>
            <span>Tribe</span>
            <select value={tribeId} onChange={(e) => setTribeId(e.currentTarget.value)} required>
              <option value="">Choose a tribe</option>
              {tribes.map((t) => (
                <option key={t.tribeId} value={t.tribeId}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {problem && (
          <p class="note error" role="alert">
            {problem}
          </p>
        )}
        <footer>
          <button type="button" class="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? 'Writing…' : 'Write narrative'}
          </button>
        </footer>
      </form>
    </dialog>
  )
}
