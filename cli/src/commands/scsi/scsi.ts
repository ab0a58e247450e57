import type { Command } from 'commander';
import type { ScsiLunVerdict } from '@xsctl/proto/gen/xsctl/agent/v1/scsi';
import { withController } from '../../client/connect-controller.js';
import type { GlobalFlags } from '../../config/cli-config.js';
import { formatTable, printJson, progress } from '../../output/output.js';
import { targetOf } from '../multipath/multipath.js';
import { poolScsiClient } from './pool-scsi-client.js';
import { ExitCode } from '../../output/exit-codes.js';

export function renderVerdict(v: ScsiLunVerdict): string {
  const lines = [
    `${v.name} ${v.vendor},${v.product}${v.wwid && v.wwid !== v.name ? ` (${v.wwid})` : ''}`,
    `  mode: ${v.mode}  ALUA in use: ${v.aluaInUse ? 'yes' : 'no'}  TPGS: ${v.tpgs ?? '?'}  groups follow ALUA: ${v.groupsMatch ? 'yes' : 'NO'}`,
    `  optimized: ${v.optimizedPaths.join(' ') || '-'}   other: ${v.nonOptimizedPaths.join(' ') || '-'}`,
  ];
  for (const p of v.problems) lines.push(`  problem: ${p}`);
  for (const e of v.evidence) lines.push(`  evidence: ${e}`);
  const rows = v.paths.map((p) => [p.device, p.hctl, p.aluaState, p.aluaStateSource, p.accessState, p.vpdC9?.mode, p.dhState, p.errors.length > 0 ? p.errors[0] : '']);
  if (rows.length > 0)
    lines.push(
      formatTable(['PATH', 'HCTL', 'ALUA STATE', 'FROM', 'SYSFS', 'C9 MODE', 'HANDLER', 'ERRORS'], rows)
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  return `${lines.join('\n')}\n`;
}

export function registerScsi(program: Command): void {
  const scsi = program.command('scsi').description('SCSI/ALUA path inspection through the agents');

  scsi
    .command('alua')
    .description('per LUN: is ALUA really in use (TPGS, VPD 0xc9, kernel log), which paths are optimized, do the multipath groups follow')
    .option('--host <name>', 'one host')
    .option('--pool <name>', 'every host of a pool')
    .option('--device <path>', '/dev/sdX, /dev/mapper/NAME or /dev/dm-N (default: every multipath map)')
    .option('--json', 'print JSON')
    .action(async (flags: { host?: string; pool?: string; device?: string; json?: boolean }, cmd: Command) => {
      const target = targetOf(flags);
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel, address }) => {
        progress(`reading SCSI pages through ${address} ...`);
        return poolScsiClient(channel).getAluaReport({ target, device: flags.device ?? '' });
      });
      if (flags.json === true) printJson(res);
      else
        for (const h of res.hosts) {
          if (h.error) {
            process.stderr.write(`${h.host}: ${h.error.code}: ${h.error.message}\n`);
            continue;
          }
          process.stdout.write(`== ${h.host}\n`);
          for (const l of h.result?.luns ?? []) process.stdout.write(renderVerdict(l));
          for (const w of h.result?.warnings ?? []) process.stderr.write(`${h.host}: ${w}\n`);
        }
      if (res.hosts.some((h) => h.error)) process.exitCode = ExitCode.FINDINGS;
    });

  scsi
    .command('inspect')
    .description('every decoded page of one device: INQUIRY, VPD 0x83/0xc9, RTPG, sysfs state')
    .requiredOption('--host <name>', 'the host')
    .requiredOption('--device <path>', '/dev/sdX, /dev/mapper/NAME or /dev/dm-N')
    .option('--pool <name>', 'pool of the host')
    .option('--json', 'print JSON')
    .action(async (flags: { host: string; pool?: string; device: string; json?: boolean }, cmd: Command) => {
      const target = targetOf(flags);
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), ({ channel }) => poolScsiClient(channel).inspect({ target, device: flags.device }));
      if (flags.json === true) printJson(res);
      else {
        const paths = res.result?.paths ?? [];
        process.stdout.write(
          formatTable(
            ['PATH', 'HCTL', 'VENDOR', 'PRODUCT', 'TPGS', 'NAA', 'TPG', 'PORT', 'C9', 'ALUA STATE'],
            paths.map((p) => [p.device, p.hctl, p.inquiry?.vendor, p.inquiry?.product, p.inquiry?.tpgs, p.vpd83?.naa, p.vpd83?.targetPortGroup, p.vpd83?.relativeTargetPort, p.vpdC9?.mode, p.aluaState]),
          ),
        );
        for (const p of paths) for (const e of p.errors) process.stderr.write(`${p.device}: ${e}\n`);
      }
    });
}
