import type { MultipathMapInfo } from '../multipath/parse-multipath-ll.js';
import { normalizeAluaState } from './alua-states.js';
import type { InquiryInfo } from './decode-inquiry.js';
import type { RtpgInfo } from './decode-rtpg.js';
import type { VpdC9Info } from './decode-vpd-c9.js';
import type { Vpd83Info } from './decode-vpd83.js';
import type { RdacLogLine } from './parse-rdac-log.js';

/** Everything read about one path (sdX). Any part may be missing. */
export interface PathFacts {
  dev: string;
  hctl: string | null;
  inquiry: InquiryInfo | null;
  vpd83: Vpd83Info | null;
  vpdC9: VpdC9Info | null;
  rtpg: RtpgInfo | null;
  accessState: string | null;
  preferredPath: boolean | null;
  dhState: string | null;
  kernelLog: RdacLogLine | null;
  errors: string[];
}

export type LunMode = 'ALUA' | 'IOSHIP' | 'AVT' | 'RDAC' | 'none';

export interface PathState {
  state: string | null;
  source: 'sysfs' | 'rtpg' | 'vpd-c9' | 'rdac-ownership' | '';
}

export interface LunVerdict {
  name: string;
  wwid: string;
  vendor: string;
  product: string;
  mode: LunMode;
  aluaInUse: boolean;
  tpgs: number | null;
  optimizedPaths: string[];
  nonOptimizedPaths: string[];
  groupsMatch: boolean;
  problems: string[];
  evidence: string[];
  pathStates: Record<string, PathState>;
}

/** This path's ALUA state: sysfs first, then RTPG by the path's target port group, then VPD 0xc9, then RDAC ownership. */
export function pathAluaState(p: PathFacts, mode: LunMode): PathState {
  const sysfs = p.accessState === null ? null : normalizeAluaState(p.accessState);
  if (sysfs !== null) return { state: sysfs, source: 'sysfs' };
  if (p.rtpg !== null && p.vpd83 !== null) {
    const tpg = p.vpd83.targetPortGroup;
    const rel = p.vpd83.relativeTargetPort;
    const g = p.rtpg.groups.find((x) => (tpg !== null && x.id === tpg) || (tpg === null && rel !== null && x.relativePorts.includes(rel)));
    if (g !== undefined) return { state: g.state, source: 'rtpg' };
  }
  if (p.vpdC9 !== null && p.vpdC9.mode === 'IOSHIP' && p.vpdC9.thisControllerState !== null) return { state: p.vpdC9.thisControllerState, source: 'vpd-c9' };
  const owned = p.vpdC9?.owned ?? p.kernelLog?.owned ?? null;
  if (owned !== null && (mode === 'RDAC' || mode === 'AVT' || mode === 'IOSHIP')) {
    // The owning controller's paths are the optimized ones; legacy RDAC cannot use the others at all.
    return { state: owned ? 'active/optimized' : mode === 'RDAC' ? 'standby' : 'active/non-optimized', source: 'rdac-ownership' };
  }
  return { state: null, source: '' };
}

function lunMode(paths: readonly PathFacts[], map: MultipathMapInfo | null, evidence: string[]): { mode: LunMode; tpgs: number | null } {
  const tpgsValues = paths.map((p) => p.inquiry?.tpgs).filter((t): t is number => t !== null && t !== undefined);
  const tpgs = tpgsValues.length > 0 ? Math.max(...tpgsValues) : null;
  if (tpgs !== null) evidence.push(`INQUIRY TPGS=${tpgs} (${tpgs === 0 ? 'no ALUA reported' : 'ALUA reported'})`);
  const c9 = paths.find((p) => p.vpdC9 !== null)?.vpdC9 ?? null;
  if (c9 !== null) {
    const byte = c9.avteCvp === null ? '' : ` byte 8 = 0x${c9.avteCvp.toString(16).padStart(2, '0')}`;
    evidence.push(`VPD 0xc9${byte}: ${c9.mode}${c9.owned === null ? '' : c9.owned ? ', owned' : ', unowned'} (kernel reading)`);
    if (c9.divergent === true) evidence.push(`sg_vpd 1.46 reads the same byte as ${c9.sgVpdMode}: it needs bits 7, 6 and 5 set for IOSHIP, the kernel only bit 5`);
    if (c9.mode === 'IOSHIP' && tpgs === 0) evidence.push('TPGS=0 although the array runs IOSHIP: the MD3xxx case, ALUA is in use through the rdac handler');
    return { mode: c9.mode, tpgs };
  }
  const log = paths.find((p) => p.kernelLog !== null)?.kernelLog ?? null;
  if (log !== null) {
    evidence.push(`kernel: ${log.line.replace(/^.*?((?:sd|scsi) \d+:\d+:\d+:\d+: rdac:)/, '$1')}`);
    return { mode: log.mode, tpgs };
  }
  const rtpg = paths.some((p) => p.rtpg !== null && p.rtpg.groups.length > 0);
  if ((tpgs !== null && tpgs > 0) || rtpg) return { mode: 'ALUA', tpgs };
  const dh = paths.find((p) => p.dhState !== null && p.dhState !== 'detached')?.dhState ?? null;
  if (dh !== null) evidence.push(`device handler: ${dh}`);
  if (dh === 'alua') return { mode: 'ALUA', tpgs };
  if (dh === 'rdac' || /rdac/.test(map?.hwhandler ?? '')) return { mode: 'RDAC', tpgs };
  return { mode: 'none', tpgs };
}

