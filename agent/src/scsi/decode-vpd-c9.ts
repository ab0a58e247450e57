import { aluaStateName, normalizeAluaState } from './alua-states.js';
import { ScsiDecodeError } from './scsi-errors.js';

export type RdacMode = 'IOSHIP' | 'AVT' | 'RDAC';

/**
 * RDAC "Volume Access Control" VPD page 0xc9 ("vac1"), as the Linux scsi_dh_rdac handler reads it:
 * byte 8 (avte_cvp) bit 5 set = IOSHIP (the array runs ALUA), else bit 7 = AVT, else legacy RDAC;
 * bit 0 = this controller owns the LUN; byte 9 bit 0 = preferred path.
 * sg_vpd 1.46 disagrees on IOSHIP: it needs bits 7, 6 and 5 all set ((b8 & 0xe0) == 0xe0) and
 * otherwise prints "AVT: Enabled/Disabled". Both readings are returned; `mode` is the kernel's.
 */
export interface VpdC9Info {
  mode: RdacMode;
  owned: boolean | null;
  preferred: boolean | null;
  /** Byte 8, or null when decoded from sg_vpd text. */
  avteCvp: number | null;
  sgVpdMode: RdacMode | null;
  divergent: boolean | null;
  pageId: string | null;
  /** sg_vpd's "Path priority": byte 15 when byte 8 bit 3 is set, else byte 9 (1 preferred, 2 secondary). */
  pathPriority: number | null;
  /**
   * Bytes 10 and 12: the ALUA state of this and of the alternate controller's ports. Decoded when
   * byte 8 bit 7 is set, as sg_vpd does ("Target Port Group Data"); real IOSHIP arrays set bits 7-5.
   */
  thisControllerState: string | null;
  alternateControllerState: string | null;
  /** Bytes 11 and 13 with the TPG data: the controller's condition in sg_vpd's words ("Operating normally"). */
  thisControllerStatus: string | null;
  alternateControllerStatus: string | null;
  /** AVT enabled (sg_vpd's reading): byte 8 bit 6, "Allow reads on sector 0". */
  avtAllowReadsOnSector0: boolean | null;
  /** Byte 8 bit 3 set: byte 14's "Preferred Path Auto Changeable" and "Implicit Failback", in sg_vpd's words. */
  preferredPathAutoChangeable: string | null;
  implicitFailback: string | null;
}

/** scsi_dh_rdac / sg_vpd controller condition codes (byte 11 and 13), in sg_vpd's words. */
const controllerStatus: Readonly<Record<number, string>> = {
  0x01: 'Operating normally',
  0x02: 'Non-responsive to queries',
  0x03: 'Controller being held in reset',
  0x04: 'Performing controller firmware download (1st controller)',
  0x05: 'Performing controller firmware download (2nd controller)',
  0x06: 'Quiesced as a result of an administrative request',
  0x07: 'Service mode as a result of an administrative request',
  0xff: 'Details are not available',
};
const autoChangeable: Readonly<Record<number, string>> = {
  0x14: 'No (User Disabled and Host Type Restricted)',
  0x18: 'No (User Disabled)',
  0x24: 'No (Host Type Restricted)',
  0x28: 'Yes',
};
const failback: Readonly<Record<number, string>> = { 0x1: 'Disabled', 0x2: 'Enabled' };

export function kernelRdacMode(avteCvp: number): RdacMode {
  if ((avteCvp >> 5) & 0x1) return 'IOSHIP';
  if ((avteCvp >> 7) & 0x1) return 'AVT';
  return 'RDAC';
}

export function sgVpdRdacMode(avteCvp: number): RdacMode {
  if ((avteCvp & 0xe0) === 0xe0) return 'IOSHIP';
  if (avteCvp & 0x80) return 'AVT';
  return 'RDAC';
}

export function decodeVpdC9(b: Uint8Array): VpdC9Info {
  if (b.length < 10) throw new ScsiDecodeError('VPD page 0xc9', `${b.length} bytes, need at least 10`);
  if (b[1] !== 0xc9) throw new ScsiDecodeError('VPD page 0xc9', `page code is 0x${(b[1] as number).toString(16).padStart(2, '0')}, not 0xc9`);
  const pageId = Buffer.from(b.subarray(4, 8)).toString('latin1');
  if (!pageId.startsWith('vac')) throw new ScsiDecodeError('VPD page 0xc9', `page id "${pageId}" is not "vac1": not an RDAC array`);
  const b8 = b[8] as number;
  const mode = kernelRdacMode(b8);
  const sg = sgVpdRdacMode(b8);
  const prioByte = b8 & 0x08 ? b[15] : b[9];
  const tpgData = (b8 & 0x80) !== 0;
  const at = (i: number) => b[i] ?? 0;
  const extended = (b8 & 0x08) !== 0;
  return {
    mode,
    owned: (b8 & 0x01) !== 0,
    preferred: ((b[9] as number) & 0x01) !== 0,
    avteCvp: b8,
    sgVpdMode: sg,
    divergent: mode !== sg,
    pageId,
    pathPriority: prioByte === undefined ? null : prioByte & 0x0f,
    thisControllerState: tpgData ? aluaStateName(at(10) & 0x0f) : null,
    alternateControllerState: tpgData ? aluaStateName(at(12) & 0x0f) : null,
    thisControllerStatus: tpgData ? (controllerStatus[at(11)] ?? '(unknown)') : null,
    alternateControllerStatus: tpgData ? (controllerStatus[at(13)] ?? '(unknown)') : null,
    avtAllowReadsOnSector0: sg === 'AVT' ? (b8 & 0x40) !== 0 : null,
    preferredPathAutoChangeable: extended ? (autoChangeable[at(14) & 0x3c] ?? '(Unknown)') : null,
    implicitFailback: extended ? (failback[at(14) & 0x03] ?? '(Unknown)') : null,
  };
}

