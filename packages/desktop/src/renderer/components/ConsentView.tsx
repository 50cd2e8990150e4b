import { useState } from 'preact/hooks'
import type { ConsentView as Consent, ReceiptsView } from '../../shared/wire.js'
import { audienceLabel, nameOf, when } from '../format.js'
import { useLoad } from '../hooks.js'
import type { TapestryStore } from '../store.js'
import { ErrorNote } from './ErrorNote.js'

interface Props {
  store: TapestryStore
  names: Record<string, string>
  tribes: { tribeId: string; name: string }[]
  generation: number
}

/** Where the member's words may go: defaults, each narrative, history, erasure receipts. */
export function ConsentView({ store, names, tribes, generation }: Props) {
  const [tick, setTick] = useState(0)
  const consent = useLoad(() => store.call<Consent>('consentShow'), [generation, tick])
  const tribeName = (id: string) => tribes.find((t) => t.tribeId === id)?.name ?? id
  const c = consent.value
  const titleOf = (id: string) =>
    c?.narratives.find((n) => n.narrativeId === id)?.title || 'a withdrawn narrative'

  const setDefault = async (tribeId: string, category: string, audience: string) => {
    try {
      await store.call('consentSet', { tribeId, category, audience })
      store.inform(`Your default for ${category} is now ${audience}.`)
      setTick((t) => t + 1)
    } catch (err) {
      store.notify(err)
    }
  }

  return (
    <section class="page consent" aria-labelledby="consent-title">
      <h2 id="consent-title">Consent</h2>
      <p class="lede">
        Where your words may go. Narrowing or withdrawing erases them on the nodes that leave the
        audience; each confirms with a receipt.
      </p>
      {consent.error !== undefined && !c && <ErrorNote error={consent.error} />}
      {consent.loading && !c && <p class="muted">Loading…</p>}
      {c && (
        <>
          <h3>Your defaults</h3>
          <table>
            <thead>
              <tr>
                <th scope="col">Tribe</th>
                <th scope="col">Narratives</th>
                <th scope="col">Echoes</th>
                <th scope="col">Profile</th>
              </tr>
            </thead>
            <tbody>
              {c.defaults.map((d) => (
                <tr key={d.tribeId}>
                  <th scope="row">{tribeName(d.tribeId)}</th>
                  {(['narratives', 'echoes', 'profile'] as const).map((cat) => (
                    <td key={cat}>
                      <select
                        aria-label={`Default audience for ${cat} in ${tribeName(d.tribeId)}`}
                        value={d[cat].startsWith('circle') ? 'circle' : d[cat]}
                        onChange={(e) => setDefault(d.tribeId, cat, e.currentTarget.value)}
                      >
                        <option value="private">private</option>
                        <option value="tribe">tribe</option>
                        <option value="federated">federated</option>
                        {d[cat].startsWith('circle') && (
                          <option value="circle">{audienceLabel(d[cat], names)}</option>
                        )}
                      </select>
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>

          <h3>Your narratives</h3>
          {c.narratives.length === 0 ? (
            <p class="muted">You have written no narrative yet.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Narrative</th>
                  <th scope="col">Your consent</th>
                  <th scope="col">Status</th>
                  <th scope="col">Erasure</th>
                </tr>
              </thead>
              <tbody>
                {c.narratives.map((n) => (
                  <tr key={n.narrativeId}>
                    <th scope="row">{n.title || <span class="muted">(erased)</span>}</th>
                    <td>{audienceLabel(n.audience, names)}</td>
                    <td>
                      <span class={`status ${n.status}`}>{n.status}</span>
                    </td>
                    <td>
                      {n.status === 'withdrawn' ? (
                        <Receipts
                          store={store}
                          id={n.narrativeId}
                          names={names}
                          generation={generation}
                        />
                      ) : (
                        '—'
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}

          <h3>History</h3>
          {c.history.length === 0 ? (
            <p class="muted">No statement yet: your tribe’s defaults apply.</p>
          ) : (
            <ol class="history">
              {[...c.history].reverse().map((h) => (
                <li key={`${h.at}-${h.narrativeId ?? h.category}`}>
                  <time>{when(h.at)}</time>{' '}
                  {h.narrativeId
                    ? `“${titleOf(h.narrativeId)}” for ${audienceLabel(h.audience, names)}`
                    : `default for ${h.category}: ${audienceLabel(h.audience, names)}`}{' '}
                  <span class="muted">in {tribeName(h.tribeId)}</span>
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </section>
  )
}

function Receipts({
  store,
  id,
  names,
  generation,
}: {
  store: TapestryStore
  id: string
  names: Record<string, string>
  generation: number
}) {
  const r = useLoad(() => store.call<ReceiptsView>('receipts', id), [id, generation])
  if (r.error !== undefined && !r.value) return <span class="muted">receipts unavailable</span>
  if (!r.value) return <span class="muted">…</span>
  const { confirmed, pending } = r.value
  return (
    <details class="receipts">
      <summary>
        {confirmed.length} confirmed{pending.length ? `, ${pending.length} not yet` : ''}
      </summary>
      <ul>
        {confirmed.map((c) => (
          <li key={c.memberId}>
            ✓ {nameOf(names, c.memberId)} <span class="muted">{when(c.erasedAt)}</span>
          </li>
        ))}
        {pending.map((m) => (
          <li key={m}>
            … {nameOf(names, m)} <span class="muted">not yet</span>
          </li>
        ))}
      </ul>
    </details>
  )
}
