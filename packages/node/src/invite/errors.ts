/**
 * Errors of invitations and joining. Each kind of failure has its own class with a
 * stable `code`; callers match on `code` (or `instanceof`), never on the message. The
 * message is for a person, and `hint` says what to do next (`toTapestryError` keeps both
 * at the CLI and control API edge).
 */
export class InviteError extends Error {
  override readonly name: string = 'InviteError'
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** An invitation code that is malformed, truncated, tampered with or signed wrongly. */
export class BadInviteError extends InviteError {
  override readonly name = 'BadInviteError'
  static readonly code = 'BAD_INVITE'
  constructor(
    /** What exactly is wrong, for logs and tests; the message stays plain for people. */
    readonly detail: string,
    message = 'this invitation code is damaged: copy it again, whole, from the person who sent it',
    options?: ErrorOptions,
  ) {
    super(
      BadInviteError.code,
      message,
      'ask the steward to send the code again (it is one line starting with tapestry-invite-1:)',
      options,
    )
  }
}

/** An invitation whose `expiresAt` has passed. */
export class InviteExpiredError extends InviteError {
  override readonly name = 'InviteExpiredError'
  static readonly code = 'INVITE_EXPIRED'
  constructor(readonly expiresAt: number) {
    super(
      InviteExpiredError.code,
      `this invitation expired on ${new Date(expiresAt).toISOString()}`,
      'ask a steward of the tribe for a new invitation',
    )
  }
}

/** The join protocol failed on the wire (no reply, a garbled reply, a timeout). */
export class JoinProtocolError extends InviteError {
  override readonly name = 'JoinProtocolError'
  static readonly code = 'JOIN_FAILED'
  constructor(message: string, options?: ErrorOptions) {
    super(
      JoinProtocolError.code,
      message,
      'check that a member of the tribe is online at one of the invitation’s addresses, then retry',
      options,
    )
  }
}
