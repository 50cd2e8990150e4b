/**
 * `npm run desktop`: starts Electron on the built main process, or says clearly why it
 * cannot (the binary is missing on machines that cannot download it).
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { findElectronBinary } from './electron-binary.js'

const electron = findElectronBinary()
if (!electron.ok) {
  process.stderr.write(`${electron.message}\n`)
  process.exit(1)
}
const main = fileURLToPath(new URL('./main.js', import.meta.url))
const child = spawn(electron.path, [main, ...process.argv.slice(2)], { stdio: 'inherit' })
child.on('exit', (code) => process.exit(code ?? 1))
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig))