/** sg_vpd's headings of the page and of its two Target Port Group Data blocks. */
const headings = ['Volume access control (RDAC) VPD Page:', 'Target Port Group Data (This controller):', 'Target Port Group Data (Alternate controller):'];

export interface SgVpdC9Parse {
  info: VpdC9Info;
  /** Lines sg_vpd printed that no field accounts for. */
  unrecognised: string[];
}

/**
 * The decoded text of `sg_vpd -p 0xc9` ("IOShipping (ALUA): Enabled", "AVT: Disabled",
 * "Volume Access via: primary controller", "Path priority: 1 (preferred path)").
 * Without byte 8 the kernel mode is only known when sg_vpd says IOShipping.
 */
export function parseSgVpdC9TextStrict(text: string): SgVpdC9Parse {
  let sg: RdacMode | null = null;
  let sector0: boolean | null = null;
  let owned: boolean | null = null;
  let prio: number | null = null;
  let autoChange: string | null = null;
  let implicit: string | null = null;
  const states: (string | null)[] = [];
  const statuses: string[] = [];
  const unrecognised: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    // The lines as sg_vpd_vendor.c's decode_rdac_vpd_c9 prints them (one blank after each colon).
    if (line === '' || headings.includes(line)) continue;
    let m: RegExpExecArray | null;
    if (line === 'IOShipping (ALUA): Enabled') sg = 'IOSHIP';
    else if ((m = /^AVT: (Enabled|Disabled)( \(Allow reads on sector 0\))?$/.exec(line)) !== null) {
      sg = m[1] === 'Enabled' ? 'AVT' : 'RDAC';
      sector0 = sg === 'AVT' ? m[2] !== undefined : null;
    } else if ((m = /^Volume Access via: (primary|alternate) controller$/.exec(line)) !== null) owned = m[1] === 'primary';
    else if ((m = /^Path priority: (\d+) \((?:preferred path|secondary path|unknown)\)$/.exec(line)) !== null) prio = Number(m[1]);
    else if ((m = /^Preferred Path Auto Changeable: (.+)/.exec(line)) !== null) autoChange = m[1] as string;
    else if ((m = /^Implicit Failback: (.+)/.exec(line)) !== null) implicit = m[1] as string;
    else if ((m = /^Asymmetric Access State: (.+)/.exec(line)) !== null) states.push(normalizeAluaState(m[1] as string));
    else if ((m = /^Vendor Specific Field: (.+)/.exec(line)) !== null) statuses.push(m[1] as string);
    else unrecognised.push(line);
  }
  if (sg === null) throw new ScsiDecodeError('sg_vpd 0xc9 output', 'no "IOShipping (ALUA):" or "AVT:" line');
  return {
    info: {
      mode: sg,
      owned,
      preferred: prio === null ? null : prio === 1,
      avteCvp: null,
      sgVpdMode: sg,
      divergent: sg === 'IOSHIP' ? false : null,
      pageId: /\bvac\d\b/.exec(text)?.[0] ?? null,
      pathPriority: prio,
      thisControllerState: states[0] ?? null,
      alternateControllerState: states[1] ?? null,
      thisControllerStatus: statuses[0] ?? null,
      alternateControllerStatus: statuses[1] ?? null,
      avtAllowReadsOnSector0: sector0,
      preferredPathAutoChangeable: autoChange,
      implicitFailback: implicit,
    },
    unrecognised,
  };
}

/**
 * The decoded text of `sg_vpd -p 0xc9` ("IOShipping (ALUA): Enabled", "AVT: Disabled",
 * "Volume Access via: primary controller", "Path priority: 1 (preferred path)").
 * Without byte 8 the kernel mode is only known when sg_vpd says IOShipping.
 */
export function parseSgVpdC9Text(text: string): VpdC9Info {
  return parseSgVpdC9TextStrict(text).info;
}
