import { useState } from 'preact/hooks'
import type {
  AcceptResult,
  LinkCategory,
  LinkView,
  ProposeResult,
  TribeSummary,
} from '../../shared/wire.js'
import { nameOf, when } from '../format.js'
import { useLoad } from '../hooks.js'
import type { TapestryStore } from '../store.js'
import { ErrorNote } from './ErrorNote.js'
import { SecretCode } from './SecretCode.js'
import { TribeChoice } from './TribeChoice.js'

interface Props {
  store: TapestryStore
  names: Record<string, string>
  tribes: TribeSummary[]
  generation: number
}

const CATEGORIES: LinkCategory[] = ['narratives', 'echoes', 'profile']
const DEFAULT_TERMS: LinkCategory[] = ['echoes', 'narratives']

/** Federation links between the member's tribes and others; stewards make and end them. */
export function LinksView({ store, names, tribes, generation }: Props) {
  const [tick, setTick] = useState(0)
  const links = useLoad(() => store.call<LinkView[]>('federation'), [generation, tick])
  const stewarded = tribes.filter((t) => t.role === 'steward')
  const own = (l: LinkView) =>
    tribes.find((t) => t.tribeId === l.tribeA.id || t.tribeId === l.tribeB?.id)
  const partnerOf = (l: LinkView) => {
    const mine = own(l)
    return mine?.tribeId === l.tribeA.id ? l.tribeB : l.tribeA
  }
  const refresh = () => setTick((t) => t + 1)

  const end = async (l: LinkView) => {
    const partner = partnerOf(l)?.name ?? 'the other tribe'
    if (
      !confirm(
        `End the link with ${partner}? Nothing more flows either way, and what crossed it is erased on the other side.`,
      )
    )
      return
    try {
      await store.call('federateEnd', l.linkId)
      store.inform(`The link with ${partner} is ended.`)
      refresh()
    } catch (err) {
      store.notify(err)
    }
  }

  return (
    <section class="page links" aria-labelledby="links-title">
      <h2 id="links-title">Links</h2>
      <p class="lede">
        Tribes yours is federated with. Only what a member marks <em>federated</em> crosses a link,
        and only the kinds of content its terms name.
      </p>
      {links.error !== undefined && !links.value && <ErrorNote error={links.error} />}
      {links.loading && !links.value && <p class="muted">Loading…</p>}
      {links.value &&
        (links.value.length === 0 ? (
          <p class="muted">
            No link yet. A steward proposes one and gives its offer code to a steward of the other
            tribe.
          </p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Partner tribe</th>
                <th scope="col">Status</th>
                <th scope="col">Shares</th>
                <th scope="col">Proposed</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {links.value.map((l) => {
                const partner = partnerOf(l)
                const mine = own(l)
                return (
                  <tr key={l.linkId}>
                    <th scope="row">
                      {partner?.name ?? <span class="muted">not accepted yet</span>}
                      {mine && tribes.length > 1 && <span class="muted"> with {mine.name}</span>}
                    </th>
                    <td>
                      <span class={`status ${l.status}`}>{l.status}</span>
                      {l.status === 'proposed' && (
                        <span class="muted when">
                          offer expires <time>{when(l.expiresAt)}</time>
                        </span>
                      )}
                      {l.status === 'ended' && l.endedAt !== undefined && (
                        <span class="muted when">
                          <time>{when(l.endedAt)}</time>
                          {l.endedBy && ` by ${nameOf(names, l.endedBy)}`}
                        </span>
                      )}
                    </td>
                    <td>{l.terms.join(', ')}</td>
                    <td>
                      by {nameOf(names, l.proposedBy)}
                      <span class="muted"> of {l.tribeA.name}</span>
                      <time class="muted when">{when(l.proposedAt)}</time>
                    </td>
                    <td>
                      {l.status === 'active' && mine?.role === 'steward' && (
                        <button
                          type="button"
                          class="danger"
                          aria-label={`End the link with ${partner?.name ?? 'the other tribe'}`}
                          onClick={() => end(l)}
                        >
                          End link
                        </button>
                      )}
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        ))}
      {stewarded.length > 0 && (
        <div class="members-grid">
          {store.has('federatePropose') && (
            <Propose store={store} tribes={stewarded} links={links.value} onDone={refresh} />
          )}
          {store.has('federateAccept') && (
            <Accept store={store} tribes={stewarded} onDone={refresh} />
          )}
        </div>
      )}
    </section>
  )
}

function Propose({
  store,
  tribes,
  links,
  onDone,
}: {
  store: TapestryStore
  tribes: TribeSummary[]
  links: LinkView[] | undefined
  onDone: () => void
}) {
  const [tribeId, setTribeId] = useState(tribes[0]?.tribeId ?? '')
  const [terms, setTerms] = useState<LinkCategory[]>(DEFAULT_TERMS)
  const [result, setResult] = useState<ProposeResult | null>(null)
  const [error, setError] = useState<unknown>(undefined)
  const propose = async (e: Event) => {
    e.preventDefault()
    try {
      setResult(await store.call<ProposeResult>('federatePropose', { tribeId, terms }))
      setError(undefined)
      onDone()
    } catch (err) {
      setError(err)
    }
  }
  // Once accepted (or ended), the offer is spent: it is not left on the screen.
  const waiting =
    result !== null &&
    (links?.find((l) => l.linkId === result.linkId)?.status ?? 'proposed') === 'proposed'
  const toggle = (c: LinkCategory, on: boolean) =>
    setTerms((t) => (on ? [...t, c] : t.filter((x) => x !== c)))
  return (
    <form class="card" onSubmit={propose}>
      <h3>Propose a link</h3>
      <TribeChoice label="For" tribes={tribes} value={tribeId} onChange={setTribeId} />
      <fieldset class="terms">
        <legend>What may cross</legend>
        {CATEGORIES.map((c) => (
          <label key={c} class="check">
            <input
              type="checkbox"
              checked={terms.includes(c)}
              onChange={(e) => toggle(c, e.currentTarget.checked)}
            />
            {c}
          </label>
        ))}
      </fieldset>
      <button type="submit" disabled={terms.length === 0}>
        Create an offer
      </button>
      {error !== undefined && <ErrorNote error={error} />}
      {result && waiting && (
        <SecretCode
          label="Offer code"
          code={result.offer}
          holds="the link’s network key"
          recipient="a steward of the other tribe"
          expiresAt={result.expiresAt}
        />
      )}
    </form>
  )
}

function Accept({
  store,
  tribes,
  onDone,
}: {
  store: TapestryStore
  tribes: TribeSummary[]
  onDone: () => void
}) {
  const [tribeId, setTribeId] = useState(tribes[0]?.tribeId ?? '')
  const [code, setCode] = useState('')
  const [error, setError] = useState<unknown>(undefined)
  const accept = async (e: Event) => {
    e.preventDefault()
    try {
      const r = await store.call<AcceptResult>('federateAccept', code.trim(), { tribeId })
      store.inform(
        `You accepted ${r.partner.name}’s offer. The link is active once its steward countersigns.`,
      )
      setCode('')
      setError(undefined)
      onDone()
    } catch (err) {
      setError(err)
    }
  }
  return (
    <form class="card" onSubmit={accept}>
      <h3>Accept an offer</h3>
      <TribeChoice label="For" tribes={tribes} value={tribeId} onChange={setTribeId} />
      <label>
        <span>Offer code</span>
        <textarea rows={3} value={code} onInput={(e) => setCode(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={!code.trim()}>
        Accept
      </button>
      {error !== undefined && <ErrorNote error={error} />}
    </form>
  )
}
