import type { Command } from 'commander';
import type { Channel } from 'nice-grpc';
import { StorageFailoverServiceDefinition, type GetWitnessStatusResponse, type StorageFailoverServiceClient, type StorageWorkflowEvent } from '@xsctl/proto/gen/xsctl/controller/v1/storage_failover';
import type { DeadlineOptions } from '@xsctl/common/grpc/index';
import type { PeerView } from '@xsctl/proto/gen/xsctl/agent/v1/peer_view';
import { serviceClient, withController } from '../../client/connect-controller.js';
import type { GlobalFlags } from '../../config/cli-config.js';
import { CliError } from '../../output/cli-error.js';
import { formatTable, printJson, progress } from '../../output/output.js';
import { followEvents } from './follow-events.js';

export function storageFailoverClient(channel: Channel, deadlineMs = 3_600_000): StorageFailoverServiceClient<DeadlineOptions> {
  return serviceClient(channel, StorageFailoverServiceDefinition, deadlineMs);
}

/** One progress line per workflow event, on stderr: step, host, outcome. */
export function eventLine(e: StorageWorkflowEvent): string | null {
  const data = (() => {
    try {
      return JSON.parse(e.dataJson) as Record<string, unknown>;
    } catch {
      return {};
    }
  })();
  const t = e.at.slice(11, 23);
  switch (e.kind) {
    case 'step-started':
      return `${t}  ${e.step}${e.host === '' ? '' : ` (${e.host})`} ...`;
    case 'step-done':
      return `${t}  ${e.step} done`;
    case 'step-failed':
      return `${t}  ${e.step} FAILED: ${e.message}`;
    case 'progress':
      return e.message === '' ? null : `${t}    ${e.message}`;
    case 'fencing-failed':
      return `${t}  FENCING FAILED: ${e.message} -- nothing was promoted`;
    case 'failover-timeline':
      return `${t}  timeline: ${JSON.stringify(data['timeline'] ?? {})}`;
    case 'workflow-finished':
      return `${t}  ${String(data['state'] ?? e.state)}${e.message === '' ? '' : `: ${e.message}`}`;
    default:
      return e.message === '' ? null : `${t}  ${e.kind}: ${e.message}`;
  }
}

/** The workflow's state after `e`: a finished event carries the final one in its data. */
function stateAfter(e: StorageWorkflowEvent): string {
  if (e.kind !== 'workflow-finished') return e.state;
  try {
    return String((JSON.parse(e.dataJson) as Record<string, unknown>)['state'] ?? e.state);
  } catch {
    return e.state;
  }
}

/**
 * Self-fenced (when), or held: a survivor promoted after its peer was powered off does not
 * self-fence on a late witness while that peer answers on neither link (peer-watch.ts).
 */
function selfFenceCell(v: PeerView | undefined): string {
  if (v?.selfFenced === true) return v.selfFencedAt;
  if (v?.peerFencedHold === true) return `held: peer powered off (since ${v.peerFencedHoldSince.slice(11, 19)})`;
  return 'no';
}

export function renderWitness(s: GetWitnessStatusResponse): string {
  const out = [`witness: storage master ${s.storageMaster || '(none seen)'}; automatic failover ${s.automatic ? 'ON' : 'off'}`];
  out.push(
    formatTable(
      ['HOST', 'HEARTBEAT', 'HOLDS', 'REPLICATION', 'PEER (REPL/MGMT ARP)', 'SELF-FENCED'],
      s.hosts.map((h) => [
        h.host,
        h.reachable ? `ok ${h.lastSeen.slice(11, 19)}` : `LOST${h.lastSeen === '' ? '' : ` since ${h.lastSeen.slice(11, 19)}`}`,
        h.view?.heldRole ?? '-',
        h.view?.drbd.map((d) => `${d.name}:${d.connection}`).join(', ') || '-',
        h.view === undefined ? '-' : `${h.view.replicationReachable ? 'yes' : 'no'}/${h.view.managementReachable ? 'yes' : 'no'}`,
        selfFenceCell(h.view),
      ]),
    ).trimEnd(),
  );
  if (s.last !== undefined) out.push(`last ${s.last.kind.replace('storage-', '')}: ${s.last.at} ${s.last.from} -> ${s.last.to} (${s.last.state}); reason: ${s.last.reason}; timeline ${s.last.timelineJson}`);
  // A failed failover or switchover says why, with its typed code (a refusal names the safety rule).
  if (s.last !== undefined && s.last.error !== '') out.push(`FAILED${s.last.errorCode === '' ? '' : ` (${s.last.errorCode})`}: ${s.last.error}`);
  for (const a of s.alerts) out.push(`ALERT: ${a}`);
  return `${out.join('\n')}\n`;
}

export function registerSwitchoverFailover(storage: Command): void {
  storage
    .command('switchover')
    .description('planned switchover: demote the storage master, promote its peer, verify as an initiator (operator only)')
    .requiredOption('--pool <name>', 'the pool')
    .option('--to <host>', 'the host to serve from (default: the other one)')
    .option('--yes', 'do it (without: only the checks run)')
    .option('--json', 'one event per line as JSON')
    .addHelpText('after', '\nExamples:\n  xsctl storage switchover --pool lab            # checks only\n  xsctl storage switchover --pool lab --yes      # moves the storage to the peer\n')
    .action(async (flags: { pool: string; to?: string; yes?: boolean; json?: boolean }, cmd: Command) => {
      await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel, address }) => {
        progress(`switchover of ${flags.pool} via ${address} ...`);
        await followEvents(storageFailoverClient(channel).switchover({ pool: flags.pool, to: flags.to ?? '', confirm: flags.yes === true }), flags.json === true, eventLine, stateAfter);
      });
    });

  storage
    .command('failover')
    .description('unplanned failover under the witness checks: fence the lost master, promote the survivor, recover XAPI (operator only)')
    .requiredOption('--pool <name>', 'the pool')
    .requiredOption('--reason <text>', 'why (recorded with the failover)')
    .option('--yes', 'do it')
    .option('--json', 'one event per line as JSON')
    .addHelpText('after', '\nExample:\n  xsctl storage failover --pool lab --reason "xcp1 lost power" --yes\n')
    .action(async (flags: { pool: string; reason: string; yes?: boolean; json?: boolean }, cmd: Command) => {
      if (flags.reason.trim() === '') throw new CliError('BAD_FLAG', '--reason is empty', 'say why');
      await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel, address }) => {
        progress(`failover of ${flags.pool} via ${address} ...`);
        await followEvents(storageFailoverClient(channel).failover({ pool: flags.pool, reason: flags.reason, confirm: flags.yes === true }), flags.json === true, eventLine, stateAfter);
      });
    });

  storage
    .command('witness')
    .description('what the controller (the witness) sees of each storage host, the last failover and its reason')
    .requiredOption('--pool <name>', 'the pool')
    .option('--json', 'print JSON')
    .action(async (flags: { pool: string; json?: boolean }, cmd: Command) => {
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), ({ channel }) => storageFailoverClient(channel, 30_000).getWitnessStatus({ pool: flags.pool }));
      if (flags.json === true) printJson(res);
      else process.stdout.write(renderWitness(res));
    });
}
