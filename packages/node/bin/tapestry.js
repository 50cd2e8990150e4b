#!/usr/bin/env node
// Launcher for the `tapestry` command: runs the built CLI. `npm ci` builds it
// (the root postinstall); a checkout without a build gets a clear hint instead of a stack.
import { access } from 'node:fs/promises'

const main = new URL('../dist/cli/main.js', import.meta.url)
try {
  await access(main)
} catch {
  console.error('tapestry is not built yet: run `npm run build` at the repository root.')
  process.exit(2)
}
await import(main.href)
