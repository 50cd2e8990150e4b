import {
  type Audience,
  type AuthorityRecord,
  addSwarmKeyEpoch,
  admitMember,
  CATEGORIES,
  type Category,
  createEcho,
  createNarrative,
  createProfile,
  createRoster,
  echoAuthority,
  encodeRecordPayload,
  formatAudience,
  kindOf,
  type NarrativeAuthority,
  newBoundDocId,
  parseAudience,
  parseDocId,
  profileDocId,
  readEcho,
  readNarrative,
  readProfile,
  setCategoryDefault,
  TRIBE,
} from '@tapestry/crdt-schema'
import { ensureDataDir, paths } from '../data-dir.js'
import { signRecord } from '../envelope/index.js'
import type { SignedRecord } from '../envelope/types.js'
import { ForbiddenError, NotFoundError, TapestryError, UsageError } from '../errors.js'
import { Federation, type FederationPeer } from '../federation/links.js'
import { type Identity, loadIdentity } from '../identity/index.js'
import { encodeSwarmKey, generateSwarmKey } from '../net/swarm-key.js'
import { type EnvelopeStore, LevelEnvelopeStore, StoreLockedError } from '../store/index.js'
import { AuthorityIndex } from './authority.js'
import { DocumentSet } from './documents.js'
import { Editing } from './editing.js'
import { admissionsFold, Invitations } from './invitations.js'
import type {
  ConsentSetInput,
  ConsentStatementView,
  ConsentView,
  DocumentEvent,
  EchoView,
  NarrateInput,
  NarrativeView,
  NodeApi,
  PeerView,
  ReceiptsView,
  StatusView,
  TribeSummary,
} from './node-api.js'
import { NodeReplication } from './node-replication.js'
import { Removals } from './removal.js'
import type { Replication, StoredItem } from './replication.js'
import { TribeKeys } from './tribe-keys.js'

export interface OpenOptions {
  dataDir: string
  /** Use this store instead of the data directory's LevelDB store (tests). */
  store?: EnvelopeStore
}

/** What a running mesh tells the node about the network (absent when offline). */
export interface NetworkView {
  listenAddrs(tribeId: string): string[]
  peers(): PeerView[]
  /** Starts hosts for networks the node gained (a federation link proposed here). */
  refresh?(): Promise<void>
}

/**
 * A member's node on one data directory: identity, store, documents, and the NodeApi
 * every interface (CLI, control API, desktop) uses. Works fully offline; the mesh
 * attaches to it to replicate.
 */
export class TapestryNode implements NodeApi {
  readonly #listeners = new Set<(e: DocumentEvent) => void>()
  readonly #storedListeners = new Set<(item: StoredItem) => void>()
  readonly #docs: DocumentSet
  readonly #keys: TribeKeys
  readonly #authority: AuthorityIndex
  readonly #invitations: Invitations
  readonly #removals: Removals
  readonly #federation: Federation
  readonly #editing: Editing
  #network: NetworkView | undefined
  /** Whether this process serves the node (the composition root started it). */
  #running = false
  /** The node's side of replication, for the mesh. */
  readonly replication: Replication
  /** The node's side of the federation link handshake, for the mesh (federation/attach.ts). */
  readonly federationPeer: FederationPeer
  #lastCreatedAt = 0

