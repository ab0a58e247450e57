import { randomBytes } from 'node:crypto';
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '@xsctl/common/errors/index';
import { DrbdSyntax, type DrbdServiceImplementation, type DrbdVersion } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { CommandFailedError } from '../exec/command-errors.js';
import { writeFileAtomic } from '../fs/write-file-atomic.js';
import type { AgentContext } from '../server/agent-context.js';
import { backingDevicePath, drbdResourceName } from '../validate/validators.js';
import { adjustUpResources, upResources } from './adjust-up-resources.js';
import { DrbdConfigRejectedError } from './drbd-errors.js';
import { attach, backingDiskOf, bringUp, configuredResources, connect, createMetadata, demote, disconnect, initialSync, promote, readStatus, resolveSplitBrain } from './drbd-ops.js';
import { normalizeDrbdSpecs } from './drbd-spec.js';
import { detectDrbdVersion, syntaxName } from './drbd-version.js';
import { representativeVersion } from './drbdadm-args.js';
import { editLvmConf } from './lvm-conf.js';
import { redactDrbdSecrets, renderDrbdConf } from './render-drbd-conf.js';
import { renderDrbdMultipathBlacklist } from './render-multipath-blacklist.js';

export { drbdConfPath, lvmConfPath } from './drbd-conf-paths.js';
import { drbdConfPath, lvmConfPath } from './drbd-conf-paths.js';

/** The syntax to render: the caller's, which must agree with a loaded kernel module, or the detected one. */
export function chooseSyntax(requested: DrbdSyntax, detected: DrbdVersion): DrbdSyntax {
  const authoritative = detected.source === 'proc-drbd' || detected.source === 'drbdadm-kernel';
  if (requested === DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED || requested === DrbdSyntax.UNRECOGNIZED) {
    if (detected.syntax === DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED) throw new ValidationError('syntax', 'DRBD is not installed here; give the syntax (8.3, 8.4 or 9)');
    return detected.syntax;
  }
  if (authoritative && requested !== detected.syntax) {
    throw new ValidationError('syntax', `the loaded DRBD is ${detected.kernelVersion} (${syntaxName[detected.syntax]} syntax), not ${syntaxName[requested]}`);
  }
  return requested;
}

/** Runs `fn` with a candidate drbd.conf written to the agent's staging directory, removed after. */
async function withStagedDrbdConf<T>(ctx: AgentContext, text: string, fn: (file: string) => Promise<T>): Promise<T> {
  const staging = ctx.root.resolve(join(ctx.stateDir, 'staging'));
  await mkdir(staging, { recursive: true, mode: 0o700 });
  const file = join(staging, `drbd-check.${randomBytes(4).toString('hex')}.conf`);
  await writeFile(file, text, { mode: 0o600 });
  try {
    return await fn(file);
  } finally {
    await unlink(file).catch(() => undefined);
  }
}

/** Parses a candidate drbd.conf with the installed drbdadm (`sh-nop`) before it replaces the real one. */
export async function checkDrbdConf(ctx: AgentContext, text: string, syntax: DrbdSyntax, signal?: AbortSignal): Promise<void> {
  await withStagedDrbdConf(ctx, text, (file) => checkStagedDrbdConf(ctx, file, syntax, signal));
}

async function checkStagedDrbdConf(ctx: AgentContext, file: string, syntax: DrbdSyntax, signal?: AbortSignal): Promise<void> {
  try {
    const override = representativeVersion[syntax];
    await ctx.runner.run('drbdadm', ['-c', file, 'sh-nop'], { signal, timeoutMs: 15_000, ...(override === undefined ? {} : { env: { DRBD_DRIVER_VERSION_OVERRIDE: override } }) });
  } catch (err) {
    if (err instanceof CommandFailedError) {
      const reason = redactDrbdSecrets(err.stderr.split('\n').filter((l) => l.trim() !== '' && !/PRETENDING|found __DRBD_NODE__/.test(l)).join(' ').trim());
      throw new DrbdConfigRejectedError(reason.replaceAll(file, 'drbd.conf') || `exit ${err.exitCode}`);
    }
    throw err;
  }
}

