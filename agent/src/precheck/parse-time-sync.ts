/**
 * Time sync as dom0 reports it: ntpd on XenServer 6.x/7.x (`/etc/ntp.conf`, `ntpq -pn`),
 * chronyd on Citrix Hypervisor / XCP-ng 8 (`/etc/chrony.conf`, `chronyc tracking`). Pure functions.
 */

/** `server`/`pool`/`peer` lines of ntp.conf or chrony.conf, without the local clock pseudo-servers. */
export function parseTimeServers(conf: string): string[] {
  const out: string[] = [];
  for (const raw of conf.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^(server|pool|peer)\s+(\S+)/.exec(line);
    if (m === null) continue;
    const host = m[2] ?? '';
    // 127.127.1.0 is ntpd's undisciplined local clock driver, not a time source.
    if (/^127\.127\./.test(host)) continue;
    out.push(host);
  }
  return out;
}

export interface NtpqPeer {
  tally: string;
  remote: string;
  refid: string;
  stratum: number;
  reach: string;
  delayMs: number;
  offsetMs: number;
  jitterMs: number;
}

/** `ntpq -pn` / `ntpq -p` peer table. Offsets are milliseconds. */
export function parseNtpqPeers(text: string): NtpqPeer[] {
  const out: NtpqPeer[] = [];
  let inTable = false;
  for (const line of text.split('\n')) {
    if (/^=+\s*$/.test(line)) {
      inTable = true;
      continue;
    }
    if (!inTable || line.trim() === '') continue;
    const tally = /^[ *+#ox.-]/.test(line) ? (line[0] ?? ' ') : ' ';
    const fields = line.slice(1).trim().split(/\s+/);
    if (fields.length < 10) continue;
    const [remote = '', refid = '', st = '', , , , reach = '', delay = '', offset = '', jitter = ''] = fields;
    out.push({ tally, remote, refid, stratum: Number(st), reach, delayMs: Number(delay), offsetMs: Number(offset), jitterMs: Number(jitter) });
  }
  return out;
}

/** The peer ntpd synchronises to (`*`, or `o` for PPS), if any. */
export function selectedNtpPeer(peers: readonly NtpqPeer[]): NtpqPeer | undefined {
  return peers.find((p) => p.tally === '*' || p.tally === 'o');
}

export interface ChronyTracking {
  referenceId: string;
  stratum: number;
  /** System clock minus NTP time, in ms: positive when the clock is fast. */
  offsetMs: number;
  leapStatus: string;
}

/** `chronyc tracking`: "System time : 0.000823375 seconds fast of NTP time". */
export function parseChronyTracking(text: string): ChronyTracking | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z][A-Za-z ()]*?)\s*:\s*(.*)$/.exec(line.trim());
    if (m !== null) fields.set(m[1] ?? '', m[2] ?? '');
  }
  const system = /^([0-9.]+) seconds (fast|slow) of NTP time/.exec(fields.get('System time') ?? '');
  if (system === null) return undefined;
  const seconds = Number(system[1]);
  return {
    referenceId: fields.get('Reference ID') ?? '',
    stratum: Number(fields.get('Stratum') ?? '0'),
    offsetMs: (system[2] === 'fast' ? 1 : -1) * seconds * 1000,
    leapStatus: fields.get('Leap status') ?? '',
  };
}
