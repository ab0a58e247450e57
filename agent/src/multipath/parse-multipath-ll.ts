/**
 * `multipath -ll` / `multipathd show topology` in every layout seen in the wild:
 * - the tree format (0.4.9+): `name (wwid) dm-N VENDOR,PRODUCT`, `size=.. features='..' hwhandler='..' wp=rw`,
 *   `|-+- policy='round-robin 0' prio=50 status=active`, `| |- 6:0:1:0 sdc 8:32 active ready running`;
 * - the bracket format (0.4.5-0.4.8): `[size=25G][features=1 queue_if_no_path][hwhandler=0][rw]`,
 *   `\_ round-robin 0 [prio=0][active]`, ` \_ 1:0:3:50 sdy 65:128 [active][undef]`.
 * Vendor fields may be padded (`NETAPP  ,LUN`), headers may carry ANSI bold, the wwid is left out
 * when the alias is the wwid, and the tree characters may be anything (`´` seen in the wild,
 * mojibake, or a backslash lost on a web page), so lines are classified by their content.
 */

export interface MultipathPathInfo {
  hctl: string | null;
  dev: string;
  devt: string | null;
  dmState: string | null;
  checkerState: string | null;
  deviceState: string | null;
  /** Path priority: multipathd json gives it, `multipath -ll` does not. */
  prio: number | null;
}

export interface MultipathGroupInfo {
  policy: string | null;
  prio: number | null;
  status: string | null;
  paths: MultipathPathInfo[];
}

export interface MultipathMapInfo {
  name: string;
  wwid: string;
  dm: string | null;
  vendor: string | null;
  product: string | null;
  size: string | null;
  features: string | null;
  hwhandler: string | null;
  writePolicy: string | null;
  groups: MultipathGroupInfo[];
}

export interface ParsedMaps {
  maps: MultipathMapInfo[];
  warnings: string[];
}

