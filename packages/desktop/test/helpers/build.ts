import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Vitest globalSetup of the desktop project: `tsc -b` at the repository root (the node's
 * CLI and this package's main-process modules), then the renderer's `vite build`, so the
 * browser tests run the real `tapestry ui` serving the real bundle, never a stale one.
 */
export default async function build(): Promise<void> {
  const root = fileURLToPath(new URL('../../../..', import.meta.url))
  const desktop = fileURLToPath(new URL('../..', import.meta.url))
  const require = createRequire(import.meta.url)
  await run(require.resolve('typescript/bin/tsc'), ['-b'], root)
  // vite's package exports no bin path: find it beside its package.json.
  const vite = join(dirname(require.resolve('vite/package.json')), 'bin', 'vite.js')
  await run(vite, ['build', '--logLevel', 'warn'], desktop)
}

function run(script: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [script, ...args],
      { cwd, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`\`${script} ${args.join(' ')}\` failed in ${cwd}:\n${stdout}${stderr}`))
        else resolve()
      },
    )
  })
}
