/** A failure of the desktop shell, with a stable code and what to do next. */
export class DesktopError extends Error {
  override readonly name = 'DesktopError'
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message)
  }
}
