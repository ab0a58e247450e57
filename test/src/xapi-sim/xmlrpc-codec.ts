import { WireDateTime, WireDouble, type Rpc } from './wire-value.js';

/**
 * XML-RPC as xapi speaks it, following mirage/ocaml-rpc's src/lib/xmlrpc.ml:
 * - requests: `<value>text</value>` (no type) is a String; `<int>`, `<i4>`, `<i8>` are Int;
 *   `<double>`, `<boolean>` (only "1" is true), `<dateTime.iso8601>`, `<base64>`, `<array>`,
 *   `<struct>`, `<nil/>`; an empty `<value/>` is the empty String.
 * - responses: a struct {Status: "Success", Value} or {Status: "Failure", ErrorDescription};
 *   int64 in non-strict mode is an untyped `<value>N</value>`, int32 an `<i4>`, floats
 *   `<double>` printed with %.16g; member names are written verbatim; string bytes below 0x20
 *   other than tab, LF and CR are dropped (encode_buf).
 */

export class XmlRpcParseError extends Error {
  constructor(reason: string) {
    super(`XML-RPC parse error: ${reason}`);
    this.name = 'XmlRpcParseError';
  }
}

interface XmlElement {
  name: string;
  children: XmlNode[];
}
type XmlNode = XmlElement | string;

const entities: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e: string) => {
    if (e.startsWith('#x') || e.startsWith('#X')) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number.parseInt(e.slice(1), 10));
    const v = entities[e];
    if (v === undefined) throw new XmlRpcParseError(`unknown entity ${m}`);
    return v;
  });
}

/** A small XML reader: elements and text, no attributes kept, comments and PIs skipped. */
function parseXml(xml: string): XmlElement {
  let pos = 0;
  const stack: XmlElement[] = [{ name: '#document', children: [] }];
  const top = (): XmlElement => stack[stack.length - 1]!;
  while (pos < xml.length) {
    const lt = xml.indexOf('<', pos);
    if (lt < 0) {
      top().children.push(decodeEntities(xml.slice(pos)));
      break;
    }
    if (lt > pos) top().children.push(decodeEntities(xml.slice(pos, lt)));
    if (xml.startsWith('<?', lt)) {
      const end = xml.indexOf('?>', lt);
      if (end < 0) throw new XmlRpcParseError('unclosed processing instruction');
      pos = end + 2;
      continue;
    }
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt);
      if (end < 0) throw new XmlRpcParseError('unclosed comment');
      pos = end + 3;
      continue;
    }
    if (xml.startsWith('<![CDATA[', lt)) {
      const end = xml.indexOf(']]>', lt);
      if (end < 0) throw new XmlRpcParseError('unclosed CDATA');
      top().children.push(xml.slice(lt + 9, end));
      pos = end + 3;
      continue;
    }
    if (xml.startsWith('<!', lt)) {
      const end = xml.indexOf('>', lt);
      pos = end < 0 ? xml.length : end + 1;
      continue;
    }
    const gt = xml.indexOf('>', lt);
    if (gt < 0) throw new XmlRpcParseError('unclosed tag');
    const inner = xml.slice(lt + 1, gt).trim();
    pos = gt + 1;
    if (inner.startsWith('/')) {
      const name = inner.slice(1).trim();
      const open = stack.pop();
      if (open === undefined || open.name !== name || stack.length === 0) throw new XmlRpcParseError(`unexpected </${name}>`);
      continue;
    }
    const selfClosing = inner.endsWith('/');
    const name = (selfClosing ? inner.slice(0, -1) : inner).trim().split(/\s+/)[0] ?? '';
    if (!/^[A-Za-z_][\w.:-]*$/.test(name)) throw new XmlRpcParseError(`bad tag <${inner}>`);
    const element: XmlElement = { name, children: [] };
    top().children.push(element);
    if (!selfClosing) stack.push(element);
  }
  if (stack.length !== 1) throw new XmlRpcParseError(`unclosed <${top().name}>`);
  const roots = stack[0]!.children.filter((c): c is XmlElement => typeof c !== 'string');
  const stray = stack[0]!.children.some((c) => typeof c === 'string' && c.trim() !== '');
  if (roots.length !== 1 || stray) throw new XmlRpcParseError('expected one root element');
  return roots[0]!;
}

const elements = (e: XmlElement): XmlElement[] => e.children.filter((c): c is XmlElement => typeof c !== 'string');
const text = (e: XmlElement): string => e.children.map((c) => (typeof c === 'string' ? c : '')).join('');

function only(e: XmlElement, name: string): XmlElement {
  const kids = elements(e);
  if (kids.length !== 1 || kids[0]!.name !== name) throw new XmlRpcParseError(`expected <${name}> in <${e.name}>`);
  if (e.children.some((c) => typeof c === 'string' && c.trim() !== '')) throw new XmlRpcParseError(`text in <${e.name}>`);
  return kids[0]!;
}

