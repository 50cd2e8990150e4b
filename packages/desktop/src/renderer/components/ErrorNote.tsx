import { BridgeError, UNAVAILABLE_CODES } from '../../shared/bridge.js'

/** An error as a person reads it: what happened, and what to do next. */
export function ErrorNote({ error }: { error: unknown }) {
  const e = error instanceof BridgeError ? error : undefined
  const unavailable = e !== undefined && UNAVAILABLE_CODES.has(e.code)
  return (
    <div class={unavailable ? 'note' : 'note error'} role={unavailable ? 'status' : 'alert'}>
      <p>
        {unavailable
          ? 'Your node does not offer this yet.'
          : (e?.message ?? String((error as Error)?.message ?? error))}
      </p>
      {e?.hint && !unavailable && <p class="hint">{e.hint}</p>}
    </div>
  )
}
