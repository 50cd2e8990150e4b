import type { Command } from 'commander'
import { UsageError } from '../errors.js'
import type { FederationApi, LinkCategory } from '../federation/api-types.js'
import { parseOffer } from '../federation/offer.js'
import { parseDuration } from './invite-commands.js'
import { type Output, short, table } from './output.js'

interface Globals {
  data?: string
  json?: boolean
}

/** How a command reaches the node (commands.ts `withApi`). */
export type WithFederationApi = <T>(
  globals: Globals,
  fn: (api: FederationApi) => Promise<T>,
) => Promise<T>

const collect = (value: string, previous: string[] = []) => [...previous, value]
const when = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ')

function terms(text: string): LinkCategory[] {
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  for (const t of list) {
    if (t !== 'narratives' && t !== 'echoes' && t !== 'profile') {
      throw new UsageError(`not a category: ${t}`, 'use --terms narratives,echoes (or profile)')
    }
  }
  return list as LinkCategory[]
}

/**
 * `tapestry federate propose|accept|end` and `tapestry federation`: links between two
 * tribes, signed by a steward of each, over which `federated` narratives flow.
 */
export function registerFederationCommands(
  program: Command,
  out: Output,
  withApi: WithFederationApi,
): void {
  const globals = (cmd: Command) => cmd.optsWithGlobals() as Globals
  const run = (cmd: Command, fn: (api: FederationApi) => Promise<void>) => withApi(globals(cmd), fn)

  const federate = program
    .command('federate')
    .description('link this tribe with another one (stewards): what members mark federated flows')

  federate
    .command('propose')
    .description('propose a link: prints an offer code that is a secret')
    .option('--tribe <id>', 'your tribe (may be left out when you belong to one)')
    .option('--address <multiaddr>', 'an address of this node’s link host (repeatable)', collect)
    .option('--terms <categories>', 'what flows: narratives,echoes (and/or profile)', terms)
    .option('--expires <duration>', 'how long the offer may be accepted, e.g. 12h, 7d', '7d')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const input = {
        tribeId: opts.tribe as string | undefined,
        addresses: opts.address as string[] | undefined,
        terms: opts.terms as LinkCategory[] | undefined,
        expiresInMs: parseDuration(String(opts.expires)),
      }
      await run(cmd, async (api) => {
        const r = await api.federatePropose(input)
        out.result({ offer: r.offer }, () =>
          [
            r.offer,
            '',
            `Offer for link ${r.linkId}, valid until ${when(r.expiresAt)} UTC.`,
            'It is a SECRET: it holds the link’s network key. Send it only to a steward of the',
            'other tribe, over a private channel. Once they accept, members’ narratives marked',
            '`federated` flow both ways; nothing else does.',
          ].join('\n'),
        )
      })
    })

  federate
    .command('accept <code>')
    .description('accept another tribe’s offer (a steward): the link is live once both sign')
    .option('--tribe <id>', 'your tribe (may be left out when you belong to one)')
    .action(async (code: string, opts: { tribe?: string }, cmd: Command) => {
      // Checked offline first: a damaged or expired offer never opens the data directory.
      parseOffer(code)
      await run(cmd, async (api) => {
        const r = await api.federateAccept(code, { tribeId: opts.tribe })
        out.result({ linkId: r.linkId }, () =>
          [
            `Accepted link ${r.linkId} with ${r.partner.name} (${r.partner.id}).`,
            'Your node dials the proposer and gets its countersignature; then the link is live.',
          ].join('\n'),
        )
      })
    })

  federate
    .command('end <linkId>')
    .description('end a link (a steward of either tribe): the other tribe erases what it holds')
    .action(async (linkId: string, _opts: unknown, cmd: Command) => {
      await run(cmd, async (api) => {
        const r = await api.federateEnd(linkId)
        out.result(
          r,
          () =>
            `Link ${r.linkId} ended: nothing more flows; the other tribe's nodes erase what they hold.`,
        )
      })
    })

  program
    .command('federation')
    .description('federation links this node knows')
    .action(async (_opts: unknown, cmd: Command) => {
      await run(cmd, async (api) => {
        const links = await api.federation()
        out.result(links, () =>
          table(
            ['link', 'status', 'tribe A', 'tribe B', 'terms', 'carrier'],
            links.map((l) => [
              l.linkId,
              l.status,
              `${l.tribeA.name} (${short(l.tribeA.id)})`,
              l.tribeB ? `${l.tribeB.name} (${short(l.tribeB.id)})` : '—',
              l.terms.join(','),
              l.carrier ? 'yes' : 'no',
            ]),
          ),
        )
      })
    })
}