/**
 * Per LUN: which access mode the array really runs (kernel rules for RDAC 0xc9, TPGS/RTPG for
 * ALUA), which paths are optimized, and whether the multipath groups follow: the highest
 * priority group, which is also the active one, holds exactly the optimized paths.
 */
export function aluaVerdict(map: MultipathMapInfo | null, paths: readonly PathFacts[], name?: string): LunVerdict {
  const evidence: string[] = [];
  const problems: string[] = [];
  const { mode, tpgs } = lunMode(paths, map, evidence);
  const pathStates: Record<string, PathState> = {};
  for (const p of paths) pathStates[p.dev] = pathAluaState(p, mode);
  const known = paths.filter((p) => pathStates[p.dev]?.state !== null);
  const optimized = known.filter((p) => pathStates[p.dev]?.state === 'active/optimized').map((p) => p.dev);
  const others = known.filter((p) => pathStates[p.dev]?.state !== 'active/optimized').map((p) => p.dev);
  const inq = paths.find((p) => p.inquiry !== null)?.inquiry ?? null;

  if (map !== null && map.groups.length > 0 && known.length > 0 && mode !== 'none') {
    const groups = map.groups.map((g, i) => ({ i, g, devs: g.paths.map((p) => p.dev) }));
    const prios = groups.map((x) => x.g.prio);
    const top = [...groups].sort((a, b) => (b.g.prio ?? -1) - (a.g.prio ?? -1) || a.i - b.i)[0];
    const optSet = new Set(optimized);
    if (optimized.length === 0) problems.push('no path is active/optimized');
    if (groups.length === 1 && others.length > 0 && optimized.length > 0) {
      problems.push(`one path group holds optimized (${optimized.join(', ')}) and non-optimized (${others.join(', ')}) paths: I/O also goes through the non-owning controller (path_grouping_policy multibus?)`);
    }
    if (groups.length > 1 && prios.every((p) => p === prios[0]) && others.length > 0) {
      problems.push(`every path group has prio ${String(prios[0])}: the prioritizer does not see the ALUA states (prio const, or TPGS=0 without the rdac prioritizer)`);
    }
    if (top !== undefined && optimized.length > 0) {
      const topNonOpt = top.devs.filter((d) => !optSet.has(d) && pathStates[d]?.state !== null);
      const missing = optimized.filter((d) => !top.devs.includes(d));
      if (groups.length > 1 && topNonOpt.length > 0) problems.push(`the highest priority group (#${top.i + 1}) holds non-optimized paths: ${topNonOpt.join(', ')}`);
      if (groups.length > 1 && missing.length > 0) problems.push(`optimized paths outside the highest priority group: ${missing.join(', ')}`);
      if (top.i !== 0 && groups.length > 1 && !prios.every((p) => p === prios[0])) problems.push(`the optimized group is #${top.i + 1} in the map, not first`);
    }
    const active = groups.find((x) => x.g.status === 'active');
    if (active !== undefined && optimized.length > 0 && !active.devs.some((d) => optSet.has(d))) {
      problems.push(`the active path group (#${active.i + 1}) has no optimized path: I/O runs on ${active.devs.join(', ')}`);
    }
    // Path priorities (multipathd json) must rank every optimized path above every other one.
    const prioOf = new Map(map.groups.flatMap((g) => g.paths).map((p) => [p.dev, p.prio]));
    const optPrios = optimized.map((d) => prioOf.get(d)).filter((x): x is number => typeof x === 'number');
    const otherPrios = others.map((d) => prioOf.get(d)).filter((x): x is number => typeof x === 'number');
    if (optPrios.length > 0 && otherPrios.length > 0 && Math.min(...optPrios) <= Math.max(...otherPrios)) {
      problems.push(`path priorities do not rank optimized paths first (optimized ${optPrios.join('/')}, others ${otherPrios.join('/')})`);
    }
  } else if (map !== null && mode !== 'none' && known.length === 0) {
    problems.push('no path state could be read (sysfs access_state, RTPG, VPD 0xc9): the groups cannot be checked');
  }
  if (mode === 'ALUA' && map !== null && map.hwhandler !== null && /rdac|emc|hp_sw/.test(map.hwhandler)) {
    evidence.push(`hardware handler ${map.hwhandler} on an ALUA LUN`);
  }
  return {
    name: name ?? map?.name ?? paths[0]?.dev ?? '',
    wwid: map?.wwid ?? paths.find((p) => p.vpd83?.naa)?.vpd83?.naa ?? '',
    vendor: map?.vendor ?? inq?.vendor ?? '',
    product: map?.product ?? inq?.product ?? '',
    mode,
    aluaInUse: mode === 'ALUA' || mode === 'IOSHIP',
    tpgs,
    optimizedPaths: optimized,
    nonOptimizedPaths: others,
    groupsMatch: problems.length === 0,
    problems,
    evidence,
    pathStates,
  };
}
