import type { Command } from 'commander'
import { resolveDataDir } from '../data-dir.js'
import { UsageError } from '../errors.js'
import type { Output } from './output.js'

function portOption(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`bad --port ${value}`, 'give a port number, or 0 for any free port')
  }
  return port
}

/**
 * `tapestry ui [--port N] [--open] [--renderer DIR]`: the desktop renderer in a browser,
 * on 127.0.0.1 behind a secret token, attached to the member's running node (or running
 * one). With `--json` it prints `{"event":"ready","url":...}` and serves until SIGINT/SIGTERM.
 */
export function registerUiCommand(program: Command, out: Output): void {
  program
    .command('ui')
    .description('open the tapestry in a browser (127.0.0.1, with a secret token in the address)')
    .option(
      '--port <port>',
      'port to listen on (0: any free port; default: the one used last)',
      portOption,
    )
    .option('--open', 'open the page in the default browser')
    .option('--renderer <dir>', 'the built renderer (default: the desktop package’s build)')
    .action(async (opts: { port?: number; open?: boolean; renderer?: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals() as { data?: string }
      // Loaded only here: the UI server is not needed by the other commands.
      const { runUi } = await import('../ui/run-ui.js')
      await runUi({
        dataDir: resolveDataDir(globals.data),
        out,
        port: opts.port,
        open: opts.open ?? false,
        rendererDir: opts.renderer,
      })
    })
}
