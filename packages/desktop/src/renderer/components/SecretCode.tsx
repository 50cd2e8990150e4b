import { when } from '../format.js'

/**
 * A code that carries a network key (an invitation, a federation offer), shown once
 * right after it is made, with what it opens and whom it may go to.
 */
export function SecretCode(props: {
  /** What the code is, e.g. "Invitation code". */
  label: string
  code: string
  /** What holding the code gives, e.g. "your tribe’s network key". */
  holds: string
  /** Who may receive it, e.g. "the person you invite". */
  recipient: string
  expiresAt: number
}) {
  return (
    <div class="secret">
      <p class="warning" role="alert">
        This code is a secret: it holds {props.holds}. Give it only to {props.recipient}, in person
        or over a private channel. It expires {when(props.expiresAt)}.
      </p>
      <label>
        <span>{props.label}</span>
        <textarea readOnly rows={4} value={props.code} onFocus={(e) => e.currentTarget.select()} />
      </label>
    </div>
  )
}
