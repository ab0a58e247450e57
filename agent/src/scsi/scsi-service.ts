import type { ScsiLunVerdict, ScsiPathReport, ScsiServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/scsi';
import type { AgentContext } from '../server/agent-context.js';
import { listMaps } from '../multipath/list-maps.js';
import { mapToProto } from '../multipath/multipath-service.js';
import type { MultipathMapInfo } from '../multipath/parse-multipath-ll.js';
import { readPlatform } from '../multipath/platform.js';
import { devicePath } from '../validate/validators.js';
import type { Designator } from './decode-vpd83.js';
import { aluaVerdict, pathAluaState, type LunVerdict, type PathFacts } from './alua-verdict.js';
import { parseRdacLog } from './parse-rdac-log.js';
import { listSysfsMultipathMaps, readKernelLog, readPathFacts, resolveDevice, type ScsiReadContext } from './read-path-facts.js';

const undef = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

/** A designator's decoded parts as the proto's string map (see ScsiDesignator.parts). */
export function designatorParts(d: Designator): Record<string, string> {
  const out: Record<string, string> = {};
  if (d.t10 !== undefined) Object.assign(out, { vendor_id: d.t10.vendorId, vendor_specific: d.t10.vendorSpecific });
  if (d.naa !== undefined) {
    Object.assign(out, { naa_format: String(d.naa.format), company_id: d.naa.companyId, vendor_specific: d.naa.vendorSpecific });
    if (d.naa.extension !== undefined) out['extension'] = d.naa.extension;
  }
  if (d.eui64 !== undefined) Object.assign(out, { company_id: d.eui64.companyId, extension: d.eui64.extension });
  if (d.number !== undefined) out['number'] = String(d.number);
  if (d.uuid !== undefined) out['uuid'] = d.uuid;
  return out;
}

export function pathReportToProto(p: PathFacts, verdict: Pick<LunVerdict, 'mode' | 'pathStates'>): ScsiPathReport {
  const st = verdict.pathStates[p.dev] ?? pathAluaState(p, verdict.mode);
  return {
    device: `/dev/${p.dev}`,
    hctl: undef(p.hctl),
    inquiry:
      p.inquiry === null
        ? undefined
        : {
            peripheralQualifier: p.inquiry.peripheralQualifier ?? 0,
            deviceType: p.inquiry.deviceType ?? 0,
            version: p.inquiry.version ?? 0,
            tpgs: p.inquiry.tpgs ?? 0,
            vendor: p.inquiry.vendor ?? '',
            product: p.inquiry.product ?? '',
            revision: p.inquiry.revision ?? '',
            multiPort: p.inquiry.multiPort ?? false,
            thirdPartyCopy: p.inquiry.thirdPartyCopy ?? false,
            protect: p.inquiry.protect ?? false,
          },
    vpd83:
      p.vpd83 === null
        ? undefined
        : {
            designators: p.vpd83.designators.map((d) => ({ association: d.association, type: d.type, codeSet: d.codeSet, value: d.value, parts: designatorParts(d) })),
            t10VendorId: p.vpd83.t10Vendor ?? undefined,
            naa: undef(p.vpd83.naa),
            relativeTargetPort: undef(p.vpd83.relativeTargetPort),
            targetPortGroup: undef(p.vpd83.targetPortGroup),
            scsiName: undef(p.vpd83.scsiName),
          },
    vpdC9:
      p.vpdC9 === null
        ? undefined
        : {
            mode: p.vpdC9.mode,
            owned: p.vpdC9.owned ?? false,
            preferred: p.vpdC9.preferred ?? false,
            avteCvp: p.vpdC9.avteCvp ?? 0,
            sgVpdMode: p.vpdC9.sgVpdMode ?? '',
            divergent: p.vpdC9.divergent ?? false,
            thisControllerState: undef(p.vpdC9.thisControllerState),
            alternateControllerState: undef(p.vpdC9.alternateControllerState),
          },
    rtpg:
      p.rtpg === null
        ? undefined
        : { groups: p.rtpg.groups.map((g) => ({ id: g.id, preferred: g.preferred, state: g.state, stateCode: g.stateCode, statusCode: g.statusCode, relativePorts: g.relativePorts })) },
    accessState: undef(p.accessState),
    preferredPath: undef(p.preferredPath),
    dhState: undef(p.dhState),
    kernelLog: p.kernelLog === null ? undefined : p.kernelLog,
    aluaState: undef(st.state),
    aluaStateSource: st.source,
    errors: p.errors,
  };
}

export function verdictToProto(v: LunVerdict, map: MultipathMapInfo | null, paths: readonly PathFacts[]): ScsiLunVerdict {
  return {
    name: v.name,
    wwid: v.wwid,
    vendor: v.vendor,
    product: v.product,
    mode: v.mode,
    aluaInUse: v.aluaInUse,
    tpgs: undef(v.tpgs),
    optimizedPaths: v.optimizedPaths,
    nonOptimizedPaths: v.nonOptimizedPaths,
    groupsMatch: v.groupsMatch,
    problems: v.problems,
    evidence: v.evidence,
    map: map === null ? undefined : mapToProto(map),
    paths: paths.map((p) => pathReportToProto(p, v)),
  };
}

export interface ScsiServiceOptions {
  /**
   * Run sg3_utils, dmesg and multipath against real devices. Default: only when the root is `/`
   * (a sandbox root has sysfs files but no devices). Tests pass true with a stub runner.
   */
  runTools?: boolean;
}

const mapDevs = (m: MultipathMapInfo) => m.groups.flatMap((g) => g.paths.map((p) => p.dev)).filter((d) => /^sd[a-z]{1,3}$/.test(d));

export function scsiService(ctx: AgentContext, options: ScsiServiceOptions = {}): ScsiServiceImplementation {
  const runTools = options.runTools ?? ctx.root.root === '/';
  const rctx = (signal: AbortSignal): ScsiReadContext => ({ root: ctx.root, runner: ctx.runner, runTools, signal });

  async function facts(r: ScsiReadContext, devs: readonly string[]): Promise<PathFacts[]> {
    const log = parseRdacLog(await readKernelLog(r));
    const out: PathFacts[] = [];
    for (const d of devs) out.push(await readPathFacts(r, d, log));
    return out;
  }

  return {
    async inspect(request, { signal }) {
      const r = rctx(signal);
      const resolved = await resolveDevice(ctx.root, devicePath('device', request.device), signal);
      const paths = await facts(r, resolved.devs);
      const v = aluaVerdict(null, paths);
      return { paths: paths.map((p) => pathReportToProto(p, v)) };
    },

    async getAluaReport(request, { signal }) {
      const r = rctx(signal);
      const warnings: string[] = [];
      let maps: MultipathMapInfo[] = [];
      if (runTools) {
        try {
          const platform = await readPlatform(ctx.root, ctx.runner, signal);
          const listing = await listMaps(ctx.runner, platform.flavor, signal);
          maps = listing.maps;
          warnings.push(...listing.warnings);
        } catch (err) {
          warnings.push(`multipath maps: ${(err as Error).message.slice(0, 200)}`);
        }
      } else warnings.push('sandbox root: no multipath maps and no sg3_utils, sysfs only');

      const luns: ScsiLunVerdict[] = [];
      if (request.device === '') {
        if (maps.length === 0) {
          const fromSysfs = await listSysfsMultipathMaps(ctx.root, signal);
          if (fromSysfs.length === 0) warnings.push('no multipath maps');
          else warnings.push(`maps from sysfs (dm/uuid mpath-*): ${fromSysfs.map((m) => m.name).join(', ')}; no path groups to check`);
          for (const m of fromSysfs) {
            const paths = await facts(r, m.devs);
            const v = aluaVerdict(null, paths, m.name);
            luns.push(verdictToProto({ ...v, wwid: m.wwid }, null, paths));
          }
        }
        for (const m of maps) {
          const paths = await facts(r, mapDevs(m));
          luns.push(verdictToProto(aluaVerdict(m, paths), m, paths));
        }
        return { luns, warnings };
      }
      const resolved = await resolveDevice(ctx.root, devicePath('device', request.device), signal);
      const map =
        maps.find((m) => (resolved.mapName !== null && m.name === resolved.mapName) || (resolved.dm !== null && m.dm === resolved.dm)) ??
        maps.find((m) => mapDevs(m).some((d) => resolved.devs.includes(d))) ??
        null;
      const devs = map !== null && resolved.devs.length <= 1 ? mapDevs(map) : resolved.devs;
      if (devs.length === 0) warnings.push(`${request.device}: no SCSI paths found`);
      const paths = await facts(r, devs);
      luns.push(verdictToProto(aluaVerdict(map, paths, map?.name ?? resolved.mapName ?? request.device), map, paths));
      return { luns, warnings };
    },
  };
}
