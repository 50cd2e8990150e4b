import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { ControlClient } from '../api/control-client.js'
import { readControlInfo } from '../api/control-file.js'
import type { NarrativeView, NodeApi } from '../core/node-api.js'
import { paths, resolveDataDir } from '../data-dir.js'
import { TapestryError, UsageError } from '../errors.js'
import { createIdentity } from '../identity/index.js'
import { Tapestry } from '../root/tapestry.js'
import { probeLock } from '../store/index.js'
import { registerFederationCommands } from './federation-commands.js'
import { registerInviteCommands } from './invite-commands.js'
import { type Output, short, table } from './output.js'
import { registerUiCommand } from './ui-command.js'

interface Globals {
  data?: string
  json?: boolean
}

/**
 * Runs `fn` against the member's node: through the control API when `tapestry start`
 * holds this data directory (the store lock says so, not a pid file), else by opening
 * the store directly for the length of the command.
 */
async function withApi<T>(globals: Globals, fn: (api: NodeApi) => Promise<T>): Promise<T> {
  const dataDir = resolveDataDir(globals.data)
  if (await probeLock(paths.store(dataDir))) {
    const info = await readControlInfo(dataDir)
    if (!info) {
      throw new TapestryError(
        'NODE_STARTING',
        'a node is running on this data directory but its control API is not ready',
        'wait a moment and retry',
      )
    }
    return fn(new ControlClient(info))
  }
  // No node runs here: open one for this command only (offline, as the root opens it).
  const tapestry = await Tapestry.open({ dataDir })
  try {
    return await fn(tapestry.node)
  } finally {
    await tapestry.close()
  }
}

