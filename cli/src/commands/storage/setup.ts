import type { Command } from 'commander';
import type { Channel } from 'nice-grpc';
import { StorageSetupServiceDefinition, type StorageSetupEvent, type StorageSetupOptions, type StorageSetupServiceClient, type StorageSetupServicePlanResponse } from '@xsctl/proto/gen/xsctl/controller/v1/storage_setup';
import type { DeadlineOptions } from '@xsctl/common/grpc/index';
import { serviceClient, withController } from '../../client/connect-controller.js';
import type { GlobalFlags } from '../../config/cli-config.js';
import { ExitCode } from '../../output/exit-codes.js';
import { formatTable, printJson, progress } from '../../output/output.js';
import { followEvents } from './follow-events.js';
import { loadSpecFile } from './spec-file.js';

export function storageSetupClient(channel: Channel, deadlineMs = 24 * 3_600_000): StorageSetupServiceClient<DeadlineOptions> {
  return serviceClient(channel, StorageSetupServiceDefinition, deadlineMs);
}

/** The dry run: one row per step and host, then what stops the setup as asked. */
export function renderSetupPlan(p: StorageSetupServicePlanResponse): string {
  const rows = p.steps.map((s) => [s.step, s.host, s.changes ? 'change' : 'ok', s.detail]);
  const out = [formatTable(['STEP', 'HOST', 'WOULD', 'DETAIL'], rows).trimEnd()];
  for (const s of p.steps) if (s.diff !== '') out.push(`--- ${s.step} on ${s.host}\n${s.diff.trimEnd()}`);
  if (p.problems.length === 0) out.push('\nno problems: run again with --yes to set the pool up');
  else for (const problem of p.problems) out.push(`PROBLEM: ${problem}`);
  return `${out.join('\n')}\n`;
}

/** One stderr line per event: step, host, outcome; sync progress; each host's state on a failure. */
export function setupEventLine(e: StorageSetupEvent): string | null {
  const t = e.at.slice(11, 19);
  const where = e.host === '' ? e.step : `${e.step} ${e.host}`;
  switch (e.kind) {
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
    case 'host-state':
      return `${t}  state now: ${e.message}`;
    case 'workflow-finished':
      return `${t}  setup ${e.state}${e.message === '' ? '' : `: ${e.message}`}`;
    default:
      return null;
  }
}

interface SetupFlags {
  pool: string;
  spec: string;
  yes?: boolean;
  createMd?: boolean;
  wipeSignatures?: boolean;
  syncFrom?: string;
  json?: boolean;
}

export async function setupOptions(flags: SetupFlags): Promise<StorageSetupOptions> {
  const file = await loadSpecFile(flags.spec);
  return {
    pool: flags.pool,
    spec: { drbd: file.drbd, storage: file.storage, firewall: file.firewall, timing: file.timing, syncFrom: flags.syncFrom ?? file.syncFrom },
    createMd: flags.createMd === true,
    wipeSignatures: flags.wipeSignatures === true,
  };
}

export function registerStorageSetup(storage: Command): void {
  storage
    .command('setup')
    .description("the iSCSI-HA how-to on both hosts as one journaled, resumable workflow: LVM filter, multipath blacklist, firewall, drbd.conf, create-md, DRBD up, initial sync, targets.conf, roles, boot-time role config (operator only)")
    .requiredOption('--pool <name>', 'the two-node pool')
    .requiredOption('--spec <file>', 'storage spec (YAML): drbd, target, floatingIp, firewall, timing, syncFrom')
    .option('--yes', 'do it (without: a dry run of every step on every host)')
    .option('--create-md', 'allow drbdadm create-md on backing disks without DRBD metadata: it DESTROYS what they hold')
    .option('--wipe-signatures', 'erase filesystem/LVM signatures on the backing disks before create-md (the how-to dd)')
    .option('--sync-from <host>', "whose data the initial sync keeps (default: the spec's syncFrom, else the pool master)")
    .option('--json', 'print JSON (the plan, or one event per line)')
    .action(async (flags: SetupFlags, cmd: Command) => {
      const options = await setupOptions(flags);
      await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel, address }) => {
        const client = storageSetupClient(channel);
        if (flags.yes !== true) {
          progress(`dry run of the storage setup of ${flags.pool} via ${address} ...`);
          const plan = await client.plan({ options });
          if (flags.json === true) printJson(plan);
          else process.stdout.write(renderSetupPlan(plan));
          if (plan.problems.length > 0) process.exitCode = ExitCode.FINDINGS;
          return;
        }
        progress(`storage setup of ${flags.pool} via ${address} (a re-run continues a failed one) ...`);
        await followEvents(client.start({ options, confirm: true }), flags.json === true, setupEventLine, (e, previous) => (e.kind === 'workflow-finished' || e.kind === 'paused' ? e.state : previous));
      });
    });
}
