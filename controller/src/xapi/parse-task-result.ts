/**
 * XAPI keeps an Async task's result as an XML-RPC `<value>` string even for JSON-RPC clients
 * (`<value>OpaqueRef:…</value>` after VM.clone). This decodes the subset XAPI emits: bare or
 * typed scalars, arrays and structs. `''` (a void method) decodes to undefined.
 */
export type TaskResultValue = string | number | boolean | TaskResultValue[] | { [key: string]: TaskResultValue };

export class TaskResultParseError extends Error {
  constructor(reason: string) {
    super(`cannot decode task result: ${reason}`);
    this.name = 'TaskResultParseError';
  }
}

const entities: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e.startsWith('#x') || e.startsWith('#X')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return entities[e] ?? m;
  });
}

export function parseTaskResult(xml: string): TaskResultValue | undefined {
  const text = xml.trim();
  if (text === '') return undefined;
  let pos = 0;

  const skipSpace = (): void => {
    while (pos < text.length && /\s/.test(text[pos] ?? '')) pos++;
  };
  const openTag = (): string => {
    skipSpace();
    const m = /^<([A-Za-z0-9_.]+)\s*(\/?)>/.exec(text.slice(pos));
    if (m === null) throw new TaskResultParseError(`expected a tag at ${pos}`);
    pos += m[0].length;
    return m[2] === '/' ? `${m[1] ?? ''}/` : (m[1] ?? '');
  };
  const closeTag = (name: string): void => {
    skipSpace();
    const tag = `</${name}>`;
    if (!text.startsWith(tag, pos)) throw new TaskResultParseError(`expected ${tag} at ${pos}`);
    pos += tag.length;
  };
  const textUntil = (name: string): string => {
    const end = text.indexOf(`</${name}>`, pos);
    if (end < 0) throw new TaskResultParseError(`unclosed <${name}>`);
    const raw = text.slice(pos, end);
    pos = end;
    return decodeEntities(raw);
  };

  const parseValue = (): TaskResultValue => {
    const open = openTag();
    if (open === 'value/') return '';
    if (open !== 'value') throw new TaskResultParseError(`expected <value>, got <${open}>`);
    // A bare <value>text</value> is a string.
    if (!/^\s*<[A-Za-z]/.test(text.slice(pos))) {
      const s = textUntil('value');
      closeTag('value');
      return s;
    }
    const type = openTag();
    let result: TaskResultValue;
    switch (type) {
      case 'string/':
        result = '';
        break;
      case 'string':
      case 'dateTime.iso8601':
        result = textUntil(type);
        break;
      case 'int':
      case 'i4':
      case 'i8':
      case 'double':
        result = Number(textUntil(type).trim());
        break;
      case 'boolean':
        result = textUntil(type).trim() === '1';
        break;
      case 'array': {
        const items: TaskResultValue[] = [];
        const data = openTag();
        if (data !== 'data/') {
          for (;;) {
            skipSpace();
            if (text.startsWith('</data>', pos)) break;
            items.push(parseValue());
          }
          closeTag('data');
        }
        result = items;
        break;
      }
      case 'struct': {
        const out: Record<string, TaskResultValue> = {};
        for (;;) {
          skipSpace();
          if (text.startsWith('</struct>', pos)) break;
          if (openTag() !== 'member') throw new TaskResultParseError('expected <member>');
          if (openTag() !== 'name') throw new TaskResultParseError('expected <name>');
          const key = textUntil('name');
          closeTag('name');
          out[key] = parseValue();
          closeTag('member');
        }
        result = out;
        break;
      }
      default:
        throw new TaskResultParseError(`unsupported type <${type}>`);
    }
    if (!type.endsWith('/') && type !== 'array' && type !== 'struct') closeTag(type);
    if (type === 'array') closeTag('array');
    if (type === 'struct') closeTag('struct');
    closeTag('value');
    return result;
  };

  const value = parseValue();
  skipSpace();
  if (pos !== text.length) throw new TaskResultParseError('trailing content');
  return value;
}
