import { aluaStateName, normalizeAluaState } from './alua-states.js';
import { ScsiDecodeError } from './scsi-errors.js';

export interface TargetPortGroupInfo {
  id: number;
  preferred: boolean;
  state: string;
  stateCode: number;
  statusCode: number;
  vendorUnique: number | null;
  /** Supported states: T_SUP, O_SUP, LBD_SUP, U_SUP, S_SUP, AN_SUP, AO_SUP. */
  supported: { t: boolean; o: boolean; lbd: boolean; u: boolean; s: boolean; an: boolean; ao: boolean } | null;
  relativePorts: number[];
  /** TARGET PORT COUNT as reported (sg_rtpg text may list fewer ids). */
  targetPortCount: number;
}

export interface RtpgInfo {
  groups: TargetPortGroupInfo[];
  /** 'length' (4-byte header) or 'extended' (8-byte header with the implicit transition time). */
  format: 'length' | 'extended' | null;
  implicitTransitionTime: number | null;
}

export const rtpgStatusCodes: Readonly<Record<number, string>> = {
  0: 'no status available',
  1: 'changed by SET TARGET PORT GROUPS',
  2: 'changed by implicit asymmetric logical unit access behavior',
};

/** REPORT TARGET PORT GROUPS parameter data (SPC-4 6.37): header, then one descriptor per group. */
export function decodeRtpg(b: Uint8Array): RtpgInfo {
  if (b.length < 4) throw new ScsiDecodeError('REPORT TARGET PORT GROUPS', `${b.length} bytes, need at least 4`);
  const returned = Buffer.from(b).readUInt32BE(0);
  const extended = b.length >= 8 && (((b[4] as number) >> 4) & 0x7) === 1;
  const end = Math.min(b.length, 4 + returned);
  if (4 + returned > b.length) throw new ScsiDecodeError('REPORT TARGET PORT GROUPS', `header says ${4 + returned} bytes, got ${b.length}`);
  const groups: TargetPortGroupInfo[] = [];
  let off = extended ? 8 : 4;
  while (off + 8 <= end) {
    const b0 = b[off] as number;
    const b1 = b[off + 1] as number;
    const count = b[off + 7] as number;
    if (off + 8 + 4 * count > end) throw new ScsiDecodeError('REPORT TARGET PORT GROUPS', `group at offset ${off} lists ${count} ports past the end`);
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const p = off + 8 + 4 * i;
      ports.push(((b[p + 2] as number) << 8) | (b[p + 3] as number));
    }
    groups.push({
      id: ((b[off + 2] as number) << 8) | (b[off + 3] as number),
      preferred: (b0 & 0x80) !== 0,
      state: aluaStateName(b0 & 0x0f),
      stateCode: b0 & 0x0f,
      statusCode: b[off + 5] as number,
      vendorUnique: b[off + 6] as number,
      supported: { t: !!(b1 & 0x80), o: !!(b1 & 0x40), lbd: !!(b1 & 0x10), u: !!(b1 & 0x08), s: !!(b1 & 0x04), an: !!(b1 & 0x02), ao: !!(b1 & 0x01) },
      relativePorts: ports,
      targetPortCount: count,
    });
    off += 8 + 4 * count;
  }
  return { groups, format: extended ? 'extended' : 'length', implicitTransitionTime: extended ? (b[5] as number) : null };
}

/**
 * The text `sg_rtpg -d` prints (with or without -v lines; Rtpg_fmt and LBD_SUP only in newer versions):
 *   target port group id : 0x1 , Pref=0, Rtpg_fmt=0
 *     target port group asymmetric access state : 0x00 (active/optimized)
 *     T_SUP : 1, O_SUP : 1, LBD_SUP : 0, U_SUP : 1, S_SUP : 1, AN_SUP : 1, AO_SUP : 1
 *     status code : 0x02 (...)
 *     target port count : 01
 *     Relative target port ids:
 *       0x01
 */
export function parseSgRtpgText(text: string): RtpgInfo {
  const groups: TargetPortGroupInfo[] = [];
  let g: TargetPortGroupInfo | null = null;
  let inPorts = false;
  const hexOrDec = (s: string) => (/^0x/i.test(s) ? Number.parseInt(s.slice(2), 16) : Number.parseInt(s, 16));
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const head = /target port group id\s*:\s*(0x[0-9a-fA-F]+|\d+)\s*,?\s*Pref\s*=\s*(\d)/i.exec(line);
    if (head !== null) {
      g = { id: hexOrDec(head[1] as string), preferred: head[2] === '1', state: 'unknown', stateCode: -1, statusCode: 0, vendorUnique: null, supported: null, relativePorts: [], targetPortCount: 0 };
      groups.push(g);
      inPorts = false;
      continue;
    }
    if (g === null) continue;
    const st = /asymmetric access state\s*:\s*0x([0-9a-fA-F]+)(?:\s*\(([^)]*)\))?/i.exec(line);
    if (st !== null) {
      g.stateCode = Number.parseInt(st[1] as string, 16) & 0x0f;
      g.state = aluaStateName(g.stateCode);
      if (g.state.startsWith('reserved') && st[2] !== undefined) g.state = normalizeAluaState(st[2]) ?? g.state;
      continue;
    }
    if (/T_SUP\s*:/.test(line)) {
      const f = (k: string) => new RegExp(`\\b${k}\\s*:\\s*1`).test(line);
      g.supported = { t: f('T_SUP'), o: f('O_SUP'), lbd: f('LBD_SUP'), u: f('U_SUP'), s: f('S_SUP'), an: f('AN_SUP'), ao: f('AO_SUP') };
      continue;
    }
    const sc = /^status code\s*:\s*0x([0-9a-fA-F]+)/i.exec(line);
    if (sc !== null) {
      g.statusCode = Number.parseInt(sc[1] as string, 16);
      continue;
    }
    const tc = /^target port count\s*:\s*(0x)?([0-9a-fA-F]+)/i.exec(line);
    if (tc !== null) {
      g.targetPortCount = Number.parseInt(tc[2] as string, 16);
      continue;
    }
    const vu = /^vendor unique status\s*:\s*0x([0-9a-fA-F]+)/i.exec(line);
    if (vu !== null) {
      g.vendorUnique = Number.parseInt(vu[1] as string, 16);
      continue;
    }
    if (/^Relative target port ids?:?/i.test(line)) {
      inPorts = true;
      const rest = line.replace(/^Relative target port ids?:?/i, '').trim();
      for (const t of rest.split(/[\s,]+/).filter((x) => x !== '')) g.relativePorts.push(hexOrDec(t));
      continue;
    }
    if (inPorts && /^(0x[0-9a-fA-F]+[\s,]*)+$/.test(line)) {
      for (const t of line.split(/[\s,]+/).filter((x) => x !== '')) g.relativePorts.push(hexOrDec(t));
    }
  }
  if (groups.length === 0) throw new ScsiDecodeError('sg_rtpg output', 'no "target port group id" line');
  return { groups, format: null, implicitTransitionTime: null };
}
