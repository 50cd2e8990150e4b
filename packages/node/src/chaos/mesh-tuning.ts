import type { StartOptions } from '../root/tapestry.js'

/**
 * Mesh options of every chaos node, in-process or child process: loopback only, no
 * mDNS, a fast digest interval so a healed schedule converges in seconds, and a short
 * ban so the rogue peer can come back and try again.
 */
export const CHAOS_MESH: StartOptions = {
  listen: ['/ip4/127.0.0.1/tcp/0'],
  mdns: false,
  joinWindowMs: 3_000,
  banMs: 2_000,
  dialTimeout: 5_000,
  sync: { intervalMs: 1_000, progressIntervalMs: 200 },
}