// eslint-disable-next-line no-control-regex
const ansi = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][A-Z0-9]/g;
/** Tree drawing: ASCII `|`, backquote, acute accent, `\_`, `-`, `+`, box drawing and anything non-ASCII. */
// eslint-disable-next-line no-control-regex
const treePrefix = /^(?:[\s|`'\\_+\-~*]|[^\x00-\x7f])+/;
const timestampLine = /^\s*(?:[A-Z][a-z]{2}\s+\d{1,2}\s+\d\d:\d\d:\d\d|\d+\.\d+|\d{4}-\d\d-\d\d[T ][\d:.]+)\s*\|/;
const propsNew = /^size=(\S+)\s+features='([^']*)'\s+hwhandler='([^']*)'(?:\s+wp=(\S+))?/;
const propsOld = /^\[size=([^\]]*)\]\s*\[features=([^\]]*)\]\s*\[hwhandler=([^\]]*)\](?:\s*\[([a-z]{2})\])?/;
const groupNew = /^policy='([^']*)'\s+prio=(-?\d+)\s+status=(\S+)/;
const groupOld = /^(?:([A-Za-z][\w-]*(?:\s+\d+)?)\s*)?((?:\[[^\]]*\]\s*)+)$/;
const pathLine = /^(\d+:\d+:\d+:\d+|#:#:#:#)\s+(\S+)\s+(\d+:\d+|#:#)\s*(.*)$/;
const header = /^(?:(?:create|reload|switchpg|rename|reject|remove|add|load|unchanged|suspend|resume)\s*:\s*)?(\S+)(?:\s+\(([^)]*)\))?(?:\s+(dm-\d+|undef))?(?:\s+(.*?))?\s*$/;
const groupStatuses = new Set(['active', 'enabled', 'disabled', 'undef']);
const deviceStates = new Set([
  'running',
  'offline',
  'blocked',
  'quiesce',
  'transport-offline',
  'created',
  'cancel',
  'deleted',
  'del',
  'unknown',
  'created-blocked',
  'cancel-offline',
]);

const unquote = (s: string) => s.trim().replace(/^"(.*)"$/, '$1');
const orNull = (s: string | undefined) => (s === undefined || s.trim() === '' ? null : s.trim());

function splitVendorProduct(vp: string | undefined): { vendor: string | null; product: string | null } {
  if (vp === undefined || vp.trim() === '') return { vendor: null, product: null };
  const comma = vp.indexOf(',');
  if (comma === -1) return { vendor: orNull(vp), product: null };
  return { vendor: orNull(vp.slice(0, comma)), product: orNull(vp.slice(comma + 1)) };
}

function parsePathStates(rest: string): Pick<MultipathPathInfo, 'dmState' | 'checkerState' | 'deviceState'> {
  const trimmed = rest.trim();
  if (trimmed.startsWith('[')) {
    const b = [...trimmed.matchAll(/\[([^\]]*)\]/g)].map((m) => (m[1] ?? '').trim());
    return { dmState: orNull(b[0]), checkerState: orNull(b[1]), deviceState: orNull(b[2]) };
  }
  const t = trimmed === '' ? [] : trimmed.split(/\s+/);
  if (t.length === 0) return { dmState: null, checkerState: null, deviceState: null };
  const last = t[t.length - 1] as string;
  const hasDev = t.length >= 2 && deviceStates.has(last);
  const middle = t.slice(1, hasDev ? -1 : undefined);
  return { dmState: t[0] ?? null, checkerState: middle.length > 0 ? middle.join(' ') : null, deviceState: hasDev ? last : null };
}

function parseOldGroup(policy: string | undefined, brackets: string): { policy: string | null; prio: number | null; status: string | null } | null {
  const items = [...brackets.matchAll(/\[([^\]]*)\]/g)].map((m) => (m[1] ?? '').trim());
  let prio: number | null = null;
  let status: string | null = null;
  for (const it of items) {
    const p = /^prio=(-?\d+)$/.exec(it);
    if (p?.[1] !== undefined) prio = Number.parseInt(p[1], 10);
    else if (groupStatuses.has(it) && status === null) status = it;
  }
  if (prio === null && status === null) return null;
  return { policy: orNull(policy), prio, status };
}

export function parseMultipathLl(text: string): ParsedMaps {
  const maps: MultipathMapInfo[] = [];
  const warnings: string[] = [];
  let pendingHeader: { line: number; m: RegExpExecArray } | null = null;
  let map: MultipathMapInfo | null = null;
  let group: MultipathGroupInfo | null = null;

  const startMap = (props: Partial<MultipathMapInfo>) => {
    if (pendingHeader === null) return;
    const m = pendingHeader.m;
    const name = m[1] as string;
    map = {
      name,
      wwid: orNull(m[2]) ?? name,
      dm: orNull(m[3]),
      ...splitVendorProduct(m[4]),
      size: null,
      features: null,
      hwhandler: null,
      writePolicy: null,
      ...props,
      groups: [],
    };
    maps.push(map);
    group = null;
    pendingHeader = null;
  };

  const lines = text.replace(ansi, '').split(/\r\n|\n|\r/);
  lines.forEach((raw, idx) => {
    const lineNo = idx + 1;
    const line = raw.replace(/\s+$/, '');
    if (line.trim() === '' || /^\s*multipathd>/.test(line) || timestampLine.test(line) || /^\s*=+/.test(line)) return;
    const prefix = treePrefix.exec(line)?.[0] ?? '';
    const body = line.slice(prefix.length);

    const pn = propsNew.exec(body) ?? null;
    const po = pn === null ? propsOld.exec(body) : null;
    if (pn !== null || po !== null) {
      const p = (pn ?? po) as RegExpExecArray;
      if (pendingHeader === null) {
        warnings.push(`line ${lineNo}: map properties without a map header`);
        return;
      }
      startMap({ size: orNull(p[1]), features: orNull(unquote(p[2] ?? '')), hwhandler: orNull(unquote(p[3] ?? '')), writePolicy: orNull(p[4]) });
      return;
    }

    const path = pathLine.exec(body);
    if (path !== null && (prefix !== '' || group !== null)) {
      if (pendingHeader !== null) {
        warnings.push(`line ${pendingHeader.line}: ignored (no map properties follow)`);
        pendingHeader = null;
        map = null;
        group = null;
      }
      if (group === null) {
        if (map !== null) warnings.push(`line ${lineNo}: path outside a path group ignored`);
        return;
      }
      const hctl = path[1] as string;
      (group as MultipathGroupInfo).paths.push({
        hctl: hctl === '#:#:#:#' ? null : hctl,
        dev: path[2] as string,
        devt: path[3] === '#:#' ? null : (path[3] as string),
        ...parsePathStates(path[4] ?? ''),
        prio: null,
      });
      return;
    }

    const gn = groupNew.exec(body);
    const go = gn === null && prefix !== '' ? groupOld.exec(body) : null;
    const old = go !== null ? parseOldGroup(go[1], go[2] ?? '') : null;
    if (gn !== null || old !== null) {
      if (pendingHeader !== null) startMap({});
      if (map === null) {
        warnings.push(`line ${lineNo}: path group outside a map ignored`);
        return;
      }
      group = gn !== null ? { policy: orNull(gn[1]), prio: Number.parseInt(gn[2] as string, 10), status: orNull(gn[3]), paths: [] } : { ...(old as NonNullable<typeof old>), paths: [] };
      (map as MultipathMapInfo).groups.push(group);
      return;
    }

    if (prefix === '') {
      const h = header.exec(body);
      if (h !== null) {
        if (pendingHeader !== null) warnings.push(`line ${pendingHeader.line}: ignored (no map properties follow)`);
        pendingHeader = { line: lineNo, m: h };
        map = null;
        group = null;
        return;
      }
    }
    warnings.push(`line ${lineNo}: not understood: ${line.trim().slice(0, 80)}`);
  });
  if (pendingHeader !== null) warnings.push(`line ${(pendingHeader as { line: number }).line}: ignored (no map properties follow)`);
  return { maps, warnings };
}
