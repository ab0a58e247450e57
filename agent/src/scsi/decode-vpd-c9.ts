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
  /** Bytes 10 and 12 (IOSHIP): the ALUA state of this and of the alternate controller's ports. */
  thisControllerState: string | null;
  alternateControllerState: string | null;
}

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
  const ioship = mode === 'IOSHIP';
  return {
    mode,
    owned: (b8 & 0x01) !== 0,
    preferred: ((b[9] as number) & 0x01) !== 0,
    avteCvp: b8,
    sgVpdMode: sg,
    divergent: mode !== sg,
    pageId,
    pathPriority: prioByte === undefined ? null : prioByte & 0x0f,
    thisControllerState: ioship && b.length > 10 ? aluaStateName((b[10] as number) & 0x0f) : null,
    alternateControllerState: ioship && b.length > 12 ? aluaStateName((b[12] as number) & 0x0f) : null,
  };
}

/**
 * The decoded text of `sg_vpd -p 0xc9` ("IOShipping (ALUA): Enabled", "AVT: Disabled",
 * "Volume Access via: primary controller", "Path priority: 1 (preferred path)").
 * Without byte 8 the kernel mode is only known when sg_vpd says IOShipping.
 */
export function parseSgVpdC9Text(text: string): VpdC9Info {
  let sg: RdacMode | null = null;
  if (/IOShipping \(ALUA\):\s*Enabled/i.test(text)) sg = 'IOSHIP';
  else if (/AVT:\s*Enabled/i.test(text)) sg = 'AVT';
  else if (/AVT:\s*Disabled/i.test(text)) sg = 'RDAC';
  if (sg === null) throw new ScsiDecodeError('sg_vpd 0xc9 output', 'no "IOShipping (ALUA):" or "AVT:" line');
  const via = /Volume Access via:\s*(primary|alternate)/i.exec(text)?.[1]?.toLowerCase();
  const prio = /Path priority:\s*(\d+)/i.exec(text)?.[1];
  const states = [...text.matchAll(/Asymmetric Access State:\s*([^\n]+)/gi)].map((m) => normalizeAluaState(m[1] ?? ''));
  return {
    mode: sg,
    owned: via === undefined ? null : via === 'primary',
    preferred: prio === undefined ? null : prio === '1',
    avteCvp: null,
    sgVpdMode: sg,
    divergent: sg === 'IOSHIP' ? false : null,
    pageId: /\bvac\d\b/.exec(text)?.[0] ?? null,
    pathPriority: prio === undefined ? null : Number.parseInt(prio, 10),
    thisControllerState: states[0] ?? null,
    alternateControllerState: states[1] ?? null,
  };
}
