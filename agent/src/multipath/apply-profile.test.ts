import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MultipathLayout } from '@xsctl/proto/gen/xsctl/agent/v1/multipath';
import { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { applyProfile } from './apply-profile.js';
import { MultipathConfigRejectedError } from './multipath-errors.js';
import { multipathService } from './multipath-service.js';
import { readPlatform } from './platform.js';
import { findProfile, type MultipathProfileDef } from './profiles.js';
import { runMultipathT } from './validate-config.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

// These run the real `multipath -t` (multipath-tools on this machine) in a private mount namespace
// over the sandbox's files, which needs root (CI runs as root).
const isRoot = process.getuid?.() === 0;
const fixture = new URL('./__fixtures__/xs7-multipath.conf', import.meta.url);
const call = { signal: new AbortController().signal } as never;

async function sandbox(brand: string, version: string, withConf: boolean): Promise<AgentContext> {
  const dir = await tempDir('xsctl-mp-');
  await mkdir(join(dir, 'etc/multipath/conf.d'), { recursive: true });
  await writeFile(join(dir, 'etc/xensource-inventory'), `PRODUCT_BRAND='${brand}'\nPRODUCT_VERSION='${version}'\n`);
  if (withConf) await copyFile(fixture, join(dir, 'etc/multipath.conf'));
  const logger = pino({ level: 'silent' });
  return { root: new SandboxRoot(dir), runner: new CommandRunner({ logger }), logger, stateDir: '/var/lib/xsctl-agent' };
}

const profile = (name: string) => findProfile(name) as MultipathProfileDef;
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

describe.skipIf(!isRoot)('Apply against a sandbox root, validated by the real multipath -t', () => {
  it('sees the sandbox file, not the host one, through the namespace helper', async () => {
    const hostHad = await exists('/etc/multipath.conf');
    const ctx = await sandbox('XenServer', '7.1.0', false);
    await writeFile(ctx.root.resolve('/etc/multipath.conf'), 'devices {\n\tdevice {\n\t\tvendor "X"\n\t\tproduct "Y"\n\t\tno_such_keyword 1\n\t}\n}\n');
    const r = await runMultipathT({ root: ctx.root, runner: ctx.runner, stateDir: ctx.stateDir });
    expect(r.mode).toBe('namespace');
    expect(r.issues.join('\n')).toMatch(/line 5, invalid keyword.*no_such_keyword/);
    expect(await exists('/etc/multipath.conf')).toBe(hostHad);
  });

  it('XenServer 7 (main file): dry run by default, then write with backup, then nothing the second time', async () => {
    const ctx = await sandbox('XenServer', '7.1.0', true);
    const platform = await readPlatform(ctx.root, ctx.runner);
    expect(platform.flavor.id).toBe('xs7-0.4.9');
    const before = await readFile(ctx.root.resolve('/etc/multipath.conf'), 'utf8');

    const dry = await applyProfile(ctx, platform, { profile: profile('dell-md36xx-alua'), confirm: false, skipReconfigure: false });
    // The dry run checks the candidate too: multipath 0.9 prints the fixture's replace_wwid_whitespace for both.
    expect(dry).toMatchObject({ targetPath: '/etc/multipath.conf', layout: 'main-file', changed: true, dryRun: true, backupPath: '', validation: { ok: true, newIssues: [], mode: 'namespace' } });
    expect(dry.validation!.issues.join('\n')).toMatch(/replace_wwid_whitespace/);
    expect(dry.diff).toContain('+                detect_prio yes\n+                retain_attached_hw_handler yes\n');
    expect(await readFile(ctx.root.resolve('/etc/multipath.conf'), 'utf8')).toBe(before);

    const done = await applyProfile(ctx, platform, { profile: profile('dell-md36xx-alua'), confirm: true, skipReconfigure: false });
    expect(done).toMatchObject({ changed: true, dryRun: false, reconfigured: false });
    // The fixture's RHEL-only replace_wwid_whitespace is reported by multipath 0.9 before and after: not new.
    expect(done.validation).toMatchObject({ ok: true, newIssues: [], mode: 'namespace' });
    expect(done.validation!.issues.join('\n')).toMatch(/replace_wwid_whitespace/);
    expect(done.reconfigureDetail).toMatch(/sandbox root/);
    const after = await readFile(ctx.root.resolve('/etc/multipath.conf'), 'utf8');
    expect(after).toContain('retain_attached_hw_handler yes');
    expect(await readFile(ctx.root.resolve(done.backupPath), 'utf8')).toBe(before);
    expect(done.backupPath.startsWith('/var/lib/xsctl-agent/backups/multipath/multipath.conf.')).toBe(true);

    const again = await applyProfile(ctx, platform, { profile: profile('dell-md36xx-alua'), confirm: true, skipReconfigure: false });
    expect(again).toMatchObject({ changed: false, diff: '', backupPath: '', validation: null });
    expect(await readFile(ctx.root.resolve('/etc/multipath.conf'), 'utf8')).toBe(after);
    expect(await readdir(ctx.root.resolve('/var/lib/xsctl-agent/backups/multipath'))).toHaveLength(1);
  });

  it('XCP-ng 8.2 (conf.d): a complete stanza in a drop-in, nothing staged inside conf.d, main file untouched', async () => {
    const ctx = await sandbox('XCP-ng', '8.2.1', true);
    const platform = await readPlatform(ctx.root, ctx.runner);
    expect(platform.flavor.layout).toBe('conf-d');
    const main = await readFile(ctx.root.resolve('/etc/multipath.conf'), 'utf8');
    const done = await applyProfile(ctx, platform, { profile: profile('euronas-essm'), confirm: true, skipReconfigure: true });
    expect(done).toMatchObject({ targetPath: '/etc/multipath/conf.d/xsctl-euronas-essm.conf', layout: 'conf-d', changed: true, reconfigureDetail: 'skipped (request)' });
    expect(done.validation?.ok).toBe(true);
    expect(await readdir(ctx.root.resolve('/etc/multipath/conf.d'))).toEqual(['xsctl-euronas-essm.conf']);
    const dropIn = await readFile(ctx.root.resolve(done.targetPath), 'utf8');
    expect(dropIn).toContain('\t\tvendor "eSSM*"\n\t\tproduct ".*"\n');
    expect(dropIn).not.toContain('getuid_callout');
    expect(await readFile(ctx.root.resolve('/etc/multipath.conf'), 'utf8')).toBe(main);
    expect(done.notes.find((n) => n.key === 'getuid_callout')?.action).toBe('dropped');
    const again = await applyProfile(ctx, platform, { profile: profile('euronas-essm'), confirm: true, skipReconfigure: true });
    expect(again.changed).toBe(false);
  });

  it('refuses a stanza multipath -t rejects before it goes live (the candidate is checked in the namespace)', async () => {
    const broken: MultipathProfileDef = {
      ...profile('starwind'),
      name: 'broken-test',
      shipped: [...profile('starwind').shipped, ['path_checker_typo', 'tur']],
    };
    const ctx = await sandbox('XenServer', '7.1.0', true);
    const platform = await readPlatform(ctx.root, ctx.runner);
    const before = await readFile(ctx.root.resolve('/etc/multipath.conf'), 'utf8');
    const err = await applyProfile(ctx, platform, { profile: broken, confirm: true, skipReconfigure: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MultipathConfigRejectedError);
    expect((err as MultipathConfigRejectedError).issues.join('\n')).toMatch(/invalid keyword.*path_checker_typo/);
    // Never written, so nothing to roll back: no backup, no intent record, the file as it was.
    expect((err as MultipathConfigRejectedError).rolledBack).toBe(false);
    expect(await readFile(ctx.root.resolve('/etc/multipath.conf'), 'utf8')).toBe(before);
    expect(await readdir(ctx.root.resolve('/var/lib/xsctl-agent/backups/multipath')).catch(() => [])).toEqual([]);
    expect(await readdir(ctx.root.resolve('/var/lib/xsctl-agent/intents')).catch(() => [])).toEqual([]);

    const x = await sandbox('XCP-ng', '8.2.1', false);
    const px = await readPlatform(x.root, x.runner);
    await expect(applyProfile(x, px, { profile: broken, confirm: true, skipReconfigure: true })).rejects.toMatchObject({ code: 'MULTIPATH_CONFIG_REJECTED', rolledBack: false });
    expect(await readdir(x.root.resolve('/etc/multipath/conf.d'))).toEqual([]);
  });

  it('the dry run of a stanza multipath -t rejects fails with the same typed error, and changes nothing', async () => {
    const broken: MultipathProfileDef = {
      ...profile('starwind'),
      name: 'broken-test',
      shipped: [...profile('starwind').shipped, ['path_checker_typo', 'tur']],
    };
    const ctx = await sandbox('XenServer', '7.1.0', true);
    const platform = await readPlatform(ctx.root, ctx.runner);
    const conf = ctx.root.resolve('/etc/multipath.conf');
    const [bytes, mtime] = [await readFile(conf), (await stat(conf, { bigint: true })).mtimeNs];
    const err = await applyProfile(ctx, platform, { profile: broken, confirm: false, skipReconfigure: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MultipathConfigRejectedError);
    expect(err).toMatchObject({ code: 'MULTIPATH_CONFIG_REJECTED', file: '/etc/multipath.conf', rolledBack: false });
    // The tool's own words: multipath 0.9.4 prints "invalid keyword in the device section: path_checker_typo".
    expect((err as MultipathConfigRejectedError).issues).toHaveLength(1);
    expect((err as MultipathConfigRejectedError).issues[0]).toMatch(/invalid keyword.*path_checker_typo/);
    expect((await stat(conf, { bigint: true })).mtimeNs).toBe(mtime);
    expect(Buffer.compare(await readFile(conf), bytes)).toBe(0);
    expect(await readdir(ctx.root.resolve('/var/lib/xsctl-agent/backups')).catch(() => [])).toEqual([]);
    expect(await readdir(ctx.root.resolve('/var/lib/xsctl-agent/intents')).catch(() => [])).toEqual([]);
    // The scratch copy of the candidate is gone too.
    expect(await readdir(ctx.root.resolve('/var/lib/xsctl-agent/multipath-t'))).not.toContainEqual(expect.stringMatching(/^candidate-/));

    // Through the handler (what `xsctl multipath apply` without --yes and the rollout's plan and
    // preflight call): the call fails with the typed error; a stanza the tool takes passes with its verdict.
    const svc = multipathService(ctx, { profiles: [broken, profile('starwind')] });
    const req = { confirm: false, layout: MultipathLayout.MULTIPATH_LAYOUT_UNSPECIFIED, skipReconfigure: true };
    await expect(svc.apply({ ...req, profile: 'broken-test' }, call)).rejects.toMatchObject({ code: 'MULTIPATH_CONFIG_REJECTED' });
    await expect(svc.apply({ ...req, profile: 'starwind' }, call)).resolves.toMatchObject({ dryRun: true, changed: true, validation: { ok: true, newIssues: [], mode: 'namespace' } });
    expect((await stat(conf, { bigint: true })).mtimeNs).toBe(mtime);
    expect(Buffer.compare(await readFile(conf), bytes)).toBe(0);

    // conf.d (XCP-ng 8): the drop-in is never created by the refused dry run.
    const x = await sandbox('XCP-ng', '8.2.1', false);
    const px = await readPlatform(x.root, x.runner);
    await expect(applyProfile(x, px, { profile: broken, confirm: false, skipReconfigure: true })).rejects.toMatchObject({ code: 'MULTIPATH_CONFIG_REJECTED', rolledBack: false });
    expect(await readdir(x.root.resolve('/etc/multipath/conf.d'))).toEqual([]);
  });

  it('through the gRPC handler: unknown profile is NOT_FOUND, layout override, EnableDaemon is a dry run by default', async () => {
    const ctx = await sandbox('XenServer', '7.1.0', true);
    const svc = multipathService(ctx);
    await expect(svc.apply({ profile: 'nope', confirm: false, layout: MultipathLayout.MULTIPATH_LAYOUT_UNSPECIFIED, skipReconfigure: false }, call)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const r = await svc.apply({ profile: 'starwind', confirm: false, layout: MultipathLayout.MULTIPATH_LAYOUT_CONF_D, skipReconfigure: false }, call);
    expect(r).toMatchObject({ targetPath: '/etc/multipath/conf.d/xsctl-starwind.conf', dryRun: true, changed: true });
    // An unverified profile says so before anything else the admin reads.
    expect(r.warnings?.[0]).toMatch(/^profile starwind: UNVERIFIED: /);
    const listed = await svc.listProfiles({}, call);
    expect(listed.platform?.flavor).toBe('xs7-0.4.9');
    expect(listed.profiles?.find((p) => p?.name === 'hp-p4000-alua')?.suitsHost).toBe(true);
    // The stock MD36xx entry sets rr_min_io, which request-based multipath ignores: it is translated.
    const md = listed.profiles?.find((p) => p?.name === 'dell-md36xx-rdac');
    expect(md?.suitsHost).toBe(false);
    expect(md?.notes?.find((n) => n.key === 'rr_min_io')).toMatchObject({ action: 'translated' });
    expect(listed.profiles?.find((p) => p?.name === 'euronas-essm')?.suitsHost).toBe(false);
    const shown = await svc.get({}, call);
    expect(shown.appliedProfiles).toEqual(['dell-md36xx-rdac', 'dell-md36xx-alua']);
    expect(shown.devices?.map((d) => d?.vendor)).toEqual(['DELL', 'ACME']);
  });
});
