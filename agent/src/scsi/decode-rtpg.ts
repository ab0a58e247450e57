import { aluaStateName } from './alua-states.js';
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
 * The text `sg_rtpg [-d]` prints (sg_rtpg.c, sg3_utils 1.37 on a dom0 to 1.4x here; with or without
 * -v lines; Rtpg_fmt and LBD_SUP only in newer versions; the names in parentheses only with -d):
 *   target port group id : 0x1 , Pref=0, Rtpg_fmt=0
 *     target port group asymmetric access state : 0x00 (active/optimized)
 *     T_SUP : 1, O_SUP : 1, LBD_SUP : 0, U_SUP : 1, S_SUP : 1, AN_SUP : 1, AO_SUP : 1
 *     status code : 0x02 (...)
 *     vendor unique status : 0x00
 *     target port count : 01
 *     Relative target port ids:
 *       0x01
 * The labels are matched as sg_rtpg's printf formats spell them, one blank on each side of " : "
 * (every capture in __fixtures__ and the seeds): other text is not sg_rtpg's and reads as nothing.
 * The state comes from the code, never from the name (sg_rtpg names no state our table lacks).
 */
export function parseSgRtpgText(text: string): RtpgInfo {
  const groups: TargetPortGroupInfo[] = [];
  let g: TargetPortGroupInfo | null = null;
  let inPorts = false;
  // Ids and counts are hex, printed with 0x (%x) or without (%02x); parseInt base 16 takes both.
  const hex = (s: string) => Number.parseInt(s, 16);
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const head = /^target port group id : (0x[0-9a-fA-F]+|[0-9a-fA-F]+) , Pref=([01])/.exec(line);
    if (head !== null) {
      g = { id: hex(head[1] as string), preferred: head[2] === '1', state: 'unknown', stateCode: -1, statusCode: 0, vendorUnique: null, supported: null, relativePorts: [], targetPortCount: 0 };
      groups.push(g);
      inPorts = false;
      continue;
    }
    if (g === null) continue;
    const st = /^target port group asymmetric access state : 0x([0-9a-fA-F]{2})\b/.exec(line);
    if (st !== null) {
      g.stateCode = hex(st[1] as string) & 0x0f;
      g.state = aluaStateName(g.stateCode);
      continue;
    }
    if (line.startsWith('T_SUP : ')) {
      const f = (k: string) => new RegExp(`(?:^|, )${k} : 1(?:,|$)`).test(line);
      g.supported = { t: f('T_SUP'), o: f('O_SUP'), lbd: f('LBD_SUP'), u: f('U_SUP'), s: f('S_SUP'), an: f('AN_SUP'), ao: f('AO_SUP') };
      continue;
    }
    const sc = /^status code : 0x([0-9a-fA-F]{2})\b/.exec(line);
    if (sc !== null) {
      g.statusCode = hex(sc[1] as string);
      continue;
    }
    const tc = /^target port count : (?:0x)?([0-9a-fA-F]+)$/.exec(line);
    if (tc !== null) {
      g.targetPortCount = hex(tc[1] as string);
      continue;
    }
    const vu = /^vendor unique status : 0x([0-9a-fA-F]{2})$/.exec(line);
    if (vu !== null) {
      g.vendorUnique = hex(vu[1] as string);
      continue;
    }
    // sg_rtpg puts the ids on the lines below; a paste may have them on this line, " 0x.." each.
    const ids = /^Relative target port ids:((?: 0x[0-9a-fA-F]+)*)$/.exec(line);
    if (ids !== null) {
      inPorts = true;
      for (const t of (ids[1] ?? '').split(' ').slice(1)) g.relativePorts.push(hex(t));
      continue;
    }
    if (inPorts && /^0x[0-9a-fA-F]+$/.test(line)) g.relativePorts.push(hex(line));
  }
  if (groups.length === 0) throw new ScsiDecodeError('sg_rtpg output', 'no "target port group id" line');
  return { groups, format: null, implicitTransitionTime: null };
}
