import type { Command } from 'commander';
import type { Channel } from 'nice-grpc';
import { MultipathLayout } from '@xsctl/proto/gen/xsctl/agent/v1/multipath';
import {
  MultipathRolloutServiceDefinition,
  type MultipathRolloutEvent,
  type MultipathRolloutOptions,
  type MultipathRolloutServiceClient,
  type MultipathRolloutServicePlanResponse,
} from '@xsctl/proto/gen/xsctl/controller/v1/multipath_rollout';
import type { DeadlineOptions } from '@xsctl/common/grpc/index';
import { serviceClient, withController } from '../../client/connect-controller.js';
import type { GlobalFlags } from '../../config/cli-config.js';
import { CliError } from '../../output/cli-error.js';
import { ExitCode } from '../../output/exit-codes.js';
import { formatTable, printJson, progress } from '../../output/output.js';
import { followEvents } from '../storage/follow-events.js';

export function multipathRolloutClient(channel: Channel, deadlineMs = 24 * 3_600_000): MultipathRolloutServiceClient<DeadlineOptions> {
  return serviceClient(channel, MultipathRolloutServiceDefinition, deadlineMs);
}

const GiB = 1024 ** 3;

/** The plan: one row per host in its turn, then per host the settings, moves, SRs and stanza diff. */
export function renderRolloutPlan(p: MultipathRolloutServicePlanResponse): string {
  const rows = p.hosts.map((h) => [h.order === 0 ? '-' : String(h.order), h.host, h.role, h.action, h.stanzaChanges ? 'changes' : 'in place', h.multipathingChanges.length === 0 ? 'set' : `${h.multipathingChanges.length} change(s)`, String(h.moves.length), String(h.srs.length)]);
  const out = [formatTable(['TURN', 'HOST', 'ROLE', 'ACTION', 'STANZA', 'MULTIPATHING', 'MOVES', 'SRS'], rows).trimEnd()];
  for (const h of p.hosts) {
    out.push('', `== ${h.host} (${h.action})`);
    for (const n of h.notes) out.push(`   ${n}`);
    if (h.action !== 'rollout') continue;
    for (const m of h.moves) out.push(`   move ${m.vm} -> ${m.to} (${(m.memoryBytes / GiB).toFixed(1)} GiB)${m.room ? ' to make room' : ''}`);
    for (const v of h.pinned) out.push(`   shut down while in maintenance, started after: ${v.vm} (${v.code})`);
    for (const c of h.multipathingChanges) out.push(`   XAPI (${h.xapiMethod}): ${c}`);
    for (const s of h.srs) out.push(`   re-plug SR ${s.sr} (${s.type}${s.attached ? '' : ', not attached now'})${s.luns.length === 0 ? '' : `: ${s.luns.join(', ')}`}`);
    out.push(h.stanzaChanges ? `   ${h.targetPath}:\n${h.stanzaDiff.trimEnd()}` : `   ${h.targetPath}: the stanza is in place`);
  }
  out.push('');
  for (const w of p.warnings) out.push(`WARNING: ${w}`);
  for (const b of p.blockers) out.push(`BLOCKER: ${b}`);
  if (p.runnable) out.push('nothing blocks it: run again with --yes to roll it out');
  return `${out.join('\n')}\n`;
}

/** One stderr line per event worth a line. */
export function rolloutEventLine(e: MultipathRolloutEvent): string | null {
  const t = e.at.slice(11, 19);
  const where = e.host === '' ? e.step : `${e.host} ${e.step}`;
  switch (e.kind) {
    case 'host-started':
      return `${t}  ${e.host}: maintenance mode ...`;
    case 'host-skipped':
      return `${t}  ${e.message}`;
    case 'step-started':
      return `${t}  ${where} ...`;
    case 'step-done':
      return `${t}  ${where} done`;
    case 'step-verified':
      return `${t}  ${where} done (found done)`;
    case 'step-failed':
      return `${t}  ${where} FAILED: ${e.message}`;
    case 'progress':
      return e.message === '' ? null : `${t}    ${e.message}`;
    case 'paths-missing':
    case 'warning':
      return `${t}  ${e.message}`;
    case 'controller-restarted':
      return `${t}  the controller restarted: continuing from the journal`;
    case 'paused':
      return `${t}  rollout paused`;
    case 'workflow-finished':
      return `${t}  rollout ${e.state}${e.message === '' ? '' : `: ${e.message}`}`;
    default:
      return null;
  }
}

