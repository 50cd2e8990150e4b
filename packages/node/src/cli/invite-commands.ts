import type { Command } from 'commander'
import { UsageError } from '../errors.js'
import type { InviteApi } from '../invite/api-types.js'
import type { InviteRole } from '../invite/invitation.js'
import { parseInviteCode } from '../invite/invitation.js'
import { type Output, short, table } from './output.js'

interface Globals {
  data?: string
  json?: boolean
}

/** How a command reaches the node (commands.ts `withApi`). */
export type WithApi = <T>(globals: Globals, fn: (api: InviteApi) => Promise<T>) => Promise<T>

const UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
}

/** `30m`, `12h`, `7d`, `2w`, `90s` → milliseconds. Throws UsageError otherwise. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d{1,6})\s*([smhdw])\s*$/i.exec(text)
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined
  const n = m ? Number(m[1]) : 0
  if (unit === undefined || n <= 0) {
    throw new UsageError(
      `not a duration: ${text}`,
      'write a number and a unit, e.g. 30m, 12h, 7d or 2w',
    )
  }
  return n * unit
}

function positiveInt(text: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`not a whole number ≥ 1: ${text}`)
  }
  return n
}

function role(text: string): InviteRole {
  if (text !== 'member' && text !== 'steward') {
    throw new UsageError(`not a role: ${text}`, 'use --role member or --role steward')
  }
  return text
}

const collect = (value: string, previous: string[] = []) => [...previous, value]
const when = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ')

export function registerInviteCommands(program: Command, out: Output, withApi: WithApi): void {
  const globals = (cmd: Command) => cmd.optsWithGlobals() as Globals
  const run = (cmd: Command, fn: (api: InviteApi) => Promise<void>) => withApi(globals(cmd), fn)

  const invite = program
    .command('invite')
    .description('invite someone into a tribe: prints a code that is a secret')
    .option('--tribe <id>', 'the tribe (may be left out when you belong to one)')
    .option('--role <role>', 'member | steward', role)
    .option('--expires <duration>', 'how long the code stays valid, e.g. 30m, 12h, 7d', '7d')
    .option('--uses <n>', 'how many people may join with it', '1')
    .option('--address <multiaddr>', 'an address to reach a member at (repeatable)', collect)
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const input = {
        tribeId: opts.tribe as string | undefined,
        role: opts.role as InviteRole | undefined,
        expiresInMs: parseDuration(String(opts.expires)),
        uses: positiveInt(String(opts.uses)),
        addresses: opts.address as string[] | undefined,
      }
      await run(cmd, async (api) => {
        const r = await api.invite(input)
        out.result({ invite: r.invite }, () =>
          [
            r.invite,
            '',
            `This code lets ${input.uses === 1 ? 'one person' : `${input.uses} people`} join until ${when(r.expiresAt)} UTC (invitation ${r.invitationId}).`,
            'It is a SECRET: it holds the tribe’s network key. Send it only to the person you',
            'are inviting, over a private channel; anyone who sees it can reach the tribe.',
            `Revoke it with \`tapestry invite revoke ${r.invitationId}\`.`,
          ].join('\n'),
        )
      })
    })

  invite
    .command('revoke <id>')
    .description('revoke an invitation: no member node admits anyone with it any more')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await run(cmd, async (api) => {
        const r = await api.revokeInvite(id)
        out.result(r, () => `Invitation ${r.id} revoked.`)
      })
    })

  program
    .command('join <code>')
    .description('join a tribe with an invitation code')
    .action(async (code: string, _opts: unknown, cmd: Command) => {
      // Checked offline first: a damaged or expired code never opens the data directory.
      parseInviteCode(code)
      await run(cmd, async (api) => {
        const r = await api.join(code)
        out.result(r, () => `Joined tribe ${r.name} (${r.tribeId}).`)
      })
    })

  program
    .command('invites')
    .description('invitations you issued, with their uses left')
    .option('--tribe <id>', 'only this tribe')
    .action(async (opts: { tribe?: string }, cmd: Command) => {
      await run(cmd, async (api) => {
        const list = await api.invites({ tribeId: opts.tribe })
        out.result(list, () =>
          table(
            ['id', 'tribe', 'role', 'expires (UTC)', 'uses left', 'state'],
            list.map((i) => [
              i.id,
              short(i.tribeId),
              i.role,
              when(i.expiresAt),
              `${i.usesLeft}/${i.uses}`,
              i.revoked
                ? 'revoked'
                : i.expiresAt < Date.now()
                  ? 'expired'
                  : i.usesLeft === 0
                    ? 'used'
                    : 'open',
            ]),
          ),
        )
      })
    })

  program
    .command('members')
    .description('the members of a tribe')
    .option('--tribe <id>', 'the tribe (may be left out when you belong to one)')
    .action(async (opts: { tribe?: string }, cmd: Command) => {
      await run(cmd, async (api) => {
        const ms = await api.members({ tribeId: opts.tribe })
        out.result(ms, () =>
          table(
            ['member', 'name', 'role', 'joined (UTC)'],
            ms.map((m) => [m.memberId, m.name, m.role, when(m.joinedAt)]),
          ),
        )
      })
    })
}
