import { removeControlInfo, writeControlInfo } from '../api/control-file.js'
import { startControlServer } from '../api/control-server.js'
import { TapestryNode } from '../core/tapestry-node.js'
import type { Output } from './output.js'

export interface RunNodeOptions {
  dataDir: string
  out: Output
}

/**
 * `tapestry start`: open the node, serve the control API, announce readiness, and run
 * until SIGINT/SIGTERM. Shutdown closes the API first so no request lands on a closing
 * store, then the node (which flushes every pending write).
 */
export async function runNode({ dataDir, out }: RunNodeOptions): Promise<void> {
  const node = await TapestryNode.open({ dataDir, running: true })
  const server = await startControlServer({ api: node, subscribe: (l) => node.subscribe(l) })
  await writeControlInfo(dataDir, {
    port: server.port,
    token: server.token,
    pid: process.pid,
    memberId: node.memberId,
  })
  out.line({ event: 'ready', memberId: node.memberId, controlPort: server.port, dataDir }, () =>
    [
      `Tapestry node running for ${node.memberId}`,
      `data directory: ${dataDir}`,
      'Press Ctrl+C to stop.',
    ].join('\n'),
  )

  const stopped = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  const signal = await stopped
  await server.close()
  await removeControlInfo(dataDir)
  await node.close()
  out.line({ event: 'stopped', signal }, () => 'Stopped.')
}
