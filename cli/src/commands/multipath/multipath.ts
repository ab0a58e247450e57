import type { Command } from 'commander';
import { multipathProfiles } from '@xsctl/agent/multipath/profiles';
import { MultipathLayout, type MultipathProfile, type MultipathServiceApplyResponse } from '@xsctl/proto/gen/xsctl/agent/v1/multipath';
import type { PoolMultipathServiceApplyResponse } from '@xsctl/proto/gen/xsctl/controller/v1/multipath';
import { withController } from '../../client/connect-controller.js';
import type { GlobalFlags } from '../../config/cli-config.js';
import { CliError } from '../../output/cli-error.js';
import { formatTable, printJson, progress } from '../../output/output.js';
import { renderMaps } from '../decode/multipath-decoders.js';
import { poolMultipathClient } from './pool-multipath-client.js';
import { registerMultipathRollout } from './rollout.js';
import { registerMultipathRolloutStatus } from './rollout-status.js';
import { ExitCode } from '../../output/exit-codes.js';

interface TargetFlags {
  host?: string;
  pool?: string;
  json?: boolean;
}

export function targetOf(flags: TargetFlags): { host: string; pool: string } {
  if (flags.host === undefined && flags.pool === undefined) throw new CliError('TARGET_REQUIRED', 'no target', 'give --host NAME or --pool NAME');
  return { host: flags.host ?? '', pool: flags.pool ?? '' };
}

function layoutOf(s: string | undefined): MultipathLayout {
  if (s === undefined) return MultipathLayout.MULTIPATH_LAYOUT_UNSPECIFIED;
  if (s === 'main-file') return MultipathLayout.MULTIPATH_LAYOUT_MAIN_FILE;
  if (s === 'conf-d') return MultipathLayout.MULTIPATH_LAYOUT_CONF_D;
  throw new CliError('BAD_FLAG', `unknown layout "${s}"`, 'one of: main-file, conf-d');
}

/** The unverified profiles and why, under a profile table: an admin must not take those values on trust. */
function unverifiedLines(profiles: readonly { name: string; verified: boolean; verification: string }[]): string {
  const lines = profiles.filter((p) => !p.verified).map((p) => `  ${p.name}: ${p.verification}`);
  return lines.length > 0 ? `\nUnverified profiles (values not traceable to a vendor document):\n${lines.join('\n')}\n` : '';
}

export function renderProfiles(profiles: readonly MultipathProfile[]): string {
  const table = formatTable(
    ['PROFILE', 'VENDOR', 'PRODUCT', 'PATH STATES', 'SUITS', 'AS SHIPPED HERE', 'VERIFIED', 'TITLE'],
    profiles.map((p) => [p.name, p.vendor, p.product || '(none)', p.pathStates, `${p.suitsMinVersion}-${p.suitsMaxVersion || ''}`, p.suitsHost ? 'yes' : 'translated', p.verified ? 'yes' : 'UNVERIFIED', p.title]),
  );
  const notes = profiles.flatMap((p) => p.notes.filter((n) => n.action !== 'kept').map((n) => `  ${p.name}: ${n.key} ${n.action}: ${n.message}`));
  return `${table}${unverifiedLines(profiles)}${notes.length > 0 ? `\nTranslations for this host:\n${notes.join('\n')}\n` : ''}`;
}

/** The profile table without a host (no translation): from the CLI's own copy of the profiles. */
export function renderOfflineProfiles(): string {
  const rows = multipathProfiles.map((p) => ({ ...p, verified: p.verification.verified, verification: p.verification.note }));
  const table = formatTable(
    ['PROFILE', 'PATH STATES', 'SUITS', 'VERIFIED', 'TITLE'],
    rows.map((p) => [p.name, p.pathStates, `${p.suits.min}-${p.suits.max ?? ''}`, p.verified ? 'yes' : 'UNVERIFIED', p.title]),
  );
  return `${table}${unverifiedLines(rows)}`;
}

