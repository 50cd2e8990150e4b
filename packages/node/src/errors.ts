/**
 * The node's user-facing error: a stable `code` callers match on (never the message),
 * a message for people, and a `hint` saying what to do next. Lower layers (store,
 * envelope, net) have their own error classes with a `code`; `toTapestryError` turns
 * any of them into this shape at the edge (CLI, control API).
 */
export class TapestryError extends Error {
  override readonly name: string = 'TapestryError'
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message)
  }

  toJSON(): { code: string; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint }
  }
}

export class UsageError extends TapestryError {
  override readonly name = 'UsageError'
  constructor(message: string, hint?: string) {
    super('USAGE', message, hint)
  }
}

export class NotFoundError extends TapestryError {
  override readonly name = 'NotFoundError'
  constructor(what: string, id: string, hint?: string) {
    super('NOT_FOUND', `no ${what} with id ${id}`, hint)
  }
}

export class ForbiddenError extends TapestryError {
  override readonly name = 'ForbiddenError'
  constructor(message: string, hint?: string) {
    super('FORBIDDEN', message, hint)
  }
}

/** Any thrown value as a TapestryError, keeping the `code` of typed lower-layer errors. */
export function toTapestryError(err: unknown): TapestryError {
  if (err instanceof TapestryError) return err
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    const hint = (err as { hint?: unknown }).hint
    return new TapestryError(
      typeof code === 'string' ? code : 'INTERNAL',
      err.message,
      typeof hint === 'string' ? hint : undefined,
    )
  }
  return new TapestryError('INTERNAL', String(err))
}
