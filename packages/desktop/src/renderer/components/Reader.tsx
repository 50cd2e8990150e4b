import { useEffect, useRef, useState } from 'preact/hooks'
import { BridgeError } from '../../shared/bridge.js'
import type { ShownNarrative, WeaveItem } from '../../shared/wire.js'
import type { PageCache } from '../cache.js'
import { audienceLabel, moodColour, nameOf, when } from '../format.js'
import type { TapestryStore } from '../store.js'
import { BodyEditor } from './BodyEditor.js'
import { ErrorNote } from './ErrorNote.js'

interface Props {
  store: TapestryStore
  cache: PageCache
  item: WeaveItem
  names: Record<string, string>
  memberId: string | null
  online: boolean
  /** The partner tribe it comes from when it is federated; null when it is the member's own. */
  origin: string | null
  onClose: () => void
}

/** One narrative: its body, its echoes, and (for its authors) consent and withdrawal. */
export function Reader({ store, cache, item, names, memberId, online, origin, onClose }: Props) {
  const [shown, setShown] = useState<ShownNarrative | undefined>(() => cache.body(item.id))
  const [error, setError] = useState<unknown>(undefined)
  const [echo, setEcho] = useState('')
  const [busy, setBusy] = useState(false)
  const heading = useRef<HTMLHeadingElement>(null)

  // Read again whenever the projection says it changed (a new echo, an edit).
  useEffect(() => {
    let live = true
    setShown(cache.body(item.id))
    store.call<ShownNarrative>('show', item.id).then(
      (n) => {
        if (!live) return
        setShown(n)
        setError(undefined)
        cache.saveBody(n)
      },
      (err: unknown) => live && setError(err),
    )
    return () => {
      live = false
    }
  }, [item, store, cache])

  useEffect(() => heading.current?.focus(), [item.id])

  const mine = memberId !== null && item.authors.includes(memberId)
  // Authors edit the body together, live; others read it.
  const editable = mine && online && store.has('editSession')
  const c = moodColour(item.mood)

  const sendEcho = async (e: Event) => {
    e.preventDefault()
    const body = echo.trim()
    if (!body) return
    setBusy(true)
    try {
      const now = await store.write('echo', [item.id, body], `echo on ${item.title}`)
      setEcho('')
      store.inform(
        now
          ? 'Echo stored.'
          : 'Your node is away: the echo waits on this page and goes out when it answers.',
      )
    } catch (err) {
      store.notify(err)
    } finally {
      setBusy(false)
    }
  }

  const withdraw = async () => {
    if (
      !confirm(
        `Withdraw “${item.title}”? Its text is erased here and from every member’s node that receives the withdrawal.`,
      )
    )
      return
    try {
      await store.call('withdraw', item.id)
      store.inform('Withdrawn. The consent view shows who has confirmed the erasure.')
      onClose()
    } catch (err) {
      store.notify(err)
    }
  }

  const unreachable =
    error instanceof BridgeError &&
    (error.code === 'NODE_UNREACHABLE' || error.code === 'LINK_DOWN')
  const body = shown?.body ?? item.excerpt
  const echoes = shown?.echoes ?? []

  return (
    <article
      class="reader"
      aria-labelledby="reader-title"
      onKeyDown={(e) => e.key === 'Escape' && onClose()}
    >
      <header>
        <button type="button" class="icon close" onClick={onClose} aria-label="Close the narrative">
          ×
        </button>
        <h2 id="reader-title" tabIndex={-1} ref={heading}>
          {item.title || '(untitled)'}
        </h2>
        <p class="byline">
          by {item.authors.map((a) => nameOf(names, a)).join(', ')} ·{' '}
          <time>{when(item.createdAt)}</time>
        </p>
        <ul class="chips" aria-label="About this narrative">
          <li class="chip audience" title="Who may receive it">
            {audienceLabel(item.audience, names)}
          </li>
          {origin && (
            <li class="chip origin" title="The federated tribe it comes from">
              from {origin}
            </li>
          )}
          {item.mood && (
            <li class="chip mood">
              <svg width="10" height="10" aria-hidden="true">
                <circle cx="5" cy="5" r="4.5" fill={c.fill} stroke={c.edge} />
              </svg>
              {item.mood}
            </li>
          )}
          {item.tags.map((t) => (
            <li key={t} class="chip tag">
              #{t}
            </li>
          ))}
        </ul>
      </header>
      {error !== undefined && !unreachable && <ErrorNote error={error} />}
      {unreachable && !shown && (
        <p class="note">
          Your node is away: this is the beginning of the text, as the page saw it.
        </p>
      )}
      {editable ? (
        <BodyEditor
          store={store}
          docId={item.id}
          label={`Text of ${item.title || 'the narrative'}`}
        />
      ) : (
        <div class="body">
          {body.split(/\n{2,}/).map((p, i) => (
            <p key={i}>{p}</p>
          ))}
        </div>
      )}
      <section class="echoes" aria-labelledby="echoes-title">
        <h3 id="echoes-title">
          Echoes <span class="count">{shown ? echoes.length : item.echoes.length}</span>
        </h3>
        {echoes.length === 0 && shown && <p class="muted">No echo yet.</p>}
        <ol>
          {echoes.map((e) => (
            <li key={e.id} class="echo">
              <p class="echo-by">
                <strong>{nameOf(names, e.author)}</strong> · <time>{when(e.createdAt)}</time>
              </p>
              <p>{e.body}</p>
            </li>
          ))}
        </ol>
        <form class="echo-form" onSubmit={sendEcho}>
          <label for="echo-body">Your echo</label>
          <textarea
            id="echo-body"
            rows={3}
            value={echo}
            onInput={(e) => setEcho(e.currentTarget.value)}
            placeholder="Answer this story…"
          />
          <button type="submit" disabled={busy || !echo.trim()}>
            {online ? 'Echo' : 'Echo when online'}
          </button>
        </form>
      </section>
      {mine && (
        <section class="author-tools" aria-label="Author tools">
          <h3>As its author</h3>
          <AudienceEditor store={store} item={item} names={names} />
          <button type="button" class="danger" onClick={withdraw} disabled={!online}>
            Withdraw this narrative
          </button>
        </section>
      )}
    </article>
  )
}

function AudienceEditor({
  store,
  item,
  names,
}: {
  store: TapestryStore
  item: WeaveItem
  names: Record<string, string>
}) {
  const [value, setValue] = useState(item.audience.startsWith('circle') ? 'circle' : item.audience)
  if (!store.has('consentSet')) return null
  const save = async (e: Event) => {
    e.preventDefault()
    if (value === 'circle') {
      store.inform('To name a circle, use the consent view.')
      return
    }
    try {
      await store.call('consentSet', { narrativeId: item.id, audience: value })
      store.inform(`Audience of “${item.title}” is now ${value}.`)
    } catch (err) {
      store.notify(err)
    }
  }
  return (
    <form class="inline" onSubmit={save}>
      <label>
        <span>Who may receive it</span>
        <select value={value} onChange={(e) => setValue(e.currentTarget.value)}>
          <option value="private">private — only your devices</option>
          <option value="tribe">tribe — everyone in the tribe</option>
          <option value="federated">federated — and federated tribes</option>
          {item.audience.startsWith('circle') && (
            <option value="circle">{audienceLabel(item.audience, names)}</option>
          )}
        </select>
      </label>
      <button type="submit" class="secondary">
        Save
      </button>
    </form>
  )
}
