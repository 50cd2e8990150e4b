/**
 * One error class per way loading or creating an identity can fail. Callers match on
 * `code` (stable), never on the message; `hint` says what to do next.
 */
export abstract class IdentityError extends Error {
  abstract readonly code: string
  constructor(
    message: string,
    readonly dataDir: string,
    readonly hint?: string,
  ) {
    super(message)
  }
}

/** `createIdentity` found a key already: it never overwrites one. */
export class IdentityExistsError extends IdentityError {
  override readonly name = 'IdentityExistsError'
  readonly code = 'IDENTITY_EXISTS'
  constructor(dataDir: string) {
    super(
      `an identity already exists in ${dataDir}`,
      dataDir,
      'use a different --data directory to create another member',
    )
  }
}

/** No key in the data directory. */
export class NoIdentityError extends IdentityError {
  override readonly name = 'NoIdentityError'
  readonly code = 'NO_IDENTITY'
  constructor(dataDir: string) {
    super(
      `no identity in ${dataDir}: run \`tapestry init --name NAME\` first`,
      dataDir,
      'run `tapestry init --name NAME`',
    )
  }
}

/** The key file can be read by group or others: refuse to use it. */
export class InsecureKeyFileError extends IdentityError {
  override readonly name = 'InsecureKeyFileError'
  readonly code = 'INSECURE_KEY_FILE'
  constructor(
    dataDir: string,
    readonly path: string,
    readonly mode: number,
  ) {
    super(
      `the private key ${path} is accessible by other users (mode ${(mode & 0o777).toString(8)}): run \`chmod 600 ${path}\``,
      dataDir,
      `run \`chmod 600 ${path}\``,
    )
  }
}

/** The key, writer or identity file exists but cannot be parsed. */
export class CorruptIdentityError extends IdentityError {
  override readonly name = 'CorruptIdentityError'
  readonly code = 'CORRUPT_IDENTITY'
  constructor(
    dataDir: string,
    readonly path: string,
    detail: string,
  ) {
    super(
      `${path} is unreadable (${detail})`,
      dataDir,
      'restore the data directory from a backup; never copy a key file by hand',
    )
  }
}

/** A string is not the member id (PeerId) of an Ed25519 key, or a key is not 32 bytes. */
export class InvalidMemberIdError extends Error {
  override readonly name = 'InvalidMemberIdError'
  readonly code = 'INVALID_MEMBER_ID'
  constructor(
    readonly memberId: string,
    detail: string,
  ) {
    super(`not a member id: ${memberId.slice(0, 80)} (${detail})`)
  }
}
