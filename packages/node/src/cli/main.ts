#!/usr/bin/env node
import '../polyfill.js'
import { readFile } from 'node:fs/promises'
import { Command, CommanderError, Option } from 'commander'
import { UsageError } from '../errors.js'
import { registerCommands } from './commands.js'
import { createOutput } from './output.js'

const json = process.argv.includes('--json')
const out = createOutput(json)

const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string
}

const program = new Command('tapestry')
  .description('Tapestry: a tribe’s stories and consent, peer to peer, local first')
  .version(pkg.version)
  .addOption(new Option('--data <dir>', 'data directory').env('TAPESTRY_DATA'))
  .option('--json', 'machine-readable output: one JSON value on stdout, errors as JSON on stderr')
  .exitOverride()
  // Errors are printed by `out.fail` (JSON or text with a hint); commander only writes the
  // help it shows when a command is missing (`tapestry`, `tapestry tribe`), and only for people.
  .configureOutput({
    writeErr: (s) => {
      if (!json) process.stderr.write(s)
    },
    outputError: () => {},
  })

registerCommands(program, out)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) process.exit(0)
    if (err.code === 'commander.help') {
      out.fail(new UsageError('a command is required', 'see `tapestry --help`'))
    }
    out.fail(new UsageError(err.message.replace(/^error: /, ''), 'see `tapestry --help`'))
  }
  out.fail(err)
}
