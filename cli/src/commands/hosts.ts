import type { Command } from 'commander';
import type { CertificateNotice, HostView } from '@xsctl/proto/gen/xsctl/controller/v1/controller';
import { AgentState } from '@xsctl/proto/gen/xsctl/controller/v1/controller';
import { expiryNotices, ownCertificate } from '@xsctl/controller/trust/certificate-expiry';
import { withController } from '../client/connect-controller.js';
import { formatTable, printJson, progress } from '../output/output.js';
import { loadCliConfig, type GlobalFlags } from '../config/cli-config.js';
import { ExitCode } from '../output/exit-codes.js';

/** The CLI's own certificate, when it expires within the warning window (or has): the controller's rule. */
export async function ownCertificateNotice(certFile: string, now = new Date()): Promise<CertificateNotice | null> {
  const own = await ownCertificate(certFile, 'cli');
  return own === null ? null : (expiryNotices([own], now)[0] ?? null);
}

export function describeNotice(n: CertificateNotice): string {
  const when = n.daysLeft < 0 ? `expired ${-n.daysLeft} days ago` : `expires in ${n.daysLeft} days`;
  return `warning: the ${n.kind} certificate ${n.name} (serial ${n.serial}) ${when} (${n.notAfter}): xsctl pki rotate ${n.name}`;
}

const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);

export function renderHosts(hosts: readonly HostView[]): string {
  return formatTable(
    ['POOL', 'HOST', 'ADDRESS', 'ROLE', 'ENABLED', 'LIVE', 'XAPI VERSION', 'VMS', 'MEM FREE/TOTAL GiB', 'AGENT', 'AGENT ROLE', 'AGENT VERSION', 'UPTIME h', 'NOTES'],
    hosts.map((h) => {
      const x = h.xapi;
      const a = h.agent;
      const ok = a?.state === AgentState.AGENT_STATE_OK;
      return [
        h.pool,
        x?.nameLabel,
        x?.address,
        x?.isMaster ? 'master' : 'slave',
        x?.enabled ? 'yes' : 'no',
        x?.live ? 'yes' : 'no',
        x ? `${x.productBrand} ${x.productVersion}` : '-',
        x?.residentVms,
        x ? `${gib(x.memoryFreeBytes)}/${gib(x.memoryTotalBytes)}` : '-',
        ok ? 'ok' : `${a ? agentStateName(a.state) : '-'}${a?.errorCode ? ` (${a.errorCode})` : ''}`,
        ok ? a?.poolRole : '-',
        ok ? `${a?.productVersion} / agent ${a?.agentVersion}` : '-',
        ok ? ((a?.uptimeSeconds ?? 0) / 3600).toFixed(1) : '-',
        h.mismatches.join('; ') || '',
      ];
    }),
  );
}

/** JSON keeps the proto field names; the agent state is a word, not an enum number. */
export function hostJson(h: HostView) {
  return { ...h, agent: h.agent === undefined ? null : { ...h.agent, state: agentStateName(h.agent.state) } };
}

export function agentStateName(state: AgentState): string {
  return (AgentState[state] ?? 'AGENT_STATE_UNSPECIFIED').replace('AGENT_STATE_', '').toLowerCase();
}

export function registerHosts(program: Command): void {
  program
    .command('hosts')
    .description("list hosts: XAPI's view and the agent's facts side by side")
    .option('--pool <name>', 'only this pool')
    .option('--json', 'print JSON')
    .action(async (flags: { pool?: string; json?: boolean }, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalFlags>();
      const res = await withController(global, async ({ controller, address }) => {
        progress(`asking the controller at ${address} ...`);
        return controller.listHosts({ pool: flags.pool ?? '' });
      });
      const own = await ownCertificateNotice((await loadCliConfig(global)).tls.cert).catch(() => null);
      const notices = [...res.certificateNotices, ...(own === null ? [] : [own])];
      if (flags.json === true) {
        printJson({ ...res, hosts: res.hosts.map(hostJson), certificateNotices: notices });
      } else {
        process.stdout.write(renderHosts(res.hosts));
        for (const e of res.poolErrors) process.stderr.write(`pool ${e.pool}: ${e.code}: ${e.message}\n`);
      }
      for (const n of notices) process.stderr.write(`${describeNotice(n)}\n`);
      if (res.poolErrors.length > 0) process.exitCode = ExitCode.FINDINGS;
    });
}
