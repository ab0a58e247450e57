import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';
import type { MultipathGroupInfo, MultipathMapInfo, MultipathPathInfo, ParsedMaps } from './parse-multipath-ll.js';

/**
 * `multipathd show maps json` (libmultipath print.h PRINT_JSON_*: major_version 0): maps with
 * name, uuid, sysfs, features, hwhandler, write_prot, vend/prod (newer), path_groups with
 * selector/pri/dm_st, paths with dev/dev_t/dm_st/dev_st/chk_st/pri. It has no hcil and no size.
 */
export class MultipathJsonError extends XsctlError {
  readonly code = 'MULTIPATHD_JSON_INVALID';

  constructor(
    readonly reason: string,
    options?: XsctlErrorOptions,
  ) {
    super(reason, options);
  }
}

type Json = Record<string, unknown>;

const str = (v: unknown): string | null => {
  if (typeof v !== 'string' && typeof v !== 'number') return null;
  const s = String(v).trim().replace(/^\[(.*)\]$/, '$1').trim();
  return s === '' ? null : s;
};
const num = (v: unknown): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number.parseInt(v, 10) : Number.NaN;
  return Number.isFinite(n) ? n : null;
};
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v.filter((x) => typeof x === 'object' && x !== null) as Json[]) : []);

function parseLenient(text: string): unknown {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start === -1 || end < start) throw new MultipathJsonError('no JSON object in the input');
  const body = text.slice(start, end + 1);
  try {
    return JSON.parse(body);
  } catch {
    try {
      // Some builds leave a comma before a closing bracket.
      return JSON.parse(body.replace(/,(\s*[\]}])/g, '$1'));
    } catch (err) {
      throw new MultipathJsonError(`not JSON: ${(err as Error).message}`, { cause: err });
    }
  }
}

function toPath(p: Json): MultipathPathInfo {
  const hcil = str(p['hcil'] ?? p['hctl']);
  const devt = str(p['dev_t']);
  return {
    hctl: hcil === null || hcil === '#:#:#:#' ? null : hcil,
    dev: str(p['dev']) ?? '',
    devt: devt === '#:#' ? null : devt,
    dmState: str(p['dm_st']),
    checkerState: str(p['chk_st']),
    deviceState: str(p['dev_st']),
    prio: num(p['pri']),
  };
}

function toGroup(g: Json): MultipathGroupInfo {
  return { policy: str(g['selector']), prio: num(g['pri']), status: str(g['dm_st']), paths: arr(g['paths']).map(toPath) };
}

function toMap(m: Json): MultipathMapInfo {
  const name = str(m['name']) ?? '';
  return {
    name,
    wwid: str(m['uuid']) ?? name,
    dm: str(m['sysfs']),
    vendor: str(m['vend']),
    product: str(m['prod']),
    size: str(m['size']),
    features: str(m['features']),
    hwhandler: str(m['hwhandler']),
    writePolicy: str(m['write_prot']),
    groups: arr(m['path_groups']).map(toGroup),
  };
}

export function parseMultipathdJson(text: string): ParsedMaps {
  const doc = parseLenient(text);
  if (typeof doc !== 'object' || doc === null) throw new MultipathJsonError('not a JSON object');
  const d = doc as Json;
  const warnings: string[] = [];
  if (d['major_version'] !== undefined && d['major_version'] !== 0) warnings.push(`JSON major_version ${String(d['major_version'])} (decoder knows 0)`);
  if (Array.isArray(d['maps'])) return { maps: arr(d['maps']).map(toMap), warnings };
  // `multipathd show map NAME json` prints one map under "map".
  if (typeof d['map'] === 'object' && d['map'] !== null) return { maps: [toMap(d['map'] as Json)], warnings };
  throw new MultipathJsonError('no "maps" array');
}