async function readBodyFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    throw new UsageError(
      `cannot read --body-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      'give a readable text file, or the text itself with --body',
    )
  }
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

function narrativeRows(ns: NarrativeView[]): string {
  return table(
    ['id', 'title', 'audience', 'status', 'authors', 'created'],
    ns.map((n) => [
      n.id,
      n.title,
      n.audience,
      n.status,
      n.authors.map(short).join(','),
      new Date(n.createdAt).toISOString().slice(0, 16).replace('T', ' '),
    ]),
  )
}

export function registerCommands(program: Command, out: Output): void {
  registerInviteCommands(program, out, withApi)
  registerUiCommand(program, out)
  registerFederationCommands(program, out, withApi)
  const globals = (cmd: Command) => cmd.optsWithGlobals() as Globals
  const run = (cmd: Command, fn: (api: NodeApi) => Promise<void>) => withApi(globals(cmd), fn)

  program
    .command('init')
    .description('create this member’s identity (an Ed25519 key) in the data directory')
    .requiredOption('--name <name>', 'the name other members see')
    .action(async (opts: { name: string }, cmd: Command) => {
      const id = await createIdentity(resolveDataDir(globals(cmd).data), opts.name)
      out.result({ memberId: id.memberId, name: id.name }, () =>
        [`Created member ${id.memberId} (${id.name}).`, 'Next: `tapestry tribe create NAME`.'].join(
          '\n',
        ),
      )
    })

  const tribe = program.command('tribe').description('create and manage tribes')
  tribe
    .command('create <name>')
    .description('create a tribe with this member as its steward and a fresh swarm key')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await run(cmd, async (api) => {
        const t = await api.createTribe(name)
        out.result(t, () => `Created tribe ${t.name} (${t.tribeId}); you are its steward.`)
      })
    })

  tribe
    .command('key')
    .description('print the tribe’s swarm key (swarm.key format): a secret')
    .option('--tribe <id>', 'the tribe (may be left out when you belong to one)')
    .action(async (opts: { tribe?: string }, cmd: Command) => {
      await run(cmd, async (api) => {
        const k = await api.tribeKey({ tribeId: opts.tribe })
        if (!out.json) {
          process.stderr.write(
            'warning: this key opens the tribe’s private network. Share it only with a relay you run; never post it.\n',
          )
        }
        out.result(k, () => k.swarmKey.trimEnd())
      })
    })

  program
    .command('remove <memberId>')
    .description(
      'remove a member (a steward): their later writes are refused, the tribe gets a new key',
    )
    .option('--tribe <id>', 'the tribe (may be left out when you belong to one)')
    .action(async (memberId: string, opts: { tribe?: string }, cmd: Command) => {
      await run(cmd, async (api) => {
        const r = await api.remove(memberId, { tribeId: opts.tribe })
        out.result(r, () =>
          [
            `Removed ${r.memberId} from ${r.tribeId}.`,
            `The tribe's network key is now epoch ${r.epoch}, sealed to every remaining member;`,
            'their nodes switch to it as the roster reaches them.',
          ].join('\n'),
        )
      })
    })

  program
    .command('peers')
    .description('members connected now (needs a running node)')
    .action(async (_opts: unknown, cmd: Command) => {
      await run(cmd, async (api) => {
        const ps = await api.peers()
        out.result(ps, () =>
          table(
            ['peer', 'name', 'tribe', 'since', 'address'],
            ps.map((p) => [
              short(p.peerId),
              p.name,
              short(p.tribeId),
              new Date(p.since).toISOString().slice(11, 19),
              p.addrs[0] ?? '',
            ]),
          ),
        )
      })
    })

  program
    .command('tribes')
    .description('the tribes this member belongs to')
    .action(async (_opts: unknown, cmd: Command) => {
      await run(cmd, async (api) => {
        const ts = await api.tribes()
        out.result(ts, () =>
          table(
            ['tribe', 'name', 'role', 'members'],
            ts.map((t) => [t.tribeId, t.name, t.role, String(t.members)]),
          ),
        )
      })
    })

  program
    .command('narrate')
    .description('write a narrative')
    .requiredOption('--title <title>', 'its title')
    .option('--body <text>', 'its body')
    .option('--body-file <file>', 'read its body from a file')
    .option('--tribe <id>', 'the tribe (may be left out when you belong to one)')
    .option('--audience <audience>', 'tribe | private | federated | circle:MEMBER,MEMBER')
    .option('--tags <tags>', 'comma-separated tags', list)
    .option('--mood <mood>', 'its mood')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      if ((opts.body === undefined) === (opts.bodyFile === undefined)) {
        throw new UsageError('give exactly one of --body or --body-file')
      }
      const body =
        typeof opts.bodyFile === 'string' ? await readBodyFile(opts.bodyFile) : String(opts.body)
      await run(cmd, async (api) => {
        const r = await api.narrate({
          title: String(opts.title),
          body,
          tribeId: opts.tribe as string | undefined,
          audience: opts.audience as string | undefined,
          tags: opts.tags as string[] | undefined,
          mood: opts.mood as string | undefined,
        })
        out.result(r, () => `Narrative ${r.narrativeId} written and stored.`)
      })
    })

  program
    .command('narratives')
    .description('narratives this member may see')
    .option('--tribe <id>', 'only this tribe')
    .action(async (opts: { tribe?: string }, cmd: Command) => {
      await run(cmd, async (api) => {
        const ns = await api.narratives({ tribeId: opts.tribe })
        out.result(ns, () => narrativeRows(ns))
      })
    })

  program
    .command('show <narrativeId>')
    .description('one narrative with its echoes')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await run(cmd, async (api) => {
        const n = await api.show(id)
        out.result(n, () =>
          [
            `${n.title}  [${n.audience}, ${n.status}]`,
            `by ${n.authors.join(', ')} · ${new Date(n.createdAt).toISOString()}`,
            n.tags.length ? `tags: ${n.tags.join(', ')}` : '',
            '',
            n.body,
            '',
            `${n.echoes.length} echo(es)`,
            ...n.echoes.map((e) => `  ${short(e.author)}: ${e.body}`),
          ]
            .filter((l, i) => l !== '' || i > 2)
            .join('\n'),
        )
      })
    })

  program
    .command('echo <narrativeId>')
    .description('respond to a narrative')
    .requiredOption('--body <text>', 'the response')
    .action(async (id: string, opts: { body: string }, cmd: Command) => {
      await run(cmd, async (api) => {
        const r = await api.echo(id, opts.body)
        out.result(r, () => `Echo ${r.echoId} written.`)
      })
    })

  program
    .command('withdraw <narrativeId>')
    .description('withdraw a narrative: its content is erased from this store')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await run(cmd, async (api) => {
        const r = await api.withdraw(id)
        out.result(r, () => `Narrative ${r.narrativeId} withdrawn; its content is erased here.`)
      })
    })

  program
    .command('coauthor <narrativeId> <memberId>')
    .description(
      'add a co-author: they may edit the body, and their consent also bounds the audience',
    )
    .action(async (id: string, member: string, _opts: unknown, cmd: Command) => {
      await run(cmd, async (api) => {
        const r = await api.coauthor(id, member)
        out.result(r, () => `Authors of ${r.narrativeId}: ${r.authors.join(', ')}`)
      })
    })

  const consent = program.command('consent').description('where your words may go')
  consent
    .command('show')
    .description('your current consent statements and their history')
    .action(async (_opts: unknown, cmd: Command) => {
      await run(cmd, async (api) => {
        const c = await api.consentShow()
        out.result(c, () =>
          [
            'Defaults per tribe:',
            table(
              ['tribe', 'narratives', 'echoes', 'profile'],
              c.defaults.map((d) => [d.tribeId, d.narratives, d.echoes, d.profile]),
            ),
            '',
            'Your narratives:',
            table(
              ['narrative', 'title', 'your consent', 'status'],
              c.narratives.map((n) => [n.narrativeId, n.title, n.audience, n.status]),
            ),
            '',
            'History:',
            table(
              ['when', 'what', 'audience'],
              c.history.map((h) => [
                new Date(h.at).toISOString().slice(0, 19).replace('T', ' '),
                h.narrativeId ?? `default for ${h.category}`,
                h.audience,
              ]),
            ),
          ].join('\n'),
        )
      })
    })
  consent
    .command('set')
    .description('state a new default for a category, or a narrative’s audience')
    .requiredOption('--audience <audience>', 'tribe | private | federated | circle:MEMBER,MEMBER')
    .option('--category <category>', 'narratives | echoes | profile')
    .option('--narrative <id>', 'one of your narratives')
    .option('--tribe <id>', 'the tribe (for a category default)')
    .action(async (opts: Record<string, string | undefined>, cmd: Command) => {
      await run(cmd, async (api) => {
        const r = await api.consentSet({
          audience: String(opts.audience),
          category: opts.category as 'narratives' | 'echoes' | 'profile' | undefined,
          narrativeId: opts.narrative,
          tribeId: opts.tribe,
        })
        out.result(r, () =>
          r.narrativeId
            ? `Your consent for ${r.narrativeId} is now ${r.audience}; members outside it erase it when they learn.`
            : `Your default for ${r.category} is now ${r.audience}.`,
        )
      })
    })

  program
    .command('receipts <narrativeId>')
    .description('who confirmed erasing a withdrawn narrative, and who not yet')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await run(cmd, async (api) => {
        const r = await api.receipts(id)
        out.result({ confirmed: r.confirmed, pending: r.pending }, () =>
          [
            `${r.confirmed.length} confirmed, ${r.pending.length} pending`,
            table(
              ['member', 'erased at'],
              r.confirmed.map((c) => [c.memberId, new Date(c.erasedAt).toISOString()]),
            ),
            ...(r.pending.length ? ['pending:', ...r.pending.map((m) => `  ${m}`)] : []),
          ].join('\n'),
        )
      })
    })

  program
    .command('status')
    .description('this member, their tribes, and whether a node is running')
    .action(async (_opts: unknown, cmd: Command) => {
      await run(cmd, async (api) => {
        const s = await api.status()
        out.result(s, () =>
          [
            `member    ${s.memberId} (${s.name})`,
            `node      ${s.running ? 'running' : 'not running'}`,
            `documents ${s.documents}`,
            '',
            table(
              ['tribe', 'name', 'role', 'members'],
              s.tribes.map((t) => [t.tribeId, t.name, t.role, String(t.members)]),
            ),
          ].join('\n'),
        )
      })
    })

  program
    .command('start')
    .description('run the node in the foreground until SIGINT or SIGTERM')
    .option(
      '--listen <multiaddr>',
      'listen address, repeatable (default /ip4/0.0.0.0/tcp/0)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--bootstrap <multiaddr>',
      'address of a member to dial, repeatable',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--no-mdns', 'do not discover or announce on the local network')
    .action(
      async (opts: { listen: string[]; bootstrap: string[]; mdns: boolean }, cmd: Command) => {
        // Loaded only here: the mesh (libp2p) is most of the CLI's start-up time.
        const { runNode } = await import('./start.js')
        await runNode({
          dataDir: resolveDataDir(globals(cmd).data),
          out,
          listen: opts.listen,
          bootstrap: opts.bootstrap,
          mdns: opts.mdns,
        })
      },
    )
}
