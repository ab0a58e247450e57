import { NotFoundError } from '@xsctl/common/errors/index';
import {
  MultipathLayout,
  type MultipathMap,
  type MultipathPlatform,
  type MultipathProfile,
  type MultipathServiceImplementation,
} from '@xsctl/proto/gen/xsctl/agent/v1/multipath';
import type { AgentContext } from '../server/agent-context.js';
import { applyProfile } from './apply-profile.js';
import { planEnableDaemon, readDaemonState } from './daemon.js';
import { listMaps } from './list-maps.js';
import { sameDevice } from './multipath-conf.js';
import type { MultipathMapInfo } from './parse-multipath-ll.js';
import { readPlatform, type MultipathPlatformInfo } from './platform.js';
import { findProfile, multipathProfiles, type MultipathProfileDef } from './profiles.js';
import { readMultipathConfig } from './read-config.js';
import { translateStanza } from './translate-stanza.js';
import { applyDrbdBlacklist } from './apply-drbd-blacklist.js';

const kv = (entries: readonly (readonly [string, string])[]) => entries.map(([key, value]) => ({ key, value }));
const undef = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

export function platformToProto(p: MultipathPlatformInfo): MultipathPlatform {
  return {
    productBrand: p.productBrand,
    productVersion: p.productVersion,
    flavor: p.flavor.id,
    flavorLabel: p.flavor.label,
    multipathVersion: p.flavor.version,
    layout: p.flavor.layout === 'conf-d' ? MultipathLayout.MULTIPATH_LAYOUT_CONF_D : MultipathLayout.MULTIPATH_LAYOUT_MAIN_FILE,
    initSystem: p.flavor.init,
  };
}

export function profileToProto(def: MultipathProfileDef, platform: MultipathPlatformInfo): MultipathProfile {
  const t = translateStanza(def.shipped, platform.flavor);
  const shippedProduct = def.shipped.find(([k]) => k === 'product')?.[1];
  return {
    name: def.name,
    title: def.title,
    source: def.source,
    vendor: def.shipped.find(([k]) => k === 'vendor')?.[1] ?? '',
    product: shippedProduct ?? '',
    pathStates: def.pathStates,
    suitsMinVersion: def.suits.min,
    suitsMaxVersion: def.suits.max ?? '',
    shipped: kv(def.shipped),
    translated: kv(t.stanza),
    notes: t.notes,
    suitsHost: JSON.stringify(t.stanza) === JSON.stringify(def.shipped),
    verified: def.verification.verified,
    verification: def.verification.note,
  };
}

export function mapToProto(m: MultipathMapInfo): MultipathMap {
  return {
    name: m.name,
    wwid: m.wwid,
    dm: undef(m.dm),
    vendor: undef(m.vendor),
    product: undef(m.product),
    size: undef(m.size),
    features: undef(m.features),
    hwhandler: undef(m.hwhandler),
    writePolicy: undef(m.writePolicy),
    groups: m.groups.map((g) => ({
      policy: undef(g.policy),
      prio: undef(g.prio),
      status: undef(g.status),
      paths: g.paths.map((p) => ({
        hctl: undef(p.hctl),
        dev: p.dev,
        devt: undef(p.devt),
        dmState: undef(p.dmState),
        checkerState: undef(p.checkerState),
        deviceState: undef(p.deviceState),
        prio: undef(p.prio),
      })),
    })),
  };
}

function layoutFromProto(l: MultipathLayout): 'main-file' | 'conf-d' | undefined {
  if (l === MultipathLayout.MULTIPATH_LAYOUT_MAIN_FILE) return 'main-file';
  if (l === MultipathLayout.MULTIPATH_LAYOUT_CONF_D) return 'conf-d';
  return undefined;
}

export interface MultipathServiceOptions {
  /** Profiles to offer; tests pass broken ones to see the roll back. */
  profiles?: readonly MultipathProfileDef[];
}