export function drbdService(ctx: AgentContext): DrbdServiceImplementation {
  return {
    async getDrbdVersion(_request, { signal }) {
      return { version: await detectDrbdVersion(ctx, signal) };
    },

    async renderDrbdConfig(request, { signal }) {
      const resources = normalizeDrbdSpecs(request.resources);
      const syntax = chooseSyntax(request.syntax, await detectDrbdVersion(ctx, signal));
      return { config: renderDrbdConf(resources, syntax), syntax };
    },

    async writeDrbdConfig(request, { signal }) {
      const resources = normalizeDrbdSpecs(request.resources);
      const version = await detectDrbdVersion(ctx, signal);
      const syntax = chooseSyntax(request.syntax, version);
      const text = renderDrbdConf(resources, syntax);
      await checkDrbdConf(ctx, text, syntax, signal);
      const target = ctx.root.resolve(drbdConfPath);
      const before = await readFile(target, 'utf8').catch(() => null);
      const changed = before !== text;
      // An up resource keeps the options it was brought up with until `drbdadm adjust` (issue 11:
      // the fast-failover net section); read which are up before the file names them differently.
      const up = changed ? await upResources(ctx, resources.map((r) => r.name), signal, version) : [];
      if (!request.confirm || !changed) {
        // Dry run: what adjust would change, compared with the candidate file; nothing is loaded.
        const adjusts = up.length === 0 ? [] : await withStagedDrbdConf(ctx, text, (file) => adjustUpResources(ctx, up, file, false, signal));
        return { syntax, path: drbdConfPath, changed, written: false, backup: '', adjusts };
      }
      const res = await writeFileAtomic(target, text, {
        mode: 0o600,
        backupDir: ctx.root.resolve(join(ctx.stateDir, 'backups')),
        confineTo: ctx.root.root,
        signal,
      });
      ctx.logger.info({ path: drbdConfPath, resources: resources.map((r) => r.name), syntax: syntaxName[syntax] }, 'drbd.conf written');
      const adjusts = await adjustUpResources(ctx, up, null, true, signal);
      for (const a of adjusts) if (a.applied) ctx.logger.info({ resource: a.resource, commands: a.commands }, 'drbd resource adjusted to the new drbd.conf');
      return { syntax, path: drbdConfPath, changed, written: true, backup: res.backup === null ? '' : ctx.root.hostPath(res.backup), adjusts };
    },

    async getDrbdStatus(request, { signal }) {
      const snap = await readStatus(ctx, request.resource === '' ? null : drbdResourceName('resource', request.resource), signal);
      return { version: snap.version, resources: snap.resources, source: snap.source };
    },

    async attachDrbd(request, { signal }) {
      return { result: await attach(ctx, drbdResourceName('resource', request.resource), signal) };
    },

    async upDrbd(request, { signal }) {
      const result = await bringUp(ctx, drbdResourceName('resource', request.resource), signal);
      if (result.changed) ctx.logger.info({ resource: request.resource, commands: result.commands }, 'drbd resource brought up');
      return { result };
    },

    async connectDrbd(request, { signal }) {
      return { result: await connect(ctx, drbdResourceName('resource', request.resource), signal) };
    },

    async disconnectDrbd(request, { signal }) {
      return { result: await disconnect(ctx, drbdResourceName('resource', request.resource), signal) };
    },

    async promoteDrbd(request, { signal }) {
      const result = await promote(ctx, drbdResourceName('resource', request.resource), request.peerSafety, signal);
      ctx.logger.info({ resource: request.resource, changed: result.changed }, 'drbd promote');
      return { result };
    },

    async demoteDrbd(request, { signal }) {
      const result = await demote(ctx, drbdResourceName('resource', request.resource), signal);
      ctx.logger.info({ resource: request.resource, changed: result.changed }, 'drbd demote');
      return { result };
    },

    async createDrbdMetadata(request, { signal }) {
      const r = await createMetadata(ctx, drbdResourceName('resource', request.resource), request.confirm, request.wipe, signal);
      if (r.result.changed) ctx.logger.warn({ resource: request.resource, disk: r.backingDisk, wiped: request.wipe && r.signatures.length > 0 }, 'drbd create-md');
      return { result: r.result, signatures: r.signatures, backingDisk: r.backingDisk, metadataPresent: r.metadataPresent };
    },

    async startDrbdInitialSync(request, { signal }) {
      const result = await initialSync(ctx, drbdResourceName('resource', request.resource), request.confirm, signal);
      if (result.changed) ctx.logger.warn({ resource: request.resource }, 'drbd initial sync: forced primary');
      return { result };
    },

    async resolveDrbdSplitBrain(request, { signal }) {
      const result = await resolveSplitBrain(ctx, drbdResourceName('resource', request.resource), request.side, request.confirm, signal);
      if (result.changed) ctx.logger.warn({ resource: request.resource, side: request.side }, 'drbd split-brain recovery step');
      return { result };
    },

    async configureLvmForDrbd(request, { signal }) {
      const disks =
        request.backingDisks.length > 0
          ? request.backingDisks.map((d, i) => backingDevicePath(`backingDisks[${i}]`, d))
          : await Promise.all((await configuredResources(ctx, signal)).map((r) => backingDiskOf(ctx, r, signal)));
      const target = ctx.root.resolve(lvmConfPath);
      const original = await readFile(target, 'utf8').catch(() => '');
      const edit = editLvmConf(original, [...new Set(disks)]);
      if (!request.confirm || !edit.changed) return { path: lvmConfPath, changed: edit.changed, written: false, filter: edit.filter, newText: edit.text, backup: '' };
      const res = await writeFileAtomic(target, edit.text, {
        backupDir: ctx.root.resolve(join(ctx.stateDir, 'backups')),
        confineTo: ctx.root.root,
        signal,
      });
      ctx.logger.info({ path: lvmConfPath, filter: edit.filter }, 'lvm.conf edited for drbd');
      return { path: lvmConfPath, changed: true, written: true, filter: edit.filter, newText: edit.text, backup: res.backup === null ? '' : ctx.root.hostPath(res.backup) };
    },

    async renderDrbdMultipathBlacklist() {
      return { stanza: renderDrbdMultipathBlacklist() };
    },
  };
}