interface RolloutFlags {
  pool: string;
  profile: string;
  plan?: boolean;
  yes?: boolean;
  json?: boolean;
  paths?: string;
  pathTimeout?: string;
  pollInterval?: string;
  maxParallel?: string;
  exclude?: string[];
  override?: string[];
  layout?: string;
}

function intFlag(name: string, value: string | undefined, min: number, max: number): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError('BAD_FLAG', `${name} must be a whole number from ${min} to ${max}`, `got "${value}"`);
  return n;
}

function layoutOf(s: string | undefined): MultipathLayout {
  if (s === undefined) return MultipathLayout.MULTIPATH_LAYOUT_UNSPECIFIED;
  if (s === 'main-file') return MultipathLayout.MULTIPATH_LAYOUT_MAIN_FILE;
  if (s === 'conf-d') return MultipathLayout.MULTIPATH_LAYOUT_CONF_D;
  throw new CliError('BAD_FLAG', `unknown layout "${s}"`, 'one of: main-file, conf-d');
}

export function rolloutOptions(f: RolloutFlags): MultipathRolloutOptions {
  return {
    pool: f.pool,
    profile: f.profile,
    expectedPaths: intFlag('--paths', f.paths, 1, 32),
    pathTimeoutSeconds: intFlag('--path-timeout', f.pathTimeout, 1, 3600),
    pollIntervalMs: intFlag('--poll-interval', f.pollInterval, 10, 60_000),
    maxParallel: intFlag('--max-parallel', f.maxParallel, 1, 16),
    exclude: f.exclude ?? [],
    overrides: f.override ?? [],
    layout: layoutOf(f.layout),
  };
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function registerMultipathRollout(mp: Command): void {
  mp.command('rollout')
    .description(
      "StarWind's multipath steps on every host of a pool, one host at a time, as a journaled, resumable workflow: maintenance mode (disable, evacuate), the profile's stanza (validated apply), multipathing on through XAPI as XenCenter does, the host's shared SR PBDs re-plugged, every LUN at the expected active paths (else it pauses with the host left in maintenance), maintenance mode off; VMs stay where they went (operator only)",
    )
    .requiredOption('--pool <name>', 'the pool')
    .requiredOption('--profile <name>', 'an array profile (`xsctl multipath profiles`)')
    .option('--plan', 'print what each host will get (stanza diff, evacuation moves, SRs re-plugged) and change nothing')
    .option('--yes', 'do it (without: the plan, and exit 1)')
    .option('--paths <n>', 'active paths every LUN must show after the re-plug (default 2)')
    .option('--path-timeout <seconds>', 'how long to wait for them before pausing (default 120)')
    .option('--poll-interval <ms>', 'how often to look (default 2000)')
    .option('--max-parallel <n>', 'migrations at once (default 2)')
    .option('--exclude <host>', 'leave a host out: not changed, not evacuated (repeatable)', collect)
    .option('--override <code>', 'VMs blocked by this XAPI code are shut down while their host is in maintenance, started after (repeatable)', collect)
    .option('--layout <layout>', 'main-file or conf-d (default: from each host)')
    .option('--json', 'print JSON (the plan, or one event per line)')
    .action(async (flags: RolloutFlags, cmd: Command) => {
      const options = rolloutOptions(flags);
      await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel, address }) => {
        const client = multipathRolloutClient(channel);
        if (flags.yes !== true || flags.plan === true) {
          progress(`plan of the multipath rollout of ${flags.pool} (profile ${flags.profile}) via ${address}; nothing changes ...`);
          const plan = await client.plan({ options });
          if (flags.json === true) printJson(plan);
          else process.stdout.write(renderRolloutPlan(plan));
          if (!plan.runnable) process.exitCode = ExitCode.FINDINGS;
          else if (flags.plan !== true) {
            progress('dry run: nothing changed; add --yes to roll it out');
            process.exitCode = ExitCode.FINDINGS;
          }
          return;
        }
        progress(`multipath rollout of ${flags.pool} (profile ${flags.profile}) via ${address}; the same command again continues a paused or interrupted one ...`);
        const state = await followEvents(client.start({ options, confirm: true }), flags.json === true, rolloutEventLine, (e, previous) => (e.kind === 'workflow-finished' || e.kind === 'paused' ? e.state : previous));
        if (flags.json !== true && state === 'paused') progress('paused: the host above stays in maintenance; fix it, then run the same command again');
      });
    });
}
