import { useEffect, useState } from 'preact/hooks'
import type { InviteResult, MemberView, PeerView } from '../../shared/wire.js'
import { ago, nameOf, shortId, when } from '../format.js'
import { useLoad } from '../hooks.js'
import type { TapestryStore } from '../store.js'
import { ErrorNote } from './ErrorNote.js'
import { SecretCode } from './SecretCode.js'
import { TribeChoice } from './TribeChoice.js'

interface Props {
  store: TapestryStore
  memberId: string | null
  names: Record<string, string>
  tribes: { tribeId: string; name: string; role: string }[]
  generation: number
}

/** The roster with roles, who is connected now, and invitations. */
export function MembersView({ store, memberId, names, tribes, generation }: Props) {
  const [tribeId, setTribeId] = useState(tribes[0]?.tribeId ?? '')
  const [peerTick, setPeerTick] = useState(0)
  useEffect(() => {
    const t = setInterval(() => setPeerTick((n) => n + 1), 5000)
    return () => clearInterval(t)
  }, [])
  const members = useLoad(
    () => (tribeId ? store.call<MemberView[]>('members', { tribeId }) : Promise.resolve([])),
    [tribeId, generation],
  )
  const peers = useLoad(() => store.call<PeerView[]>('peers'), [peerTick, generation])
  const tribe = tribes.find((t) => t.tribeId === tribeId)
  const connected = new Map(
    (peers.value ?? [])
      .filter((p) => !tribeId || p.tribeId === tribeId)
      .map((p) => [p.memberId, p]),
  )

  return (
    <section class="page members" aria-labelledby="members-title">
      <h2 id="members-title">Members and peers</h2>
      <TribeChoice label="Tribe" tribes={tribes} value={tribeId} onChange={setTribeId} />
      {tribes.length === 0 && (
        <p class="muted">You belong to no tribe yet. Join one with an invitation below.</p>
      )}
      <div class="members-grid">
        <div>
          <h3>Who is here now</h3>
          {peers.error !== undefined && !peers.value ? (
            <ErrorNote error={peers.error} />
          ) : (
            <MeshPicture
              memberId={memberId}
              members={members.value ?? []}
              connected={connected}
              names={names}
            />
          )}
        </div>
        <div>
          <h3>Roster{tribe ? ` of ${tribe.name}` : ''}</h3>
          {members.error !== undefined && !members.value && <ErrorNote error={members.error} />}
          {members.value && (
            <table>
              <thead>
                <tr>
                  <th scope="col">Member</th>
                  <th scope="col">Role</th>
                  <th scope="col">Joined</th>
                  <th scope="col">Now</th>
                </tr>
              </thead>
              <tbody>
                {members.value.map((m) => {
                  const p = connected.get(m.memberId)
                  return (
                    <tr key={m.memberId}>
                      <th scope="row">
                        {m.name || shortId(m.memberId)}
                        {m.memberId === memberId && <span class="muted"> (you)</span>}
                      </th>
                      <td>{m.role}</td>
                      <td>{when(m.joinedAt)}</td>
                      <td>
                        {m.memberId === memberId ? (
                          <span class="presence on">this node</span>
                        ) : p ? (
                          <span class="presence on">connected {ago(p.since)}</span>
                        ) : (
                          <span class="presence off">not connected</span>
                        )}
                      </td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          )}
        </div>
      </div>
      <div class="members-grid">
        {tribe?.role === 'steward' && store.has('invite') && (
          <Invite store={store} tribeId={tribeId} />
        )}
        {store.has('join') && <Join store={store} />}
      </div>
    </section>
  )
}

function MeshPicture({
  memberId,
  members,
  connected,
  names,
}: {
  memberId: string | null
  members: MemberView[]
  connected: Map<string, PeerView>
  names: Record<string, string>
}) {
  const others = members.filter((m) => m.memberId !== memberId)
  const size = 280
  const c = size / 2
  const r = 100
  return (
    <figure class="mesh">
      <svg
        width={size}
        height={size}
        role="img"
        aria-label={`${connected.size} of ${others.length} other members connected to your node`}
      >
        {others.map((m, i) => {
          const a = (2 * Math.PI * i) / Math.max(1, others.length) - Math.PI / 2
          const x = c + r * Math.cos(a)
          const y = c + r * Math.sin(a)
          const on = connected.has(m.memberId)
          return (
            <g key={m.memberId} class={on ? 'peer on' : 'peer off'}>
              <line x1={c} y1={c} x2={x} y2={y} />
              <circle cx={x} cy={y} r={9} />
              <text x={x} y={y + (y >= c ? 24 : -15)} text-anchor="middle">
                {nameOf(names, m.memberId)}
              </text>
            </g>
          )
        })}
        <circle class="me" cx={c} cy={c} r={13} />
        <text x={c} y={c + 30} text-anchor="middle" class="me-label">
          you
        </text>
      </svg>
      <figcaption>
        {others.length === 0
          ? 'No other member yet.'
          : `${connected.size} of ${others.length} connected to your node now. Solid: connected; dashed: offline or not met yet.`}
      </figcaption>
    </figure>
  )
}

function Invite({ store, tribeId }: { store: TapestryStore; tribeId: string }) {
  const [result, setResult] = useState<InviteResult | null>(null)
  const [role, setRole] = useState('member')
  const [error, setError] = useState<unknown>(undefined)
  const make = async (e: Event) => {
    e.preventDefault()
    try {
      setResult(await store.call<InviteResult>('invite', { tribeId, role }))
      setError(undefined)
    } catch (err) {
      setError(err)
    }
  }
  return (
    <form class="card" onSubmit={make}>
      <h3>Invite someone</h3>
      <label class="inline">
        <span>As</span>
        <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
          <option value="member">member</option>
          <option value="steward">steward</option>
        </select>
      </label>
      <button type="submit">Create an invitation</button>
      {error !== undefined && <ErrorNote error={error} />}
      {result && (
        <SecretCode
          label="Invitation code"
          code={result.invite}
          holds="your tribe’s network key"
          recipient="the person you invite"
          expiresAt={result.expiresAt}
        />
      )}
    </form>
  )
}

function Join({ store }: { store: TapestryStore }) {
  const [code, setCode] = useState('')
  const [error, setError] = useState<unknown>(undefined)
  const join = async (e: Event) => {
    e.preventDefault()
    try {
      const r = await store.call<{ name: string }>('join', code.trim())
      store.inform(`You joined ${r.name}. Its stories arrive as your node syncs.`)
      setCode('')
      setError(undefined)
    } catch (err) {
      setError(err)
    }
  }
  return (
    <form class="card" onSubmit={join}>
      <h3>Join a tribe</h3>
      <label>
        <span>Invitation code</span>
        <textarea rows={3} value={code} onInput={(e) => setCode(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={!code.trim()}>
        Join
      </button>
      {error !== undefined && <ErrorNote error={error} />}
    </form>
  )
}
