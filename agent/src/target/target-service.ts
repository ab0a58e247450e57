import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TargetServiceImplementation, TargetState, TgtdInstance } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import { ValidationError } from '@xsctl/common/errors/index';
import { writeFileAtomic } from '../fs/write-file-atomic.js';
import type { AgentContext } from '../server/agent-context.js';
import { integerInRange } from '../validate/validators.js';
import type { TgtTarget } from './parse-tgtadm-show.js';
import { renderTargetsConf } from './render-targets-conf.js';
import { normalizeTargetSpec, normalizeTargetSpecs } from './target-spec.js';
import { applyTarget, deleteTarget, offlineTarget, showTargets, startTgtd, stopTgtd, type Tgtd } from './tgt-ops.js';

export { targetsConfPath } from './targets-conf-path.js';
import { targetsConfPath } from './targets-conf-path.js';

export function tgtdOf(instance: TgtdInstance | undefined): Tgtd {
  // tgtd takes control ports 0-32767 ("-C argument value '32768' out of range").
  return { controlPort: integerInRange('instance.controlPort', instance?.controlPort ?? 0, 0, 32767) };
}

export function targetStateOf(t: TgtTarget): TargetState {
  return {
    tid: t.tid,
    iqn: t.iqn,
    driver: t.driver,
    state: t.state,
    nexuses: t.nexuses.map((n) => ({ nexusId: n.nexusId, initiator: n.initiator, initiatorAlias: n.initiatorAlias, connections: n.connections.map((c) => ({ cid: c.cid, ipAddress: c.ipAddress })) })),
    luns: t.luns.map((l) => ({
      lun: l.lun,
      type: l.type,
      scsiId: l.scsiId,
      scsiSn: l.scsiSn,
      sizeMb: l.sizeMb,
      online: l.online,
      readonly: l.readonly,
      backingStoreType: l.backingStoreType,
      backingStorePath: l.backingStorePath,
    })),
    accounts: t.accounts,
    acls: t.acls,
  };
}

export function targetService(ctx: AgentContext): TargetServiceImplementation {
  return {
    async renderTargetsConf(request) {
      return { config: renderTargetsConf(normalizeTargetSpecs(request.targets, ctx), { redactSecrets: true }) };
    },

    async writeTargetsConf(request, { signal }) {
      const text = renderTargetsConf(normalizeTargetSpecs(request.targets, ctx), { redactSecrets: false });
      const target = ctx.root.resolve(targetsConfPath);
      const before = await readFile(target, 'utf8').catch(() => null);
      const changed = before !== text;
      if (!request.confirm || !changed) return { path: targetsConfPath, changed, written: false, backup: '' };
      const res = await writeFileAtomic(target, text, { mode: 0o600, backupDir: ctx.root.resolve(join(ctx.stateDir, 'backups')), confineTo: ctx.root.root, signal });
      ctx.logger.info({ path: targetsConfPath, targets: request.targets.map((t) => t.iqn) }, 'targets.conf written');
      return { path: targetsConfPath, changed, written: true, backup: res.backup === null ? '' : ctx.root.hostPath(res.backup) };
    },

    async showTargets(request, { signal }) {
      const shown = await showTargets(ctx, tgtdOf(request.instance), signal);
      return { running: shown.running, targets: shown.targets.map(targetStateOf) };
    },

    async applyTarget(request, { signal }) {
      if (request.target === undefined) throw new ValidationError('target', 'required');
      const r = await applyTarget(ctx, tgtdOf(request.instance), normalizeTargetSpec(request.target, 'target', ctx), signal);
      return { commands: r.commands, changed: r.changed, ...(r.target === null ? {} : { state: targetStateOf(r.target) }) };
    },

    async offlineTarget(request, { signal }) {
      return { changed: await offlineTarget(ctx, tgtdOf(request.instance), integerInRange('tid', request.tid, 1, 65535), signal) };
    },

    async deleteTarget(request, { signal }) {
      return deleteTarget(ctx, tgtdOf(request.instance), integerInRange('tid', request.tid, 1, 65535), request.force, signal);
    },

    async startTgtd(request, { signal }) {
      return startTgtd(ctx, tgtdOf(request.instance), signal);
    },

    async stopTgtd(request, { signal }) {
      const grace = request.graceMs === 0 ? 5_000 : integerInRange('graceMs', request.graceMs, 100, 60_000);
      return stopTgtd(ctx, tgtdOf(request.instance), grace, signal);
    },
  };
}
