import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

export type ElectronBinary = { ok: true; path: string } | { ok: false; message: string }

const MISSING = [
  'The Electron binary is not installed, so the desktop window cannot open here.',
  'It is skipped on machines that cannot download it (ELECTRON_SKIP_BINARY_DOWNLOAD=1).',
  'Install it with `node node_modules/electron/install.js` on a machine that can reach',
  'GitHub, or use the same interface in a browser: `tapestry ui --open`.',
].join('\n')

/**
 * Where the Electron binary is, read the way Electron's package finds it (its
 * `path.txt`, under `dist/` or ELECTRON_OVERRIDE_DIST_PATH), without requiring the
 * package: `require('electron')` starts a download when the binary is missing.
 */
export function findElectronBinary(
  from: string = import.meta.url,
  env: NodeJS.ProcessEnv = process.env,
): ElectronBinary {
  let pkgDir: string
  try {
    pkgDir = dirname(createRequire(from).resolve('electron/package.json'))
  } catch {
    return { ok: false, message: MISSING }
  }
  const pathFile = join(pkgDir, 'path.txt')
  const exe = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : ''
  const path = env.ELECTRON_OVERRIDE_DIST_PATH
    ? join(env.ELECTRON_OVERRIDE_DIST_PATH, exe || 'electron')
    : exe && join(pkgDir, 'dist', exe)
  return path && existsSync(path) ? { ok: true, path } : { ok: false, message: MISSING }
}
