import type { Command } from 'commander';
import type { StorageSetupServiceStatusResponse } from '@xsctl/proto/gen/xsctl/controller/v1/storage_setup';
import { withController } from '../../client/connect-controller.js';
import type { GlobalFlags } from '../../config/cli-config.js';
import { formatTable, printJson } from '../../output/output.js';
import { storageSetupClient } from './setup.js';
import { ExitCode } from '../../output/exit-codes.js';

export function renderSetupStatus(s: StorageSetupServiceStatusResponse): string {
  const out = [`storage setup ${s.workflowId} of ${s.pool}: ${s.state}${s.error === '' ? '' : ` (${s.error})`}`];
  out.push(formatTable(['STEP', 'HOST', 'STATUS', 'DETAIL'], s.steps.map((x) => [x.step, x.host, x.status, x.detail.length > 100 ? `${x.detail.slice(0, 97)}...` : x.detail])).trimEnd());
  for (const h of s.hosts) {
    const st = h.status;
    if (st === undefined) {
      out.push(`${h.host}: ${h.errorCode} ${h.errorMessage}`);
      continue;
    }
    const drbd = st.drbd.map((d) => `${d.name} ${d.role}/${d.peerRole} ${d.disk}/${d.peerDisk} ${d.connection}`).join(', ') || 'no resource up';
    out.push(`${h.host}${h.isMaster ? ' (pool master)' : ''}: role ${st.apparentRole}; drbd ${drbd}; tgtd ${st.tgtdRunning ? 'running' : 'stopped'}; floating IP ${st.floatingIpPresent ? 'here' : 'not here'}`);
  }
  return `${out.join('\n')}\n`;
}

export function registerStorageSetupStatus(storage: Command): void {
  storage
    .command('setup-status')
    .description("the pool's latest storage setup: each step on each host from the journal, and each host's storage now")
    .requiredOption('--pool <name>', 'the pool')
    .option('--id <workflow>', 'a given setup (default: the latest)')
    .option('--json', 'print JSON')
    .action(async (flags: { pool: string; id?: string; json?: boolean }, cmd: Command) => {
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), ({ channel }) => storageSetupClient(channel, 60_000).status({ pool: flags.pool, workflowId: flags.id ?? '' }));
      if (flags.json === true) printJson(res);
      else process.stdout.write(renderSetupStatus(res));
      if (res.state !== 'done') process.exitCode = ExitCode.FINDINGS;
    });
}
