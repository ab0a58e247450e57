import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { normalizeDrbdSpecs } from '@xsctl/agent/drbd/drbd-spec';
import { syntaxFromName, syntaxName } from '@xsctl/agent/drbd/drbd-version';
import { renderDrbdConf } from '@xsctl/agent/drbd/render-drbd-conf';
import { DrbdSyntax, FailoverReason, type DrbdNode, type DrbdOperationResult, type DrbdResourceSpec } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import type { GetPoolStorageStatusResponse } from '@xsctl/proto/gen/xsctl/controller/v1/storage';
import { withController } from '../../client/connect-controller.js';
import type { GlobalFlags } from '../../config/cli-config.js';
import { CliError } from '../../output/cli-error.js';
import { formatTable, printJson, progress } from '../../output/output.js';
import { poolStorageClient } from '../storage/pool-storage-client.js';
import { loadSpecFile } from '../storage/spec-file.js';
import { drbdPair, splitBrainText, syncText } from '../storage/render-drbd-state.js';
import { ExitCode } from '../../output/exit-codes.js';

const collect = (v: string, prev: string[]) => [...prev, v];

/** `NAME=DISK@IP[:PORT]`, IPv6 as `[fd00::1]:7789`. */
export function parseNodeFlag(s: string): DrbdNode {
  const m = /^([^=\s]+)=(\/[^@\s]+)@(\[[0-9A-Fa-f:.]+\]|[^:\s[\]]+)(?::(\d{1,5}))?$/.exec(s);
  if (m === null) throw new CliError('BAD_FLAG', `--node ${s}`, 'expected NAME=DISK@IP:PORT, e.g. --node XCP1=/dev/sdb@10.10.10.1:7789');
  return { hostname: m[1] ?? '', disk: m[2] ?? '', address: (m[3] ?? '').replace(/^\[|\]$/g, ''), port: m[4] === undefined ? 7789 : Number(m[4]) };
}

interface ConfigFlags {
  resource?: string;
  minor?: string;
  node: string[];
  drbdVersion?: string;
  protocol?: string;
  afterSb0pri?: string;
  afterSb1pri?: string;
  afterSb2pri?: string;
  sharedSecretFile?: string;
  resyncRate?: string;
  spec?: string;
  pool?: string;
  host?: string;
  json?: boolean;
}

export async function resourcesFromFlags(flags: ConfigFlags): Promise<DrbdResourceSpec[]> {
  if (flags.spec !== undefined) {
    const spec = await loadSpecFile(flags.spec);
    if (spec.drbd.length === 0) throw new CliError('SPEC_INVALID', `${flags.spec} has no drbd: section`);
    return spec.drbd;
  }
  if (flags.resource === undefined) throw new CliError('BAD_FLAG', 'no resource', 'give --resource NAME and --node twice, or --spec FILE');
  if (flags.node.length < 2) throw new CliError('BAD_FLAG', 'a resource needs its nodes', '--node NAME=DISK@IP:PORT, once per node');
  const secret = flags.sharedSecretFile === undefined ? '' : (await readFile(flags.sharedSecretFile, 'utf8')).replace(/\r?\n$/, '');
  return [
    {
      name: flags.resource,
      minor: flags.minor === undefined ? 0 : Number(flags.minor),
      nodes: flags.node.map(parseNodeFlag),
      protocol: flags.protocol ?? '',
      afterSb0pri: flags.afterSb0pri ?? '',
      afterSb1pri: flags.afterSb1pri ?? '',
      afterSb2pri: flags.afterSb2pri ?? '',
      sharedSecret: secret,
      cramHmacAlg: '',
      resyncRate: flags.resyncRate ?? '',
      quorum: '',
      onNoQuorum: '',
    },
  ];
}

/** drbd.conf rendered here, with no controller or agent: for review before anything is touched. */
export function renderOffline(resources: readonly DrbdResourceSpec[], version: string): { syntax: DrbdSyntax; config: string } {
  const syntax = syntaxFromName(version);
  if (syntax === null) throw new CliError('BAD_FLAG', `--drbd-version ${version}`, 'one of: 8.3, 8.4, 9');
  return { syntax, config: renderDrbdConf(normalizeDrbdSpecs(resources), syntax) };
}

