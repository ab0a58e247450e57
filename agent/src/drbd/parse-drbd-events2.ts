import { stripAnsi } from './strip-ansi.js';
/**
 * `drbdsetup events2 --now [--statistics]` of DRBD 9: one object per line,
 *
 *   exists resource name:iscsi1 role:Primary suspended:no
 *   exists connection name:iscsi1 peer-node-id:1 conn-name:xcp2 connection:Connected role:Secondary
 *   exists device name:iscsi1 volume:0 minor:1 disk:UpToDate client:no quorum:yes
 *   exists peer-device name:iscsi1 peer-node-id:1 conn-name:xcp2 volume:0 replication:Established peer-disk:UpToDate
 *   exists -
 *
 * Streaming output adds `create`/`change`/`destroy` and `call helper` lines and an optional
 * timestamp in front; they are applied in order so the result is the state after the last line.
 */
export interface Events2Resource {
  name: string;
  fields: Record<string, string>;
  connections: Map<string, Record<string, string>>;
  devices: Map<number, Record<string, string>>;
  /** Key: `${peerNodeId}/${volume}`. */
  peerDevices: Map<string, Record<string, string>>;
  /** Helpers the kernel called (split-brain, fence-peer, ...), in order. */
  helpers: string[];
}

function fieldsOf(tokens: readonly string[]): Record<string, string> {
  const f: Record<string, string> = {};
  for (const t of tokens) {
    const i = t.indexOf(':');
    if (i > 0) f[t.slice(0, i)] = t.slice(i + 1);
  }
  return f;
}

export function parseEvents2(text: string): Events2Resource[] {
  const byName = new Map<string, Events2Resource>();
  const get = (name: string): Events2Resource => {
    let r = byName.get(name);
    if (r === undefined) {
      r = { name, fields: {}, connections: new Map(), devices: new Map(), peerDevices: new Map(), helpers: [] };
      byName.set(name, r);
    }
    return r;
  };
  for (const raw of stripAnsi(text).replace(/\r/g, '').split('\n')) {
    let parts = raw.trim().split(/\s+/).filter((t) => t !== '');
    if (parts.length > 0 && /^\d{4}-\d{2}-\d{2}T/.test(parts[0] ?? '')) parts = parts.slice(1);
    const [verb, object, ...rest] = parts;
    if (verb === undefined || object === undefined || object === '-') continue;
    const f = fieldsOf(rest);
    const name = f['name'];
    if (name === undefined) continue;
    if (verb === 'call' || verb === 'response') {
      if (object === 'helper' && f['helper'] !== undefined && verb === 'call') get(name).helpers.push(f['helper']);
      continue;
    }
    if (!['exists', 'create', 'change', 'destroy'].includes(verb)) continue;
    const destroy = verb === 'destroy';
    if (object === 'resource') {
      if (destroy) byName.delete(name);
      else Object.assign(get(name).fields, f);
    } else if (object === 'connection') {
      const r = get(name);
      const key = f['peer-node-id'] ?? f['conn-name'] ?? '';
      if (destroy) r.connections.delete(key);
      else r.connections.set(key, { ...r.connections.get(key), ...f });
    } else if (object === 'device') {
      const r = get(name);
      const key = Number(f['volume'] ?? 0);
      if (destroy) r.devices.delete(key);
      else r.devices.set(key, { ...r.devices.get(key), ...f });
    } else if (object === 'peer-device') {
      const r = get(name);
      const key = `${f['peer-node-id'] ?? f['conn-name'] ?? ''}/${f['volume'] ?? 0}`;
      if (destroy) r.peerDevices.delete(key);
      else r.peerDevices.set(key, { ...r.peerDevices.get(key), ...f });
    }
  }
  return [...byName.values()];
}
