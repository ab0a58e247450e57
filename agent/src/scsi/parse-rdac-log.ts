import type { RdacMode } from './decode-vpd-c9.js';

/** What scsi_dh_rdac logged when it attached a path. */
export interface RdacLogLine {
  hctl: string;
  lun: number;
  mode: RdacMode;
  owned: boolean;
  line: string;
}

// Newer kernels: "scsi 8:0:0:1: rdac: LUN 1 (IOSHIP) (owned)".
const modern = /\b(?:sd|scsi) (\d+:\d+:\d+:\d+): rdac: LUN (\d+) \((IOSHIP|AVT|RDAC)\) \((owned|unowned)\)/;
// Older kernels: "sd 4:0:0:0: rdac: LUN 0 (owned (AVT mode))" after "rdac: AVT mode detected".
const legacy = /\b(?:sd|scsi) (\d+:\d+:\d+:\d+): rdac: LUN (\d+) \((owned|unowned)( \(AVT mode\))?\)/;
const avtDetected = /\b(?:sd|scsi) (\d+:\d+:\d+:\d+): rdac: AVT mode detected/;

/** The last rdac line per H:C:T:L in a kernel log (dmesg, /var/log/kern.log, /var/log/messages). */
export function parseRdacLog(text: string): RdacLogLine[] {
  const byHctl = new Map<string, RdacLogLine>();
  const avt = new Set<string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const m = modern.exec(line);
    if (m !== null) {
      byHctl.set(m[1] as string, { hctl: m[1] as string, lun: Number.parseInt(m[2] as string, 10), mode: m[3] as RdacMode, owned: m[4] === 'owned', line });
      continue;
    }
    const a = avtDetected.exec(line);
    if (a !== null) {
      avt.add(a[1] as string);
      continue;
    }
    const l = legacy.exec(line);
    if (l !== null) {
      const hctl = l[1] as string;
      byHctl.set(hctl, { hctl, lun: Number.parseInt(l[2] as string, 10), mode: l[4] !== undefined || avt.has(hctl) ? 'AVT' : 'RDAC', owned: l[3] === 'owned', line });
    }
  }
  return [...byHctl.values()];
}
