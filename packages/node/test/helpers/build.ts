import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

/**
 * Vitest globalSetup of the node project: builds every package once (`tsc -b` at the
 * repository root) so that the tests which run the real `tapestry` binary or import
 * `dist/` never run a stale build. A type error fails the run with tsc's output.
 */
export default async function build(): Promise<void> {
  const root = fileURLToPath(new URL('../../../..', import.meta.url))
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      [tsc, '-b'],
      { cwd: root, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`\`tsc -b\` failed in ${root}:\n${stdout}${stderr}`))
        else resolve()
      },
    )
  })
}
