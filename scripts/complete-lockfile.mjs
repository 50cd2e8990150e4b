#!/usr/bin/env node
// The npm registry reachable here serves only the Linux builds of packages that ship
// one optional package per platform (Biome, Turbo). `npm install` then leaves the other
// platforms out of package-lock.json and `npm ci` refuses the lock as out of sync. This
// adds each missing platform package as an optional, platform-restricted entry (no
// tarball address), which `npm ci` accepts and skips on this platform, as it would a
// lock written on any other machine. Run it after `npm install` changes the lock.
import { readFileSync, writeFileSync } from 'node:fs'

const file = new URL('../package-lock.json', import.meta.url)
const lock = JSON.parse(readFileSync(file, 'utf8'))
const packages = lock.packages

const OS = {
  android: 'android',
  darwin: 'darwin',
  linux: 'linux',
  win32: 'win32',
  windows: 'win32',
  freebsd: 'freebsd',
}
const CPU = { arm64: 'arm64', x64: 'x64', 64: 'x64', ia32: 'ia32', arm: 'arm' }

function platformOf(name) {
  const parts = name.split('/').pop().split('-')
  const os = parts.map((p) => OS[p]).find(Boolean)
  const cpu = parts.map((p) => CPU[p]).find(Boolean)
  if (!os || !cpu) return undefined
  return { os: [os], cpu: [cpu], ...(parts.includes('musl') ? { libc: ['musl'] } : {}) }
}

let added = 0
for (const [path, entry] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = path.includes('node_modules/')
      ? path.slice(0, path.lastIndexOf('node_modules/'))
      : ''
    if (packages[`${path}/node_modules/${dep}`] || packages[`${base}node_modules/${dep}`]) continue
    const platform = platformOf(dep)
    if (!platform) continue
    packages[`${base}node_modules/${dep}`] = {
      version,
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      ...platform,
    }
    added++
  }
}
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`)
console.error(`complete-lockfile: added ${added} platform package entries`)