export function renderDrbdStatus(res: GetPoolStorageStatusResponse): string {
  const rows = res.hosts.flatMap((h) =>
    h.status === undefined
      ? [[h.host, '-', `(${h.errorCode})`, '', '', '', '', '', '']]
      : h.status.drbd.map((d) => [h.host, d.name, `drbd${d.minor}`, drbdPair(d.role, d.peerRole), drbdPair(d.disk, d.peerDisk), d.connection, syncText(d), splitBrainText(d), d.splitBrainEvidence]),
  );
  const table = formatTable(['HOST', 'RESOURCE', 'DEVICE', 'ROLE', 'DISK', 'CONNECTION', 'SYNC', 'SPLIT BRAIN', 'EVIDENCE'], rows);
  const problems = res.problems.filter((p) => /DRBD|SPLIT BRAIN|agent/.test(p));
  return problems.length > 0 ? `${table}\nPROBLEMS:\n${problems.map((p) => `  ${p}`).join('\n')}\n` : table;
}

export function renderOperation(host: string, what: string, r: DrbdOperationResult | undefined): string {
  if (r === undefined) return `${host}: ${what}: no result\n`;
  const verb = r.dryRun ? 'would run (dry run; --yes runs it)' : r.changed ? 'ran' : 'nothing to do';
  const lines = [`${host}: ${what}: ${verb}`, ...r.commands.map((c) => `  ${c}`)];
  if (r.state !== undefined) lines.push(`  now: ${drbdPair(r.state.role, r.state.peerRole)} ${drbdPair(r.state.disk, r.state.peerDisk)} ${r.state.connection}`);
  return `${lines.join('\n')}\n`;
}