export function multipathService(ctx: AgentContext, options: MultipathServiceOptions = {}): MultipathServiceImplementation {
  const profiles = options.profiles ?? multipathProfiles;
  const platformOf = (signal: AbortSignal) => readPlatform(ctx.root, ctx.runner, signal);
  return {
    async listProfiles(_request, { signal }) {
      const platform = await platformOf(signal);
      return { platform: platformToProto(platform), profiles: profiles.map((p) => profileToProto(p, platform)) };
    },

    async get(_request, { signal }) {
      const platform = await platformOf(signal);
      const view = await readMultipathConfig(ctx.root, signal);
      const daemon = await readDaemonState(ctx.runner, platform.flavor.init, signal);
      const applied = profiles
        .filter((p) => {
          const t = translateStanza(p.shipped, platform.flavor).stanza;
          const vendor = t.find(([k]) => k === 'vendor')?.[1] ?? '';
          const product = t.find(([k]) => k === 'product')?.[1];
          return view.devices.some((d) => sameDevice(d, { vendor, product }));
        })
        .map((p) => p.name);
      return {
        platform: platformToProto(platform),
        files: view.files,
        devices: view.devices.map((d) => ({ ...d, entries: kv(d.entries) })),
        daemon,
        appliedProfiles: applied,
        warnings: view.warnings,
      };
    },

    async apply(request, { signal }) {
      const profile = findProfile(request.profile, profiles);
      if (profile === undefined) throw new NotFoundError('multipath profile', request.profile.slice(0, 64));
      const platform = await platformOf(signal);
      const layout = layoutFromProto(request.layout);
      const out = await applyProfile(
        ctx,
        platform,
        { profile, confirm: request.confirm, skipReconfigure: request.skipReconfigure, ...(layout === undefined ? {} : { layout }) },
        signal,
      );
      return {
        platform: { ...platformToProto(platform), layout: out.layout === 'conf-d' ? MultipathLayout.MULTIPATH_LAYOUT_CONF_D : MultipathLayout.MULTIPATH_LAYOUT_MAIN_FILE },
        targetPath: out.targetPath,
        changed: out.changed,
        dryRun: out.dryRun,
        diff: out.diff,
        backupPath: out.backupPath,
        validation: out.validation ?? undefined,
        reconfigured: out.reconfigured,
        reconfigureDetail: out.reconfigureDetail,
        notes: out.notes,
        warnings: out.warnings,
        stanza: kv(out.stanza),
      };
    },

    async enableDaemon(request, { signal }) {
      const platform = await platformOf(signal);
      const before = await readDaemonState(ctx.runner, platform.flavor.init, signal);
      const plan = planEnableDaemon(before, platform.flavor.init);
      const commands = plan.map((c) => `${c.command} ${c.args.join(' ')}`);
      if (!request.confirm || plan.length === 0) return { before, after: before, commands, changed: false, dryRun: !request.confirm };
      for (const c of plan) await ctx.runner.run(c.command, c.args, { signal, timeoutMs: 60_000 });
      const after = await readDaemonState(ctx.runner, platform.flavor.init, signal);
      return { before, after, commands, changed: true, dryRun: false };
    },

    async applyDrbdBlacklist(request, { signal }) {
      const platform = await platformOf(signal);
      const r = await applyDrbdBlacklist(ctx, platform, request.confirm, signal);
      return {
        targetPath: r.targetPath,
        changed: r.changed,
        dryRun: r.dryRun,
        diff: r.diff,
        alreadyIn: r.alreadyIn,
        backupPath: r.commit?.backupPath ?? '',
        validation: r.commit?.validation,
        reconfigureDetail: r.commit?.reconfigureDetail ?? '',
        warnings: r.commit?.warnings ?? [],
      };
    },

    async listMaps(_request, { signal }) {
      const platform = await platformOf(signal);
      const r = await listMaps(ctx.runner, platform.flavor, signal);
      return { maps: r.maps.map(mapToProto), source: r.source, warnings: r.warnings };
    },
  };
}
