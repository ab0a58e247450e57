import { stripAnsi } from './strip-ansi.js';
/**
 * `drbdadm status` / `drbdsetup status` text of DRBD 9, indented by object:
 *
 *   iscsi1 role:Primary
 *     disk:UpToDate
 *     xcp2 role:Secondary
 *       replication:SyncSource peer-disk:Inconsistent done:42.20
 *
 * Multi-volume resources prefix device lines with `volume:N`; a peer that is not connected shows
 * `connection:Connecting` (or StandAlone) instead of `role:`. `--verbose`/`--statistics` add
 * more key:value tokens and counter lines, which are kept as they are.
 */
export interface DrbdStatusVolume {
  volume: number;
  fields: Record<string, string>;
}

export interface DrbdStatusPeer {
  name: string;
  fields: Record<string, string>;
  volumes: DrbdStatusVolume[];
}

export interface DrbdStatusResource {
  name: string;
  fields: Record<string, string>;
  volumes: DrbdStatusVolume[];
  peers: DrbdStatusPeer[];
}

function tokens(text: string): { bare: string[]; fields: Record<string, string> } {
  const bare: string[] = [];
  const fields: Record<string, string> = {};
  for (const t of text.trim().split(/\s+/)) {
    if (t === '') continue;
    const i = t.indexOf(':');
    if (i > 0) fields[t.slice(0, i)] = t.slice(i + 1);
    else bare.push(t);
  }
  return { bare, fields };
}

function volumeOf(fields: Record<string, string>): number {
  const v = fields['volume'];
  delete fields['volume'];
  return v === undefined ? 0 : Number(v);
}

export function parseDrbdStatus(text: string): DrbdStatusResource[] {
  const out: DrbdStatusResource[] = [];
  let res: DrbdStatusResource | null = null;
  let peer: DrbdStatusPeer | null = null;
  let lastVolume: DrbdStatusVolume | null = null;
  for (const raw of stripAnsi(text).replace(/\r/g, '').split('\n')) {
    if (raw.trim() === '' || raw.trim().startsWith('#')) continue;
    const indent = raw.length - raw.trimStart().length;
    const { bare, fields } = tokens(raw);
    if (indent === 0) {
      res = { name: bare[0] ?? '', fields, volumes: [], peers: [] };
      out.push(res);
      peer = null;
      lastVolume = null;
      continue;
    }
    if (res === null) continue;
    if (bare.length > 0 && indent <= 2) {
      // A peer (connection) line: NAME [node-id:N] role:X | connection:Y
      peer = { name: bare[0] ?? '', fields, volumes: [] };
      res.peers.push(peer);
      lastVolume = null;
      continue;
    }
    if (bare.length === 0 && indent <= 2) {
      peer = null;
      lastVolume = { volume: volumeOf(fields), fields };
      res.volumes.push(lastVolume);
      continue;
    }
    if (peer !== null && indent <= 4 && ('peer-disk' in fields || 'replication' in fields || 'volume' in fields)) {
      lastVolume = { volume: volumeOf(fields), fields };
      peer.volumes.push(lastVolume);
      continue;
    }
    // Deeper statistics lines belong to the last object.
    const target = lastVolume?.fields ?? peer?.fields ?? res.fields;
    Object.assign(target, fields);
  }
  return out;
}
