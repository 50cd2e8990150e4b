/**
 * How classic-level failures become store errors: a held lock, damage (a corrupt table,
 * a missing file named by CURRENT or the MANIFEST, a value that does not decode), a
 * closed store, or plain I/O.
 */
import { DecodeFailure, unsealValue } from './encoding.js'
import {
  StoreClosedError,
  StoreCorruptError,
  StoreError,
  StoreIoError,
  StoreLockedError,
} from './errors.js'

export function levelCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown } }).cause
  const code = cause?.code ?? (err as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}

export function messageOf(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause
  return cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err)
}

/** Maps a failure to open the database in `dir` to a store error. */
export function openError(dir: string, err: unknown, exists: boolean): StoreError {
  const code = levelCode(err)
  const msg = messageOf(err)
  if (code === 'LEVEL_LOCKED') return new StoreLockedError(dir, { cause: err })
  if (code === 'LEVEL_CORRUPTION') return new StoreCorruptError(dir, msg, undefined, { cause: err })
  if (exists && isDamagedFile(code, msg)) {
    return new StoreCorruptError(dir, msg, undefined, { cause: err })
  }
  return new StoreIoError(dir, msg, { cause: err })
}

/** Maps a classic-level failure to a store error (`closed`: the store was closed). */
export function storeError(dir: string, err: unknown, closed: boolean): StoreError {
  if (err instanceof StoreError) return err
  const code = levelCode(err)
  if (code === 'LEVEL_CORRUPTION' || isDamagedFile(code, messageOf(err))) {
    return new StoreCorruptError(dir, messageOf(err), undefined, { cause: err })
  }
  if (code === 'LEVEL_DATABASE_NOT_OPEN' && closed) {
    return new StoreClosedError('the store was closed')
  }
  return new StoreIoError(dir, messageOf(err), { cause: err })
}

/**
 * LevelDB reports a missing file named by CURRENT or the MANIFEST (ENOENT) and a
 * truncated table (a read past its end: EINVAL) as I/O errors; they are damage.
 */
function isDamagedFile(code: string | undefined, msg: string): boolean {
  return (
    code === 'LEVEL_IO_ERROR' &&
    /No such file|not found|Invalid argument/i.test(msg) &&
    /(CURRENT|MANIFEST-\d+|\d+\.(ldb|sst|log))\b/.test(msg)
  )
}

/** Unseals and decodes the value at `key`; a value that does not decode is damage. */
export function decodeValue<T>(
  dir: string,
  key: string,
  bytes: Uint8Array,
  decode: (b: Uint8Array) => T,
): T {
  try {
    return decode(unsealValue(bytes))
  } catch (err) {
    if (err instanceof DecodeFailure) {
      throw new StoreCorruptError(dir, `a value cannot be read: ${err.message}`, key)
    }
    throw err
  }
}