export function registerDrbd(program: Command): void {
  const drbd = program.command('drbd').description('DRBD resources of two-node pools: config, status, promote/demote, split-brain recovery');

  drbd
    .command('config')
    .description('print drbd.conf: offline with --drbd-version, or rendered by a host for its installed DRBD with --host')
    .option('--resource <name>', 'resource name')
    .option('--minor <n>', 'device minor (/dev/drbdN)', '0')
    .option('--node <NAME=DISK@IP:PORT>', 'a node (twice)', collect, [] as string[])
    .option('--drbd-version <v>', '8.3, 8.4 or 9 (offline)')
    .option('--protocol <p>', 'A, B or C (default C)')
    .option('--after-sb-0pri <policy>', 'disconnect or discard-zero-changes (default)')
    .option('--after-sb-1pri <policy>', 'disconnect, consensus (default) or call-pri-lost-after-sb')
    .option('--after-sb-2pri <policy>', 'disconnect (default) or call-pri-lost-after-sb')
    .option('--shared-secret-file <file>', 'file holding the cram-hmac shared secret')
    .option('--resync-rate <rate>', 'e.g. 100M')
    .option('--spec <file>', 'storage spec (YAML) with a drbd: section, instead of the flags')
    .option('--pool <name>', 'pool of --host')
    .option('--host <name>', 'render on this host (its detected DRBD version)')
    .option('--json', 'print JSON')
    .action(async (flags: ConfigFlags, cmd: Command) => {
      const resources = await resourcesFromFlags(flags);
      let out: { syntax: DrbdSyntax; config: string };
      if (flags.host === undefined) {
        if (flags.drbdVersion === undefined) throw new CliError('BAD_FLAG', 'which DRBD?', 'give --drbd-version 8.3|8.4|9 (offline), or --host NAME to render for that host');
        out = renderOffline(resources, flags.drbdVersion);
      } else {
        out = await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel, address }) => {
          progress(`rendering on ${flags.host} via ${address} ...`);
          const syntax = flags.drbdVersion === undefined ? DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED : renderOffline(resources, flags.drbdVersion).syntax;
          return poolStorageClient(channel).renderPoolDrbdConfig({ pool: flags.pool ?? '', host: flags.host ?? '', resources, syntax });
        });
      }
      if (flags.json === true) printJson({ syntax: syntaxName[out.syntax], config: out.config });
      else {
        progress(`# DRBD ${syntaxName[out.syntax]} syntax`);
        process.stdout.write(out.config);
      }
    });

  drbd
    .command('status')
    .description('DRBD state of every host of the pool: roles, disks, connection, resync, split brain')
    .requiredOption('--pool <name>', 'the pool')
    .option('--json', 'print JSON')
    .action(async (flags: { pool: string; json?: boolean }, cmd: Command) => {
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), ({ channel }) => poolStorageClient(channel).getPoolStorageStatus({ pool: flags.pool, spec: undefined }));
      if (flags.json === true) printJson({ pool: res.pool, hosts: res.hosts.map((h) => ({ host: h.host, isMaster: h.isMaster, drbd: h.status?.drbd ?? [], error: h.errorCode })), problems: res.problems });
      else process.stdout.write(renderDrbdStatus(res));
      if (res.problems.some((p) => /DRBD|SPLIT BRAIN/.test(p)) || res.hosts.some((h) => h.errorCode !== '')) process.exitCode = ExitCode.FINDINGS;
    });

  drbd
    .command('promote')
    .description('make a host Primary: refused without UpToDate data, while another host is Primary, or with an unverified peer; never --force (operator)')
    .requiredOption('--pool <name>', 'the pool')
    .requiredOption('--host <name>', 'the host to promote')
    .requiredOption('--resource <name>', 'the resource')
    .option('--peer-fenced', 'the peer is fenced (powered off / out of the pool): allows promotion without a connection')
    .option('--witness <ip>', 'a witness address whose answer proves quorum when the peer is not connected')
    .option('--witness-interface <if>', 'interface to reach the witness on')
    .option('--json', 'print JSON')
    .action(async (flags: { pool: string; host: string; resource: string; peerFenced?: boolean; witness?: string; witnessInterface?: string; json?: boolean }, cmd: Command) => {
      if ((flags.witness === undefined) !== (flags.witnessInterface === undefined)) throw new CliError('BAD_FLAG', '--witness needs --witness-interface', 'give both, e.g. --witness 192.168.1.253 --witness-interface xenbr0');
      // An admin's claim, never a power-off the controller read back: no peer-fenced hold on the agent.
      const peerSafety = { peerFenced: flags.peerFenced === true, peerFencedByPower: false, witnessAddress: flags.witness ?? '', witnessInterface: flags.witnessInterface ?? '', failoverReason: FailoverReason.FAILOVER_REASON_UNSPECIFIED };
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), ({ channel }) => poolStorageClient(channel).promotePoolDrbd({ pool: flags.pool, host: flags.host, resource: flags.resource, peerSafety }));
      if (flags.json === true) printJson(res);
      else process.stdout.write(renderOperation(flags.host, `promote ${flags.resource}`, res.result));
    });

  drbd
    .command('demote')
    .description('make a host Secondary (operator)')
    .requiredOption('--pool <name>', 'the pool')
    .requiredOption('--host <name>', 'the host to demote')
    .requiredOption('--resource <name>', 'the resource')
    .option('--json', 'print JSON')
    .action(async (flags: { pool: string; host: string; resource: string; json?: boolean }, cmd: Command) => {
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), ({ channel }) => poolStorageClient(channel).demotePoolDrbd({ pool: flags.pool, host: flags.host, resource: flags.resource }));
      if (flags.json === true) printJson(res);
      else process.stdout.write(renderOperation(flags.host, `demote ${flags.resource}`, res.result));
    });

  drbd
    .command('resolve-split-brain')
    .description("resolve a reported split brain: the victim's changes are DISCARDED, the other host keeps its data (dry run unless --yes; operator)")
    .requiredOption('--pool <name>', 'the pool')
    .requiredOption('--resource <name>', 'the resource')
    .requiredOption('--victim <host>', 'the host whose changes since the split are thrown away')
    .option('--yes', 'do it')
    .option('--json', 'print JSON')
    .action(async (flags: { pool: string; resource: string; victim: string; yes?: boolean; json?: boolean }, cmd: Command) => {
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), ({ channel }) =>
        poolStorageClient(channel).resolvePoolDrbdSplitBrain({ pool: flags.pool, resource: flags.resource, victim: flags.victim, confirm: flags.yes === true }),
      );
      if (flags.json === true) printJson(res);
      else {
        process.stdout.write(renderOperation(`${res.victim} (victim)`, 'discard my data and reconnect', res.victimResult));
        process.stdout.write(renderOperation(`${res.survivor} (survivor)`, 'reconnect', res.survivorResult));
      }
    });
}
