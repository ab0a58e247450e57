import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { renderTargetsConf } from '@xsctl/agent/target/render-targets-conf';
import { normalizeTargetSpecs } from '@xsctl/agent/target/target-spec';
import type { TargetSpec, TargetState } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import { withController } from '../../client/connect-controller.js';
import type { GlobalFlags } from '../../config/cli-config.js';
import { CliError } from '../../output/cli-error.js';
import { formatTable, printJson } from '../../output/output.js';
import { poolStorageClient } from '../storage/pool-storage-client.js';
import { loadSpecFile } from '../storage/spec-file.js';

const collect = (v: string, prev: string[]) => [...prev, v];

interface ConfigFlags {
  spec?: string;
  iqn?: string;
  tid: string;
  lun: string;
  backingStore?: string;
  scsiId?: string;
  scsiSn?: string;
  vendorId?: string;
  productId?: string;
  initiatorAddress: string[];
  initiatorName: string[];
  chapUser?: string;
  chapSecretFile?: string;
  json?: boolean;
}

export async function targetsFromFlags(flags: ConfigFlags): Promise<TargetSpec[]> {
  if (flags.spec !== undefined) {
    const spec = await loadSpecFile(flags.spec);
    if (spec.targets.length === 0) throw new CliError('SPEC_INVALID', `${flags.spec} has no target: section`);
    return spec.targets;
  }
  const need = { iqn: flags.iqn, 'backing-store': flags.backingStore, 'scsi-id': flags.scsiId, 'scsi-sn': flags.scsiSn, 'vendor-id': flags.vendorId, 'product-id': flags.productId };
  const missing = Object.entries(need).filter(([, v]) => v === undefined).map(([k]) => `--${k}`);
  if (missing.length > 0) throw new CliError('BAD_FLAG', `missing ${missing.join(', ')}`, 'both nodes must export the same SCSI identity: give it explicitly (or --spec FILE)');
  if ((flags.chapUser === undefined) !== (flags.chapSecretFile === undefined)) throw new CliError('BAD_FLAG', 'CHAP needs --chap-user and --chap-secret-file');
  const password = flags.chapSecretFile === undefined ? '' : (await readFile(flags.chapSecretFile, 'utf8')).replace(/\r?\n$/, '');
  return [
    {
      tid: Number(flags.tid),
      iqn: flags.iqn ?? '',
      luns: [{ lun: Number(flags.lun), backingStore: flags.backingStore ?? '', scsiId: flags.scsiId ?? '', scsiSn: flags.scsiSn ?? '', vendorId: flags.vendorId ?? '', productId: flags.productId ?? '', bsType: '' }],
      initiatorAddresses: flags.initiatorAddress,
      initiatorNames: flags.initiatorName,
      incomingUser: flags.chapUser === undefined ? undefined : { user: flags.chapUser, password },
    },
  ];
}

export function renderTargetStates(host: string, running: boolean, targets: readonly TargetState[]): string {
  if (!running) return `${host}: tgtd is not running\n`;
  const out = [`${host}: tgtd running, ${targets.length} target(s)`];
  for (const t of targets) {
    out.push('', `Target ${t.tid}: ${t.iqn} (${t.state})`);
    out.push(
      formatTable(
        ['LUN', 'TYPE', 'SCSI ID', 'SCSI SN', 'SIZE MB', 'ONLINE', 'BACKING STORE'],
        t.luns.map((l) => [l.lun, l.type, l.scsiId, l.scsiSn, l.sizeMb, l.online ? 'yes' : 'no', l.backingStorePath ? `${l.backingStoreType}:${l.backingStorePath}` : '-']),
      ).trimEnd(),
    );
    const sessions = t.nexuses.flatMap((n) => n.connections.map((c) => [n.nexusId, n.initiator, n.initiatorAlias || '-', c.cid, c.ipAddress]));
    if (sessions.length > 0) out.push(formatTable(['I_T NEXUS', 'INITIATOR', 'ALIAS', 'CID', 'FROM'], sessions).trimEnd());
    out.push(`ACL: ${t.acls.join(', ') || '(none)'}   CHAP users: ${t.accounts.join(', ') || '(none)'}`);
  }
  return `${out.join('\n')}\n`;
}

export function registerTgt(program: Command): void {
  const tgt = program.command('tgt').description('tgtd iSCSI targets of two-node pools: targets.conf for review, what a host exports');

  tgt
    .command('config')
    .description('print targets.conf (offline; the CHAP secret is shown as [redacted])')
    .option('--spec <file>', 'storage spec (YAML) with a target: section, instead of the flags')
    .option('--iqn <iqn>', 'target name')
    .option('--tid <n>', 'target id, the same on both nodes', '1')
    .option('--lun <n>', 'LUN number', '1')
    .option('--backing-store <path>', 'e.g. /dev/drbd1')
    .option('--scsi-id <id>', 'fixed SCSI ID (VPD 0x83 T10 designator)')
    .option('--scsi-sn <sn>', 'fixed serial (VPD 0x80)')
    .option('--vendor-id <v>', 'INQUIRY vendor (8 chars)')
    .option('--product-id <p>', 'INQUIRY product (16 chars)')
    .option('--initiator-address <addr>', 'allowed initiator address, CIDR or ALL (repeatable)', collect, [] as string[])
    .option('--initiator-name <iqn>', 'allowed initiator name (repeatable)', collect, [] as string[])
    .option('--chap-user <user>', 'incoming CHAP user')
    .option('--chap-secret-file <file>', 'file holding the CHAP secret')
    .option('--json', 'print JSON')
    .action(async (flags: ConfigFlags) => {
      const text = renderTargetsConf(normalizeTargetSpecs(await targetsFromFlags(flags)), { redactSecrets: true });
      if (flags.json === true) printJson({ config: text });
      else process.stdout.write(text);
    });

  tgt
    .command('show')
    .description('what a host exports: `tgtadm --op show`, with sessions (I_T nexus) and connections')
    .requiredOption('--host <name>', 'the host')
    .option('--pool <name>', 'pool of the host')
    .option('--control-port <n>', 'tgtd control port', '0')
    .option('--json', 'print JSON')
    .action(async (flags: { host: string; pool?: string; controlPort: string; json?: boolean }, cmd: Command) => {
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), ({ channel }) =>
        poolStorageClient(channel).showPoolTargets({ pool: flags.pool ?? '', host: flags.host, instance: { controlPort: Number(flags.controlPort) } }),
      );
      if (flags.json === true) printJson(res);
      else process.stdout.write(renderTargetStates(res.host, res.result?.running ?? false, res.result?.targets ?? []));
    });
}