export function renderApply(host: string, r: MultipathServiceApplyResponse): string {
  const out = [`== ${host}: ${r.targetPath} (${r.platform?.flavorLabel ?? '?'})`];
  if (!r.changed) out.push('   no change: the profile is already applied');
  else if (r.dryRun) {
    out.push('   dry run (nothing written; --yes applies):', r.diff.trimEnd());
    // The agent checked the candidate as the write will (a rejection fails the call instead).
    if (r.validation) out.push(`   multipath -t (${r.validation.mode}) on the candidate: ok${r.validation.issues.length > 0 ? ` (${r.validation.issues.length} known issues, none new)` : ''}`);
  }
  else {
    out.push(`   written${r.backupPath ? `, old file kept in ${r.backupPath}` : ''}`);
    if (r.validation) out.push(`   multipath -t (${r.validation.mode}): ${r.validation.ok ? 'ok' : 'REJECTED'}${r.validation.issues.length > 0 ? ` (${r.validation.issues.length} known issues, none new)` : ''}`);
    out.push(`   multipathd: ${r.reconfigured ? 'reconfigured' : r.reconfigureDetail}`);
  }
  for (const n of r.notes.filter((x) => x.action !== 'kept')) out.push(`   note: ${n.key} ${n.action}: ${n.message}`);
  for (const w of r.warnings) out.push(`   warning: ${w}`);
  return `${out.join('\n')}\n`;
}

