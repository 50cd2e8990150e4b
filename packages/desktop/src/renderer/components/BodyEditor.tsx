import { defaultKeymap } from '@codemirror/commands'
import { EditorView, keymap } from '@codemirror/view'
import { useEffect, useRef, useState } from 'preact/hooks'
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next'
import * as Y from 'yjs'
import { BridgeError } from '../../shared/bridge.js'
import type { TapestryStore } from '../store.js'

/** What the node's `editSession` returns. */
interface EditSession {
  docId: string
  writerId: string
  clientId: number
  state: string
}

/** Transaction origin of what the node sent (never sent back to it). */
const FROM_NODE = Symbol('from-node')

const toBytes = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
function toBase64(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return btoa(s)
}

/** This tab's writer id for a document: a reload reuses it, another tab gets its own. */
const writerSlot = (docId: string) => `tapestry.writer.${docId}`
function savedWriter(docId: string): string | undefined {
  try {
    return sessionStorage.getItem(writerSlot(docId)) ?? undefined
  } catch {
    return undefined
  }
}
function saveWriter(docId: string, writerId: string): void {
  try {
    sessionStorage.setItem(writerSlot(docId), writerId)
  } catch {
    // no storage: the next load starts a new writer
  }
}

/**
 * The collaborative body of a narrative: a CodeMirror editor bound to the `body` Y.Text of
 * a replica the page keeps. The page writes as its own writer of the member (the node
 * signs); every update the node applies (co-authors' included) comes back over the event
 * stream. An edit the node refuses resets the replica to the node's state.
 */
export function BodyEditor({
  store,
  docId,
  label,
}: {
  store: TapestryStore
  docId: string
  label: string
}) {
  const host = useRef<HTMLDivElement>(null)
  const [state, setState] = useState<'loading' | 'ready' | 'failed'>('loading')
  const [saving, setSaving] = useState(false)

  useEffect(() => {
    let dead = false
    let session: EditSession | undefined
    let doc: Y.Doc | undefined
    let view: EditorView | undefined
    /** Updates the node sent before the session's state arrived (applied after it). */
    let early: Uint8Array[] = []
    let pending: Uint8Array[] = []
    let sending = false

    const applyFromNode = (u: Uint8Array) => {
      if (!doc || !session) return
      Y.applyUpdate(doc, u, FROM_NODE)
      // Items under this writer's client are its own, already integrated: keep the id.
      doc.clientID = session.clientId
    }
    const off = store.onDocUpdate(docId, (b64) => {
      const u = toBytes(b64)
      if (doc) applyFromNode(u)
      else early.push(u)
    })

    const teardown = () => {
      view?.destroy()
      doc?.destroy()
      view = undefined
      doc = undefined
      session = undefined
      pending = []
    }

    const flush = async () => {
      if (sending || pending.length === 0 || !session) return
      sending = true
      setSaving(true)
      const s = session
      const update = pending.length === 1 ? pending[0]! : Y.mergeUpdates(pending)
      pending = []
      let failure: unknown
      try {
        await store.call('editUpdate', docId, s.writerId, toBase64(update))
      } catch (err) {
        failure = err ?? new Error('refused')
      }
      if (failure !== undefined) {
        sending = false
        setSaving(false)
        if (dead || s !== session) return
        const e = failure instanceof BridgeError ? failure : undefined
        store.notify(
          failure,
          e?.code === 'NODE_UNREACHABLE' || e?.code === 'LINK_DOWN'
            ? 'Your node did not take the last edit; the text was reset to what it holds'
            : 'Your node refused the last edit; the text was reset to what it holds',
        )
        void start()
        return
      }
      sending = false
      if (!dead) setSaving(pending.length > 0)
      void flush()
    }

    const start = async () => {
      teardown()
      setState('loading')
      early = []
      let s: EditSession
      try {
        s = await store.call<EditSession>('editSession', docId, savedWriter(docId))
      } catch (err) {
        if (dead) return
        setState('failed')
        store.notify(err, 'This narrative cannot be edited now')
        return
      }
      if (dead || !host.current) return
      saveWriter(docId, s.writerId)
      session = s
      const d = new Y.Doc()
      doc = d
      Y.applyUpdate(d, toBytes(s.state), FROM_NODE)
      for (const u of early) Y.applyUpdate(d, u, FROM_NODE)
      early = []
      d.clientID = s.clientId
      d.on('update', (u: Uint8Array, origin: unknown) => {
        if (origin === FROM_NODE || d !== doc) return
        pending.push(u)
        void flush()
      })
      const text = d.getText('body')
      view = new EditorView({
        doc: text.toString(),
        parent: host.current,
        extensions: [
          keymap.of([...yUndoManagerKeymap, ...defaultKeymap]),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': label, 'aria-multiline': 'true' }),
          yCollab(text, null),
        ],
      })
      setState('ready')
    }

    void start()
    return () => {
      dead = true
      off()
      teardown()
    }
  }, [store, docId, label])

  return (
    <div class="body-editor" data-state={state}>
      <div ref={host} class="body-editor-host" />
      <p class="muted editor-status" aria-live="polite">
        {state === 'loading'
          ? 'Opening the text for editing…'
          : state === 'failed'
            ? 'Editing is not available right now.'
            : saving
              ? 'Saving…'
              : 'Saved. Co-authors see your edits as you type.'}
      </p>
    </div>
  )
}
