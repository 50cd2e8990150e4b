/**
 * Errors of the sync protocol. Each kind has a stable `code`; callers match on `code`
 * or `instanceof`, never on the message. Every one of them means "this peer sent
 * something we will not take": the session closes the connection and logs it.
 */
export class SyncError extends Error {
  override readonly name: string = 'SyncError'
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** A frame that is not a well-formed sync message (the only error decoders throw). */
export class SyncDecodeError extends SyncError {
  override readonly name = 'SyncDecodeError'
  static readonly code = 'SYNC_MALFORMED'
  constructor(message: string, options?: ErrorOptions) {
    super(SyncDecodeError.code, `malformed sync message: ${message}`, options)
  }
}

/** A well-formed message at the wrong time (before HELLO, unknown round, HELLO twice). */
export class SyncStateError extends SyncError {
  override readonly name = 'SyncStateError'
  static readonly code = 'SYNC_UNEXPECTED'
  constructor(message: string) {
    super(SyncStateError.code, `unexpected sync message: ${message}`)
  }
}

/** The peer speaks another protocol version or is in another tribe. */
export class SyncHandshakeError extends SyncError {
  override readonly name = 'SyncHandshakeError'
  static readonly code = 'SYNC_HANDSHAKE'
  constructor(message: string) {
    super(SyncHandshakeError.code, `sync handshake failed: ${message}`)
  }
}

/** The peer sent records or envelopes that no honest node would relay (forged, malformed). */
export class SyncForgeryError extends SyncError {
  override readonly name = 'SyncForgeryError'
  static readonly code = 'SYNC_FORGED'
  constructor(
    message: string,
    readonly rejected: readonly { code: string; message: string; docId?: string }[],
  ) {
    super(SyncForgeryError.code, message)
  }
}

/** The peer is not (or no longer) a member of the tribe. */
export class SyncNotMemberError extends SyncError {
  override readonly name = 'SyncNotMemberError'
  static readonly code = 'SYNC_NOT_MEMBER'
  constructor(peer: string, tribeId: string) {
    super(SyncNotMemberError.code, `peer ${peer} is not a member of tribe ${tribeId}`)
  }
}
