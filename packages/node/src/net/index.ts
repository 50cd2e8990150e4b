/**
 * The transport layer: swarm keys, the multi-key pnet protector, the tribe host and
 * length-prefixed frame plumbing. Import '../polyfill.js' before creating a host
 * (host.ts does so itself).
 *
 * ```ts
 * const key = generateSwarmKey()
 * const host = await createTribeHost({ privateKey, keys: () => ({ current: key }) })
 * await handleFramed(host.libp2p, '/echo/1.0.0', async (s) => {
 *   for await (const f of s.frames) await s.send(f)
 * })
 * ```
 */
export * from './errors.js'
export * from './frames.js'
export * from './host.js'
export * from './protector.js'
export * from './swarm-key.js'
export { XSalsa20Stream } from './xsalsa-stream.js'