  private constructor(
    readonly dataDir: string,
    readonly identity: Identity,
    private readonly store: EnvelopeStore,
  ) {
    this.#docs = new DocumentSet(store, identity, {
      event: (e) => {
        for (const l of this.#listeners) l(e)
      },
      // Records decide authority and a roster's content decides membership: forget
      // what was derived from a document as soon as it is written.
      written: (docId, what) => {
        // Authority comes from records, and from the content of rosters and links only.
        const kind = kindOf(docId)
        if (what === 'record' || kind === 'roster' || kind === 'link') {
          this.#authority.invalidate(docId)
        }
      },
      stored: (item) => {
        for (const l of this.#storedListeners) l(item)
      },
    })
    this.#keys = new TribeKeys(dataDir)
    this.#authority = new AuthorityIndex({
      records: (id) => store.records(id),
      doc: (id) => this.#docs.doc(id),
      listDocuments: () => store.listDocuments(),
      hasContent: async (id) => (await store.versionVector(id)).size > 0,
      admissions: admissionsFold,
      federation: {
        context: (rosters) => this.#federation.context(rosters),
        link: (id) => this.#federation.link(id),
      },
    })
    this.#federation = new Federation({
      dataDir,
      identity,
      authority: this.#authority,
      listDocuments: () => store.listDocuments(),
      now: () => this.#now(),
      tribeFor: (id) => this.#tribeFor(id),
      putRecord: (rec) => this.#docs.putRecord(rec),
      enforceConsent: (id) => this.#enforceConsent(id),
      listenAddrs: (id) => this.#network?.listenAddrs(id) ?? [],
      refreshNetwork: async () => this.#network?.refresh?.(),
    })
    this.federationPeer = this.#federation
    this.#removals = new Removals({
      identity,
      rosters: () => this.#authority.rosters(),
      tribeOf: (id) => this.#authority.tribeOf(id),
      store,
      keys: this.#keys,
      now: () => this.#now(),
      changeRoster: (id, fn) => this.#docs.change(id, fn),
    })
    this.#invitations = new Invitations({
      dataDir,
      identity,
      authority: this.#authority,
      keys: this.#keys,
      now: () => this.#now(),
      tribeFor: (id) => this.#tribeFor(id),
      putRecord: (rec) => this.#docs.putRecord(rec),
      listenAddrs: (id) => this.#network?.listenAddrs(id) ?? [],
    })
    this.replication = new NodeReplication({
      invitations: this.#invitations,
      memberId: identity.memberId,
      store,
      docs: this.#docs,
      authority: this.#authority,
      keys: this.#keys,
      enforceConsent: (id) => this.#enforceConsent(id),
      federation: this.#federation,
      rosterChanged: async (id) => {
        await this.#ensureProfile(id)
        await this.#removals.applyEpochs(id)
      },
    })
    this.#editing = new Editing({
      identity,
      mayWrite: (id, member) => this.#authority.mayWrite(id, member),
      doc: (id) => this.#docs.doc(id),
      versionVector: (id) => store.versionVector(id),
      appendLocal: (env) => this.#docs.appendLocal(env),
    })
  }

  static async open(opts: OpenOptions): Promise<TapestryNode> {
    // Identity first: a command on a directory without one must not create it.
    const identity = await loadIdentity(opts.dataDir)
    await ensureDataDir(opts.dataDir)
    const store = opts.store ?? new LevelEnvelopeStore(paths.store(opts.dataDir))
    try {
      await store.open()
    } catch (err) {
      if (err instanceof StoreLockedError) {
        throw new TapestryError(
          'NODE_RUNNING',
          'a node is already running on this data directory',
          'stop it first, or use the commands while it runs (they go through it)',
        )
      }
      throw err
    }
    return new TapestryNode(opts.dataDir, identity, store)
  }

  get memberId(): string {
    return this.identity.memberId
  }

  /** Set by the composition root: this process serves the node (`tapestry start`, `tapestry ui`). */
  setRunning(running: boolean): void {
    this.#running = running
  }

  /** Called by the mesh once its hosts listen, so invitations carry real addresses. */
  attachNetwork(view: NetworkView | undefined): void {
    this.#network = view
  }

  /**
   * Everything this node newly stores, whatever its source (its user, a push, a
   * catch-up): the last step of every write and ingest. The composition root hands each
   * item to the mesh, which offers it onward to peers that may receive it.
   */
  onStored(listener: (item: StoredItem) => void): () => void {
    this.#storedListeners.add(listener)
    return () => this.#storedListeners.delete(listener)
  }

  /** Live document events (local writes, remote updates, erasures). Returns unsubscribe. */
  subscribe(listener: (event: DocumentEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  async close(): Promise<void> {
    await this.#docs.close()
    await this.store.close()
  }

  // ---- NodeApi ---------------------------------------------------------------

  async status(): Promise<StatusView> {
    return {
      memberId: this.memberId,
      name: this.identity.name,
      running: this.#running,
      tribes: await this.tribes(),
      documents: (await this.store.listDocuments()).length,
    }
  }

  async createTribe(name: string): Promise<{ tribeId: string; name: string }> {
    const { id: tribeId, nonce } = newBoundDocId('roster', this.memberId)
    const createdAt = this.#now()
    const me = { memberId: this.memberId, name: this.identity.name }
    await this.#keys.save(tribeId, generateSwarmKey())
    const genesis = await this.#sign(tribeId, {
      v: 1,
      type: 'roster.genesis',
      tribeId,
      founder: this.memberId,
      name,
      nonce,
      createdAt,
    })
    await this.#docs.create(tribeId, [genesis], (doc) => {
      const created = createRoster(doc, { tribeId, name, createdAt, founder: me })
      if (!created.ok) return created
      // Epoch 0's key was made here and is kept in this node's data directory; later
      // epochs seal each new key to every remaining member inside the roster.
      return addSwarmKeyEpoch(doc, { epoch: 0, createdAt, createdBy: me.memberId, sealedKeys: {} })
    })
    await this.#createProfile(tribeId)
    return { tribeId, name }
  }

  /**
   * A steward admits a member they know by id directly into the roster's content (the
   * invitation flow is for people who are not known yet). Library only: tests and tools.
   */
  async admitMember(
    tribeId: string,
    member: { memberId: string; name: string; role?: 'member' | 'steward' },
  ): Promise<void> {
    const roster = (await this.#authority.rosters()).get(tribeId)
    if (!roster?.isSteward(this.memberId)) {
      throw new ForbiddenError('only a steward of the tribe may admit members')
    }
    await this.#docs.change(tribeId, (doc) =>
      admitMember(doc, {
        memberId: member.memberId,
        name: member.name,
        role: member.role ?? 'member',
        joinedAt: this.#now(),
        admittedBy: this.memberId,
      }),
    )
  }

  /** The tribe's current swarm key (a secret: `tapestry tribe key` prints it with a warning). */
  swarmKey(tribeId: string): Promise<Uint8Array> {
    return this.#keys.load(tribeId)
  }

  /** Keeps a tribe's swarm key received out of band (an invitation), so its host can start. */
  async adoptSwarmKey(tribeId: string, key: Uint8Array): Promise<void> {
    await this.#keys.save(tribeId, key)
  }

  /** Creates this member's profile in a tribe it has just become a member of. */
  async #ensureProfile(tribeId: string): Promise<void> {
    if (!(await this.#authority.rosters()).get(tribeId)?.isMember(this.memberId)) return
    if ((await this.store.versionVector(profileDocId(tribeId, this.memberId))).size > 0) return
    await this.#createProfile(tribeId)
  }

  /** This member's profile in a tribe (name, consent defaults), created on joining it. */
  async #createProfile(tribeId: string): Promise<void> {
    const profileId = profileDocId(tribeId, this.memberId)
    const genesis = await this.#sign(profileId, {
      v: 1,
      type: 'profile.genesis',
      profileId,
      tribeId,
      member: this.memberId,
      createdAt: this.#now(),
    })
    await this.#docs.create(profileId, [genesis], (doc) =>
      createProfile(doc, { tribeId, memberId: this.memberId, name: this.identity.name }),
    )
  }

  async tribes(): Promise<TribeSummary[]> {
    const out: TribeSummary[] = []
    for (const roster of (await this.#authority.rosters()).values()) {
      if (!roster.isMember(this.memberId)) continue
      out.push({
        tribeId: roster.tribeId,
        name: roster.name,
        role: roster.isSteward(this.memberId) ? 'steward' : 'member',
        members: roster.members.length,
      })
    }
    return out
  }

  async narrate(input: NarrateInput): Promise<{ narrativeId: string }> {
    if (typeof input?.title !== 'string' || typeof input.body !== 'string') {
      throw new UsageError('a narrative needs a title and a body')
    }
    const tribeId = await this.#tribeFor(input.tribeId)
    const audience = await this.#audienceFor(tribeId, input.audience)
    const { id: narrativeId, nonce } = newBoundDocId('narrative', this.memberId)
    const createdAt = this.#now()
    const genesis = await this.#sign(narrativeId, {
      v: 1,
      type: 'narrative.genesis',
      narrativeId,
      tribeId,
      creator: this.memberId,
      authors: [this.memberId],
      audience,
      nonce,
      createdAt,
    })
    await this.#docs.create(narrativeId, [genesis], (doc) =>
      createNarrative(doc, {
        tribeId,
        title: input.title,
        body: input.body,
        tags: input.tags ?? [],
        mood: input.mood ?? null,
        createdAt,
      }),
    )
    return { narrativeId }
  }

  async narratives(query: { tribeId?: string | undefined } = {}): Promise<NarrativeView[]> {
    const views: NarrativeView[] = []
    for (const { id, kind } of await this.store.listDocuments()) {
      if (kind !== 'narrative') continue
      const view = await this.#narrativeView(id)
      if (view && (query.tribeId === undefined || view.tribeId === query.tribeId)) views.push(view)
    }
    return views.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
  }

  async show(narrativeId: string): Promise<NarrativeView & { echoes: EchoView[] }> {
    this.#checkId(narrativeId, 'narrative')
    const view = await this.#narrativeView(narrativeId)
    if (!view)
      throw new NotFoundError('narrative', narrativeId, 'list them with `tapestry narratives`')
    return { ...view, echoes: view.status === 'withdrawn' ? [] : await this.#echoesOf(narrativeId) }
  }

  async echo(narrativeId: string, body: string): Promise<{ echoId: string }> {
    if (typeof body !== 'string') throw new UsageError('an echo needs a body')
    const narrative = await this.show(narrativeId)
    if (narrative.status === 'withdrawn') {
      throw new ForbiddenError('this narrative was withdrawn by its author; it takes no echoes')
    }
    const { id: echoId, nonce } = newBoundDocId('echo', this.memberId)
    const createdAt = this.#now()
    const genesis = await this.#sign(echoId, {
      v: 1,
      type: 'echo.genesis',
      echoId,
      narrativeId,
      responder: this.memberId,
      nonce,
      createdAt,
    })
    await this.#docs.create(echoId, [genesis], (doc) =>
      createEcho(doc, { tribeId: narrative.tribeId, narrativeId, body, createdAt }),
    )
    return { echoId }
  }

  async withdraw(narrativeId: string): Promise<{ narrativeId: string; status: 'withdrawn' }> {
    this.#checkId(narrativeId, 'narrative')
    const authority = await this.#authority.narrative(narrativeId)
    if (!authority) throw new NotFoundError('narrative', narrativeId)
    if (!authority.authors.includes(this.memberId)) {
      throw new ForbiddenError('only an author of a narrative may withdraw it')
    }
    if (authority.status !== 'withdrawn') {
      await this.#docs.putRecord(
        await this.#sign(narrativeId, {
          v: 1,
          type: 'narrative.withdraw',
          narrativeId,
          by: this.memberId,
          at: this.#now(),
        }),
      )
    }
    await this.#enforceConsent(narrativeId)
    return { narrativeId, status: 'withdrawn' }
  }

  editSession: NodeApi['editSession'] = (id, writer) => this.#editing.editSession(id, writer)
  editUpdate: NodeApi['editUpdate'] = (id, writer, update) =>
    this.#editing.editUpdate(id, writer, update)
  invite: NodeApi['invite'] = (input) => this.#invitations.invite(input)
  join: NodeApi['join'] = (code) => this.#invitations.join(code)
  invites: NodeApi['invites'] = (q) => this.#invitations.invites(q)
  revokeInvite: NodeApi['revokeInvite'] = (id) => this.#invitations.revokeInvite(id)
  members: NodeApi['members'] = (q) => this.#invitations.members(q)
  federatePropose: NodeApi['federatePropose'] = (i) => this.#federation.federatePropose(i)
  federateAccept: NodeApi['federateAccept'] = (c, i) => this.#federation.federateAccept(c, i)
  federation: NodeApi['federation'] = () => this.#federation.federation()
  federateEnd: NodeApi['federateEnd'] = (id) => this.#federation.federateEnd(id)

  async remove(
    memberId: string,
    query: { tribeId?: string | undefined } = {},
  ): Promise<{ tribeId: string; memberId: string; epoch: number }> {
    return this.#removals.remove(await this.#tribeFor(query.tribeId), memberId)
  }

  async peers(): Promise<PeerView[]> {
    const rosters = await this.#authority.rosters()
    return (this.#network?.peers() ?? []).map((p) => ({
      ...p,
      name: rosters.get(p.tribeId)?.snapshot.members[p.memberId]?.name ?? p.name,
    }))
  }

  async tribeKey(query: { tribeId?: string | undefined } = {}) {
    const tribeId = await this.#tribeFor(query.tribeId)
    return { tribeId, swarmKey: encodeSwarmKey(await this.#keys.load(tribeId)) }
  }

  async coauthor(
    narrativeId: string,
    memberId: string,
  ): Promise<{ narrativeId: string; authors: string[] }> {
    this.#checkId(narrativeId, 'narrative')
    const authority = await this.#authority.narrative(narrativeId)
    if (!authority || authority.status === 'withdrawn') {
      throw new NotFoundError('published narrative', narrativeId)
    }
    if (!authority.authors.includes(this.memberId)) {
      throw new ForbiddenError('only an author of a narrative may add a co-author')
    }
    const roster = (await this.#authority.rosters()).get(authority.tribeId)
    if (!roster?.isMember(memberId)) {
      throw new UsageError(
        `${memberId} is not a member of this narrative's tribe`,
        'see `tapestry members`',
      )
    }
    await this.#docs.putRecord(
      await this.#sign(narrativeId, {
        v: 1,
        type: 'narrative.coauthor',
        narrativeId,
        member: memberId,
        at: this.#now(),
      }),
    )
    const after = await this.#authority.narrative(narrativeId)
    return { narrativeId, authors: [...(after?.authors ?? [])] }
  }

  async consentShow(): Promise<ConsentView> {
    const view: ConsentView = { memberId: this.memberId, defaults: [], narratives: [], history: [] }
    for (const { tribeId } of await this.tribes()) {
      const profileId = profileDocId(tribeId, this.memberId)
      const profile = readProfile(await this.#docs.doc(profileId), profileId)
      const d = profile.ok ? profile.value.defaults : undefined
      view.defaults.push({
        tribeId,
        narratives: formatAudience(d?.narratives ?? TRIBE),
        echoes: formatAudience(d?.echoes ?? TRIBE),
        profile: formatAudience(d?.profile ?? TRIBE),
      })
      for (const st of profile.ok ? profile.value.history : []) {
        view.history.push({
          tribeId,
          category: st.category,
          audience: formatAudience(st.audience),
          at: st.at,
        })
      }
    }
    for (const { id, kind } of await this.store.listDocuments()) {
      if (kind !== 'narrative') continue
      const a = await this.#authority.narrative(id)
      if (!a?.authors.includes(this.memberId)) continue
      const mine = a.audienceByAuthor[this.memberId]
      const content =
        a.status === 'published' ? readNarrative(await this.#docs.doc(id), id) : undefined
      view.narratives.push({
        narrativeId: id,
        title: content?.ok ? content.value.title : '',
        audience: formatAudience(mine ?? a.effectiveAudience),
        status: a.status,
      })
      for (const st of a.audienceHistory) {
        if (st.member !== this.memberId) continue
        view.history.push({
          tribeId: a.tribeId,
          narrativeId: id,
          audience: formatAudience(st.audience),
          at: st.at,
        })
      }
    }
    view.history.sort((x, y) => x.at - y.at)
    return view
  }

  async consentSet(input: ConsentSetInput): Promise<ConsentStatementView> {
    if ((input?.category === undefined) === (input?.narrativeId === undefined)) {
      throw new UsageError('give exactly one of --category or --narrative')
    }
    const parsed = parseAudience(String(input.audience))
    if (!parsed.ok) {
      throw new UsageError(
        `bad audience "${input.audience}": ${parsed.error.message}`,
        'use tribe, private, federated or circle:MEMBER,MEMBER',
      )
    }
    const audience = parsed.value
    const at = this.#now()
    if (input.narrativeId !== undefined) {
      const narrativeId = input.narrativeId
      this.#checkId(narrativeId, 'narrative')
      const a = await this.#authority.narrative(narrativeId)
      if (!a || a.status === 'withdrawn')
        throw new NotFoundError('published narrative', narrativeId)
      if (!a.authors.includes(this.memberId)) {
        throw new ForbiddenError('only an author of a narrative states consent for it')
      }
      // Narrowing stops sending at once (every send asks mayReceive); members who left
      // the audience erase it when this record reaches them.
      await this.#docs.putRecord(
        await this.#sign(narrativeId, {
          v: 1,
          type: 'narrative.audience',
          narrativeId,
          member: this.memberId,
          audience,
          at,
        }),
      )
      return { tribeId: a.tribeId, narrativeId, audience: formatAudience(audience), at }
    }
    const category = input.category as Category
    if (!CATEGORIES.includes(category)) {
      throw new UsageError(`unknown category "${category}"`, `use one of ${CATEGORIES.join(', ')}`)
    }
    const tribeId = await this.#tribeFor(input.tribeId)
    const profileId = profileDocId(tribeId, this.memberId)
    await this.#docs.change(profileId, (doc) => setCategoryDefault(doc, category, audience, at))
    return { tribeId, category, audience: formatAudience(audience), at }
  }

  async receipts(narrativeId: string): Promise<ReceiptsView> {
    this.#checkId(narrativeId, 'narrative')
    const a = await this.#authority.narrative(narrativeId)
    if (!a) throw new NotFoundError('narrative', narrativeId)
    const confirmed = new Map<string, number>()
    const since = receiptThreshold(a)
    for (const { signer, record } of await this.#authority.inputs(narrativeId)) {
      if (record.type !== 'erasure.receipt' || record.member !== signer) continue
      if (record.at < since) continue
      if (!confirmed.has(signer)) confirmed.set(signer, record.at)
    }
    const pending: string[] = []
    const roster = (await this.#authority.rosters()).get(a.tribeId)
    for (const m of roster?.members ?? []) {
      if (confirmed.has(m)) continue
      const d = await this.#authority.mayReceive(narrativeId, m)
      // Members who could see it (a withdrawn narrative's tombstone goes to them).
      if (d.allowed || d.tombstone) pending.push(m)
    }
    return {
      narrativeId,
      confirmed: [...confirmed].map(([memberId, erasedAt]) => ({ memberId, erasedAt })),
      pending: a.status === 'withdrawn' ? pending : [],
    }
  }

  /**
   * Makes this node hold a narrative only while its member may receive it: after a
   * withdrawal or a narrowed audience, erases the content (and its echoes) and signs
   * an erasure receipt that replicates back to the authors. Returns true if erased.
   */
  async #enforceConsent(narrativeId: string): Promise<boolean> {
    const a = await this.#authority.narrative(narrativeId)
    if (!a) return false
    if ((await this.#authority.mayReceive(narrativeId, this.memberId)).allowed) return false
    const withdrawn = a.status === 'withdrawn'
    // A narrowed audience concerns only a node that holds the content; records that
    // arrive before the roster says who this member is must not look like a narrowing.
    if (!withdrawn && (await this.store.versionVector(narrativeId)).size === 0) return false
    await this.#erase(narrativeId)
    // The receipt answers the latest withdrawal or narrowing, whether or not this node
    // ever held the content; one from before it (an earlier narrowing) does not count.
    const since = receiptThreshold(a)
    const signed = (await this.#authority.inputs(narrativeId)).some(
      (r) =>
        r.record.type === 'erasure.receipt' && r.signer === this.memberId && r.record.at >= since,
    )
    if (!signed) {
      await this.#docs.putRecord(
        await this.#sign(narrativeId, {
          v: 1,
          type: 'erasure.receipt',
          docId: narrativeId,
          member: this.memberId,
          at: Math.max(this.#now(), since),
        }),
      )
    }
    return true
  }

  /** Erases a withdrawn narrative's content and its echoes (written in its context). */
  async #erase(narrativeId: string): Promise<void> {
    for (const echo of await this.#echoIdsOf(narrativeId)) await this.#docs.erase(echo)
    await this.#docs.erase(narrativeId)
  }

  // ---- internals ---------------------------------------------------------------

  /** Creation times are unique per node, so two documents never share one. */
  #now(): number {
    this.#lastCreatedAt = Math.max(Date.now(), this.#lastCreatedAt + 1)
    return this.#lastCreatedAt
  }

  #checkId(id: unknown, kind: 'narrative' | 'echo'): void {
    const parsed = parseDocId(id)
    if (!parsed.ok || parsed.value.kind !== kind) {
      throw new UsageError(`"${String(id)}" is not a ${kind} id`, 'ids look like narrative_b…')
    }
  }

  #sign(docId: string, record: AuthorityRecord): Promise<SignedRecord> {
    return signRecord(this.identity, {
      docId,
      kind: record.type,
      payload: encodeRecordPayload(record),
    })
  }

  async #tribeFor(tribeId: string | undefined): Promise<string> {
    const mine = await this.tribes()
    if (tribeId === undefined) {
      if (mine.length === 1) return mine[0]!.tribeId
      const pending = mine.length === 0 ? await this.#invitations.pendingJoins() : []
      if (pending.length > 0) {
        // Joined by invitation, but no member's node has confirmed the admission yet.
        throw new UsageError(
          `your admission to ${pending.map((p) => `"${p.name}"`).join(', ')} is not confirmed yet`,
          'keep your node running (`tapestry start`) until it reaches a member, then try again (`tapestry tribes` lists it once you are in)',
        )
      }
      throw new UsageError(
        mine.length === 0 ? 'you belong to no tribe yet' : 'you belong to several tribes',
        mine.length === 0
          ? 'create one with `tapestry tribe create NAME` or join one'
          : 'pick one with --tribe ID (see `tapestry tribes`)',
      )
    }
    if (!mine.some((t) => t.tribeId === tribeId)) {
      throw new NotFoundError('tribe you belong to', tribeId, 'see `tapestry tribes`')
    }
    return tribeId
  }

  async #audienceFor(tribeId: string, given: string | undefined): Promise<Audience> {
    if (given !== undefined) {
      const parsed = parseAudience(given)
      if (!parsed.ok) {
        throw new UsageError(
          `bad audience "${given}": ${parsed.error.message}`,
          'use tribe, private, federated or circle:MEMBER,MEMBER',
        )
      }
      if (parsed.value.kind === 'circle' && parsed.value.members.length === 0) {
        // Valid as the result of intersecting consents, but as input it is a slip.
        throw new UsageError(
          `bad audience "${given}": a circle names at least one member`,
          'use circle:MEMBER,MEMBER (member ids from `tapestry status`), or private',
        )
      }
      return parsed.value
    }
    const profile = readProfile(await this.#docs.doc(profileDocId(tribeId, this.memberId)))
    return profile.ok ? profile.value.defaults.narratives : { kind: 'tribe' }
  }

  async #narrativeView(id: string): Promise<NarrativeView | undefined> {
    const authority = await this.#authority.narrative(id)
    if (!authority) return undefined
    const decision = await this.#authority.mayReceive(id, this.memberId)
    const withdrawn = authority.status === 'withdrawn'
    if (!decision.allowed && !withdrawn) return undefined
    const base = {
      id,
      tribeId: authority.tribeId,
      authors: [...authority.authors],
      audience: formatAudience(authority.effectiveAudience),
      createdAt: authority.createdAt,
      status: authority.status,
    }
    if (withdrawn) return { ...base, title: '', body: '', tags: [], mood: null }
    const content = readNarrative(await this.#docs.doc(id), id)
    if (!content.ok) return undefined
    const { title, body, tags, mood } = content.value
    return { ...base, title, body, tags: [...tags], mood }
  }

  async #echoIdsOf(narrativeId: string): Promise<string[]> {
    const ids: string[] = []
    for (const { id, kind } of await this.store.listDocuments()) {
      if (kind !== 'echo') continue
      const a = echoAuthority(await this.#authority.inputs(id), { echoId: id })
      if (a.ok && a.value.narrativeId === narrativeId) ids.push(id)
    }
    return ids
  }

  async #echoesOf(narrativeId: string): Promise<EchoView[]> {
    const echoes: EchoView[] = []
    for (const id of await this.#echoIdsOf(narrativeId)) {
      const a = echoAuthority(await this.#authority.inputs(id), { echoId: id })
      const content = readEcho(await this.#docs.doc(id), id)
      if (!a.ok || !content.ok) continue
      echoes.push({
        id,
        author: a.value.responder,
        body: content.value.body,
        createdAt: a.value.createdAt,
      })
    }
    return echoes.sort((x, y) => x.createdAt - y.createdAt)
  }
}

/** Receipts count from the latest withdrawal or audience change of a narrative on. */
function receiptThreshold(a: NarrativeAuthority): number {
  return Math.max(a.withdrawnAt ?? 0, ...a.audienceHistory.map((s) => s.at))
}