function parseValue(v: XmlElement): unknown {
  if (v.name !== 'value') throw new XmlRpcParseError(`expected <value>, got <${v.name}>`);
  const kids = elements(v);
  if (kids.length === 0) return text(v);
  const typed = only(v, kids[0]!.name);
  const data = text(typed);
  switch (typed.name) {
    case 'string':
      return data;
    case 'int':
    case 'i4':
    case 'i8': {
      const n = Number(data.trim());
      if (!/^\s*[-+]?\d+\s*$/.test(data)) throw new XmlRpcParseError(`bad <${typed.name}> ${data}`);
      return n;
    }
    case 'double': {
      const n = Number(data.trim());
      if (data.trim() === '' || Number.isNaN(n)) throw new XmlRpcParseError(`bad <double> ${data}`);
      return Number.isInteger(n) ? new WireDouble(n) : n;
    }
    case 'boolean':
      // xmlrpc.ml make_bool: only "1" is true.
      return data === '1';
    case 'dateTime.iso8601':
      return new WireDateTime(data);
    case 'base64':
      return Buffer.from(data.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'nil':
      return null;
    case 'array': {
      const dataEl = only(typed, 'data');
      return elements(dataEl).map(parseValue);
    }
    case 'struct': {
      const out: Record<string, unknown> = {};
      for (const member of elements(typed)) {
        if (member.name !== 'member') throw new XmlRpcParseError(`expected <member>, got <${member.name}>`);
        const parts = elements(member);
        const nameEl = parts.find((p) => p.name === 'name');
        const valueEl = parts.find((p) => p.name === 'value');
        if (nameEl === undefined || valueEl === undefined) throw new XmlRpcParseError('member without name or value');
        out[text(nameEl)] = parseValue(valueEl);
      }
      return out;
    }
    default:
      throw new XmlRpcParseError(`unknown type <${typed.name}>`);
  }
}

export interface XmlRpcCall {
  readonly name: string;
  readonly params: unknown[];
}

/** xmlrpc.ml call_of_string. */
export function parseMethodCall(xml: string): XmlRpcCall {
  const root = parseXml(xml);
  if (root.name !== 'methodCall') throw new XmlRpcParseError(`expected <methodCall>, got <${root.name}>`);
  const kids = elements(root);
  const nameEl = kids[0];
  if (nameEl?.name !== 'methodName') throw new XmlRpcParseError('expected <methodName>');
  const paramsEl = kids[1];
  const params: unknown[] = [];
  if (paramsEl !== undefined) {
    if (paramsEl.name !== 'params') throw new XmlRpcParseError('expected <params>');
    for (const param of elements(paramsEl)) {
      if (param.name !== 'param') throw new XmlRpcParseError(`expected <param>, got <${param.name}>`);
      params.push(parseValue(only(param, 'value')));
    }
  }
  return { name: text(nameEl), params };
}

// ---------------------------------------------------------------- encoding

const escapes: Readonly<Record<string, string>> = { '>': '&gt;', '<': '&lt;', '&': '&amp;', '"': '&quot;' };

/** xmlrpc.ml encode_buf: the four XML specials escaped, control bytes other than \t \n \r dropped. */
function escapeText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[<>&"\x00-\x08\x0b\x0c\x0e-\x1f]/g, (c) => escapes[c] ?? '');
}

/** C's %.16g, as xmlrpc.ml prints doubles. */
export function formatDouble(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'nan' : n > 0 ? 'inf' : '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= 16) {
    const [mant = '0', e = '0'] = n.toExponential(15).split('e');
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
    const ev = Number(e);
    return `${m}e${ev < 0 ? '-' : '+'}${String(Math.abs(ev)).padStart(2, '0')}`;
  }
  const fixed = n.toFixed(Math.max(0, 15 - exp));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

export function encodeValue(rpc: Rpc): string {
  switch (rpc.t) {
    case 'nil':
      return '<value><nil/></value>';
    case 'int':
      return `<value>${String(Math.trunc(rpc.v))}</value>`;
    case 'int32':
      return `<value><i4>${String(Math.trunc(rpc.v))}</i4></value>`;
    case 'bool':
      return `<value><boolean>${rpc.v ? '1' : '0'}</boolean></value>`;
    case 'float':
      return `<value><double>${formatDouble(rpc.v)}</double></value>`;
    case 'string':
      return `<value>${escapeText(rpc.v)}</value>`;
    case 'datetime':
      return `<value><dateTime.iso8601>${rpc.v}</dateTime.iso8601></value>`;
    case 'array':
      return `<value><array><data>${rpc.v.map(encodeValue).join('')}</data></array></value>`;
    case 'struct':
      return `<value><struct>${rpc.v.map(([k, v]) => `<member><name>${k}</name>${encodeValue(v)}</member>`).join('')}</struct></value>`;
  }
}

const header = '<?xml version="1.0"?><methodResponse><params><param>';
const footer = '</param></params></methodResponse>';

/** xmlrpc.ml string_of_response. */
export function encodeSuccess(value: Rpc): string {
  return header + encodeValue({ t: 'struct', v: [['Status', { t: 'string', v: 'Success' }], ['Value', value]] }) + footer;
}

export function encodeFailure(code: string, params: readonly string[]): string {
  const description: Rpc = { t: 'array', v: [code, ...params].map((v) => ({ t: 'string', v })) };
  return header + encodeValue({ t: 'struct', v: [['Status', { t: 'string', v: 'Failure' }], ['ErrorDescription', description]] }) + footer;
}

/** api_server.ml: system.listMethods is answered with the bare value, no Status/Value struct. */
export function encodeBare(value: Rpc): string {
  return header + encodeValue(value) + footer;
}

/** The fault 2011's api_server.ml answered to XML it could not parse. */
export function encodeParseFault(): string {
  return (
    '<?xml version="1.0"?><methodResponse><fault><value><struct>' +
    '<member><name>faultCode</name><value><int>1</int></value></member>' +
    '<member><name>faultString</name><value><string>Failed to parse supplied XML</string></value></member>' +
    '</struct></value></fault></methodResponse>'
  );
}
