import { stripAnsi } from './strip-ansi.js';
/**
 * /proc/drbd of DRBD 8.0-8.4 (9 keeps only the version header). One record per minor:
 *
 *   version: 8.4.0 (api:1/proto:86-100)
 *    1: cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent C r-----
 *       ns:3071368 nr:0 dw:0 dr:3075736 al:0 bm:187 lo:0 pe:13 ua:4 ap:0 ep:1 wo:b oos:12685660
 *       [==>.................] sync'ed: 19.5% (12388/15372)M
 *       finish: 0:11:00 speed: 19,188 (24,468) K/sec
 *    2: cs:Unconfigured
 *
 * 8.0/8.2 print `st:` instead of `ro:`; 8.3 has five flag characters, 8.4 six; progress lines
 * may carry `delay_probe:`, `queue_delay:` or `want:`, or say `stalled`. Typographic damage from
 * copy/paste (curly quotes, ellipses, ANSI colour) is tolerated.
 */
export interface ProcDrbdSync {
  percent: number;
  /** Seconds left, from `finish: H:MM:SS`; null when stalled or not shown. */
  finishSeconds: number | null;
  /** Current resync speed in KiB/s (the first number after `speed:`). */
  speedKiBs: number | null;
  /** `verified:` instead of `sync'ed:`: an online verify, not a resync. */
  verify?: boolean;
  stalled?: boolean;
}

export interface ProcDrbdResource {
  minor: number;
  cstate: string;
  role: string;
  peerRole: string;
  disk: string;
  peerDisk: string;
  /** Replication protocol letter (A, B, C); empty when unconfigured. */
  protocol: string;
  /** I/O state flags such as `r-----` (8.4) or `r----` (8.3). */
  flags: string;
  /** Out of sync, KiB. */
  oos: number | null;
  counters: Record<string, number | string>;
  sync: ProcDrbdSync | null;
}

export interface ProcDrbd {
  /** e.g. "8.4.0"; null when the header is missing. */
  version: string | null;
  api: string | null;
  proto: string | null;
  build: string | null;
  resources: ProcDrbdResource[];
}

function toNumber(v: string): number {
  return Number(v.replace(/,/g, ''));
}

function hms(v: string): number | null {
  const m = /^(\d+):(\d{1,2}):(\d{1,2})$/.exec(v);
  return m === null ? null : Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

export function parseProcDrbd(text: string): ProcDrbd {
  const out: ProcDrbd = { version: null, api: null, proto: null, build: null, resources: [] };
  let current: ProcDrbdResource | null = null;
  for (const raw of stripAnsi(text).replace(/\r/g, '').split('\n')) {
    const line = raw.replace(/[\u2018\u2019\u2032`]/g, "'").replace(/\u2026/g, '...');
    if (line.trim() === '') continue;
    const version = /^\s*version:\s*([0-9][0-9.]*[0-9])\s*(?:\(api:([0-9]+)\/proto:([0-9-]+))?/.exec(line);
    if (version !== null) {
      out.version = version[1] ?? null;
      out.api = version[2] ?? null;
      out.proto = version[3] ?? null;
      continue;
    }
    const build = /^\s*(GIT-hash|srcversion):\s*(.*)$/.exec(line);
    if (build !== null) {
      out.build = (build[2] ?? '').trim();
      continue;
    }
    const head = /^\s*([0-9]+):\s+cs:(\S+)(.*)$/.exec(line);
    if (head !== null) {
      current = {
        minor: Number(head[1]),
        cstate: head[2] ?? '',
        role: '',
        peerRole: '',
        disk: '',
        peerDisk: '',
        protocol: '',
        flags: '',
        oos: null,
        counters: {},
        sync: null,
      };
      out.resources.push(current);
      const rest = (head[3] ?? '').trim().split(/\s+/).filter((t) => t !== '');
      for (const token of rest) {
        const kv = /^(ro|st|ds|ld):([^/]*)(?:\/(.*))?$/.exec(token);
        if (kv !== null) {
          const [, key, local = '', peer = ''] = kv;
          if (key === 'ro' || key === 'st') {
            current.role = local;
            current.peerRole = peer;
          } else {
            current.disk = local;
            current.peerDisk = peer;
          }
        } else if (/^[ABC]$/.test(token)) {
          current.protocol = token;
        } else if (/^[-a-zA-Z\u2014\]]{4,8}$/.test(token) && current.flags === '') {
          current.flags = token.replace(/\u2014/g, '-');
        }
      }
      if (current.cstate === 'Unconfigured') {
        current.role = current.role || 'Unconfigured';
      }
      continue;
    }
    if (current === null) continue;
    const progress = /sync.ed:\s*([0-9.]+)%|verified:\s*([0-9.]+)%/.exec(line);
    if (progress !== null) {
      const verify = progress[2] !== undefined;
      current.sync = { percent: Number(progress[1] ?? progress[2]), finishSeconds: null, speedKiBs: null, ...(verify ? { verify } : {}) };
      continue;
    }
    if (current.sync !== null && /^\s*stalled\s*$/.test(line)) {
      current.sync.stalled = true;
      continue;
    }
    const finish = /finish:\s*([0-9]+:[0-9]{1,2}:[0-9]{1,2})/.exec(line);
    const speed = /speed:\s*([0-9][0-9,]*)/.exec(line);
    if ((finish !== null || speed !== null) && current.sync !== null) {
      if (finish?.[1] !== undefined) current.sync.finishSeconds = hms(finish[1]);
      if (speed?.[1] !== undefined) current.sync.speedKiBs = toNumber(speed[1]);
      continue;
    }
    // Counter line(s): ns:.. nr:.. ... oos:..
    for (const token of line.trim().split(/\s+/)) {
      const kv = /^([a-z]{2,3}):([0-9a-z,]+)$/.exec(token);
      if (kv?.[1] === undefined || kv[2] === undefined) continue;
      const value = /^[0-9,]+$/.test(kv[2]) ? toNumber(kv[2]) : kv[2];
      current.counters[kv[1]] = value;
      if (kv[1] === 'oos' && typeof value === 'number') current.oos = value;
    }
  }
  return out;
}