export function registerMultipath(program: Command): void {
  const mp = program.command('multipath').description('array profiles for /etc/multipath.conf: list, show, apply (dry run unless --yes), enable multipathd, list maps');

  mp.command('profiles')
    .description('the array profiles; with --host, translated for that host\'s multipath-tools')
    .option('--host <name>', 'translate for this host')
    .option('--pool <name>', 'pool of the host')
    .option('--json', 'print JSON')
    .action(async (flags: TargetFlags, cmd: Command) => {
      if (flags.host === undefined && flags.pool === undefined) {
        const offline = multipathProfiles.map((p) => ({
          name: p.name,
          title: p.title,
          source: p.source,
          pathStates: p.pathStates,
          suits: p.suits,
          shipped: p.shipped,
          remarks: p.remarks,
          verified: p.verification.verified,
          verification: p.verification.note,
        }));
        if (flags.json === true) printJson({ profiles: offline });
        else process.stdout.write(renderOfflineProfiles());
        return;
      }
      const target = targetOf(flags);
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel, address }) => {
        progress(`asking the controller at ${address} ...`);
        return poolMultipathClient(channel).listProfiles({ target });
      });
      if (flags.json === true) printJson(res);
      else {
        progress(`host ${res.host}: ${res.result?.platform?.flavorLabel ?? '?'}`);
        process.stdout.write(renderProfiles(res.result?.profiles ?? []));
      }
    });

  mp.command('show')
    .description('multipath.conf, drop-ins, device entries and multipathd state of a host or a pool')
    .option('--host <name>', 'one host')
    .option('--pool <name>', 'every host of a pool (or the pool of --host)')
    .option('--json', 'print JSON')
    .action(async (flags: TargetFlags, cmd: Command) => {
      const target = targetOf(flags);
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), ({ channel }) => poolMultipathClient(channel).show({ target }));
      if (flags.json === true) printJson(res);
      else {
        for (const h of res.hosts) {
          if (h.error) {
            process.stderr.write(`${h.host}: ${h.error.code}: ${h.error.message}\n`);
            continue;
          }
          const c = h.config;
          process.stdout.write(`== ${h.host}: ${c?.platform?.flavorLabel ?? '?'}; multipathd ${c?.daemon?.enabled ? 'enabled' : 'not enabled'}, ${c?.daemon?.running ? 'running' : 'not running'}\n`);
          process.stdout.write(formatTable(['FILE', 'LINE', 'VENDOR', 'PRODUCT', 'KEYS'], (c?.devices ?? []).map((d) => [d.file, d.line, d.vendor, d.product, d.entries.length])));
          if ((c?.appliedProfiles.length ?? 0) > 0) process.stdout.write(`profiles in place: ${c?.appliedProfiles.join(', ')}\n`);
          for (const w of c?.warnings ?? []) process.stdout.write(`warning: ${w}\n`);
        }
      }
      if (res.hosts.some((h) => h.error)) process.exitCode = ExitCode.FINDINGS;
    });

  mp.command('apply')
    .description('merge a profile into multipath.conf (XCP-ng 8: a drop-in in /etc/multipath/conf.d); shows the diff unless --yes')
    .requiredOption('--profile <name>', 'profile name (xsctl multipath profiles)')
    .option('--host <name>', 'one host')
    .option('--pool <name>', 'every host of the pool, one at a time; stops at the first failure')
    .option('--layout <layout>', 'main-file or conf-d (default: from the platform)')
    .option('--no-reconfigure', 'do not run multipathd reconfigure')
    .option('--yes', 'write (default: dry run)')
    .option('--json', 'print JSON')
    .action(async (flags: TargetFlags & { profile: string; layout?: string; reconfigure: boolean; yes?: boolean }, cmd: Command) => {
      const confirm = flags.yes === true;
      const target = targetOf(flags);
      const layout = layoutOf(flags.layout);
      const res: PoolMultipathServiceApplyResponse = await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel, address }) => {
        progress(`${confirm ? 'applying' : 'dry run of'} ${flags.profile} through ${address} ...`);
        return poolMultipathClient(channel).apply({ target, profile: flags.profile, confirm, layout, skipReconfigure: !flags.reconfigure });
      });
      if (flags.json === true) printJson(res);
      else {
        for (const h of res.hosts) {
          if (h.skipped) process.stdout.write(`== ${h.host}: skipped (an earlier host failed)\n`);
          else if (h.error) process.stderr.write(`== ${h.host}: ${h.error.code}: ${h.error.message}\n`);
          else if (h.result) process.stdout.write(renderApply(h.host, h.result));
        }
      }
      if (!res.ok) process.exitCode = ExitCode.FINDINGS;
    });

  mp.command('enable')
    .description('enable multipathd at boot and start it (systemd on XenServer 7+, chkconfig on 6.x); dry run unless --yes')
    .option('--host <name>', 'one host')
    .option('--pool <name>', 'every host of a pool')
    .option('--yes', 'run the commands (default: show them)')
    .option('--json', 'print JSON')
    .action(async (flags: TargetFlags & { yes?: boolean }, cmd: Command) => {
      const target = targetOf(flags);
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), ({ channel }) => poolMultipathClient(channel).enableDaemon({ target, confirm: flags.yes === true }));
      if (flags.json === true) printJson(res);
      else
        for (const h of res.hosts) {
          if (h.error) process.stderr.write(`${h.host}: ${h.error.code}: ${h.error.message}\n`);
          else process.stdout.write(`${h.host}: ${h.result?.commands.length ? `${h.result.dryRun ? 'would run' : 'ran'}: ${h.result.commands.join('; ')}` : 'already enabled and running'}\n`);
        }
      if (!res.ok) process.exitCode = ExitCode.FINDINGS;
    });

  mp.command('maps')
    .description('multipath maps of a host or a pool (multipathd json, or multipath -ll)')
    .option('--host <name>', 'one host')
    .option('--pool <name>', 'every host of a pool')
    .option('--json', 'print JSON')
    .action(async (flags: TargetFlags, cmd: Command) => {
      const target = targetOf(flags);
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), ({ channel }) => poolMultipathClient(channel).listMaps({ target }));
      if (flags.json === true) printJson(res);
      else
        for (const h of res.hosts) {
          if (h.error) {
            process.stderr.write(`${h.host}: ${h.error.code}: ${h.error.message}\n`);
            continue;
          }
          process.stdout.write(`== ${h.host} (${h.result?.source ?? '?'})\n`);
          const maps = (h.result?.maps ?? []).map((m) => ({
            name: m.name,
            wwid: m.wwid,
            dm: m.dm ?? null,
            vendor: m.vendor ?? null,
            product: m.product ?? null,
            size: m.size ?? null,
            features: m.features ?? null,
            hwhandler: m.hwhandler ?? null,
            writePolicy: m.writePolicy ?? null,
            groups: m.groups.map((g) => ({
              policy: g.policy ?? null,
              prio: g.prio ?? null,
              status: g.status ?? null,
              paths: g.paths.map((p) => ({ hctl: p.hctl ?? null, dev: p.dev, devt: p.devt ?? null, dmState: p.dmState ?? null, checkerState: p.checkerState ?? null, deviceState: p.deviceState ?? null, prio: p.prio ?? null })),
            })),
          }));
          process.stdout.write(maps.length > 0 ? renderMaps(maps) : 'no maps\n');
        }
      if (res.hosts.some((h) => h.error)) process.exitCode = ExitCode.FINDINGS;
    });

  registerMultipathRollout(mp);
  registerMultipathRolloutStatus(mp);
}
