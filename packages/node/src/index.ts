/**
 * @tapestry/node — a member's Tapestry node as a library: identity, signed envelopes,
 * the durable store, the documents and the local control API. The `tapestry` command
 * is built on exactly this API.
 *
 * @example
 * ```ts
 * import { createIdentity, Tapestry } from '@tapestry/node'
 *
 * const dataDir = '/tmp/ada'
 * await createIdentity(dataDir, 'Ada')          // identity.key, mode 0600
 * const tapestry = await Tapestry.open({ dataDir })   // offline: the documents on disk
 * const { node } = tapestry
 * const { tribeId } = await node.createTribe('River Folk')
 * const { narrativeId } = await node.narrate({ tribeId, title: 'The flood', body: 'We carried the boats…' })
 * console.log(await node.show(narrativeId))     // durable before narrate() resolved
 * await tapestry.start({ mdns: true })          // mesh, control API, join, federation
 * await tapestry.close()
 * ```
 */
import './polyfill.js'

export { ControlClient } from './api/control-client.js'
export { type ControlInfo, readControlInfo } from './api/control-file.js'
export { type ControlServer, startControlServer } from './api/control-server.js'
export * from './core/node-api.js'
export { type OpenOptions, TapestryNode } from './core/tapestry-node.js'
export { paths, resolveDataDir } from './data-dir.js'
export * from './envelope/index.js'
export { ForbiddenError, NotFoundError, TapestryError, UsageError } from './errors.js'
export * from './federation/api-types.js'
export * from './federation/errors.js'
export * from './identity/errors.js'
export {
  createIdentity,
  Identity,
  loadIdentity,
  loadOrCreateIdentity,
  memberIdFromPublicKey,
  publicKeyFromMemberId,
} from './identity/index.js'
export {
  type StartOptions,
  Tapestry,
  type TapestryEvent,
} from './root/tapestry.js'
export * from './store/index.js'
