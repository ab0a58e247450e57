import { XsctlError } from '@xsctl/common/errors/index';

/**
 * Hotfix records XAPI keeps on each host, one file per applied hotfix, named by its UUID:
 *
 * - XenServer 7.x `/var/update/applied/<uuid>`: the update's own `update.xml`,
 *   `<update name-label="XS71E001" uuid="…" key="…" after-apply-guidance="restartHost,restartXAPI"
 *   guidance-mandatory="false" installation-size="…"><name-description>…</name-description></update>`
 *   (after-apply-guidance is comma separated).
 * - XenServer 6.x and older `/var/patch/applied/<uuid>`: the patch's `info` output,
 *   `<info uuid="…" version="1.0" name-label="…" name-description="…" after-apply-guidance="restartHVM restartPV"/>`
 *   (space separated).
 *
 * XAPI only looks at file names that are UUIDs; so do we. Pure functions, no I/O.
 */

export interface AppliedUpdateRecord {
  format: 'update' | 'patch';
  uuid: string;
  nameLabel: string;
  nameDescription: string;
  afterApplyGuidance: string[];
  key: string;
  installationSize: number;
}

export class AppliedUpdateParseError extends XsctlError {
  readonly code = 'APPLIED_UPDATE_INVALID';

  constructor(readonly reason: string) {
    super(`not a hotfix record: ${reason}`);
  }
}

const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(name: string): boolean {
  return uuidRe.test(name);
}

const entities: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, name: string) => {
    const point = name.startsWith('#x') ? Number.parseInt(name.slice(2), 16) : name.startsWith('#') ? Number.parseInt(name.slice(1), 10) : null;
    // String.fromCodePoint throws a RangeError past U+10FFFF; XML has no such character.
    if (point !== null) {
      if (point > 0x10ffff) throw new AppliedUpdateParseError(`character reference ${whole} is past U+10FFFF`);
      return String.fromCodePoint(point);
    }
    return entities[name] ?? whole;
  });
}

interface Element {
  name: string;
  attributes: Record<string, string>;
  /** Raw inner text up to the matching end tag; '' for an empty element. */
  inner: string;
}

/** Skips the prolog, comments and doctype; returns the document element. */
function rootElement(xml: string): Element {
  let rest = xml.replace(/^\uFEFF/, '');
  for (;;) {
    rest = rest.trimStart();
    if (rest.startsWith('<?')) {
      const end = rest.indexOf('?>');
      if (end < 0) throw new AppliedUpdateParseError('unterminated XML declaration');
      rest = rest.slice(end + 2);
    } else if (rest.startsWith('<!--')) {
      const end = rest.indexOf('-->');
      if (end < 0) throw new AppliedUpdateParseError('unterminated comment');
      rest = rest.slice(end + 3);
    } else if (rest.startsWith('<!')) {
      const end = rest.indexOf('>');
      if (end < 0) throw new AppliedUpdateParseError('unterminated declaration');
      rest = rest.slice(end + 1);
    } else break;
  }
  const open = /^<([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_:][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(rest);
  if (open === null) throw new AppliedUpdateParseError('no root element');
  const [whole, name = '', attrText = '', selfClosing] = open;
  const attributes: Record<string, string> = {};
  for (const m of attrText.matchAll(/([A-Za-z_:][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    attributes[m[1] ?? ''] = decodeEntities(m[2] ?? m[3] ?? '');
  }
  if (selfClosing === '/') return { name, attributes, inner: '' };
  const body = rest.slice(whole.length);
  const close = body.lastIndexOf(`</${name}`);
  if (close < 0) throw new AppliedUpdateParseError(`<${name}> is not closed`);
  return { name, attributes, inner: body.slice(0, close) };
}

function childText(inner: string, child: string): string | undefined {
  const m = new RegExp(`<${child}(?:\\s[^>]*)?>([\\s\\S]*?)</${child}\\s*>`).exec(inner);
  if (m === null) return new RegExp(`<${child}(?:\\s[^>]*)?/>`).test(inner) ? '' : undefined;
  const raw = m[1] ?? '';
  const cdata = /^\s*<!\[CDATA\[([\s\S]*)\]\]>\s*$/.exec(raw);
  return cdata !== null ? (cdata[1] ?? '') : decodeEntities(raw).trim();
}

/** Parses one applied-hotfix record; throws AppliedUpdateParseError if it is not one. */
export function parseAppliedUpdate(xml: string): AppliedUpdateRecord {
  const root = rootElement(xml);
  const a = root.attributes;
  if (root.name !== 'update' && root.name !== 'info') throw new AppliedUpdateParseError(`root element is <${root.name}>`);
  const uuid = a['uuid'];
  const nameLabel = a['name-label'];
  if (uuid === undefined || !isUuid(uuid)) throw new AppliedUpdateParseError('missing or malformed uuid attribute');
  if (nameLabel === undefined || nameLabel === '') throw new AppliedUpdateParseError('missing name-label attribute');
  const format = root.name === 'update' ? 'update' : 'patch';
  const guidanceText = a['after-apply-guidance'] ?? '';
  const afterApplyGuidance = guidanceText.split(format === 'update' ? /[,\s]+/ : /\s+/).filter((g) => g !== '');
  const size = Number(a['installation-size'] ?? '0');
  return {
    format,
    uuid: uuid.toLowerCase(),
    nameLabel,
    nameDescription: format === 'update' ? (childText(root.inner, 'name-description') ?? '') : (a['name-description'] ?? ''),
    afterApplyGuidance,
    key: a['key'] ?? '',
    installationSize: Number.isFinite(size) ? size : 0,
  };
}
