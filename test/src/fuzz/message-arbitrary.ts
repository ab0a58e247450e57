import fc from 'fast-check';
import { tsName, type DescriptorIndex, type FieldDescriptor } from './descriptor-set.js';

/**
 * Values a field plausibly holds, picked by its name, so a share of the generated requests passes
 * validation and reaches the code behind it (commands, config writers, XAPI) instead of stopping at
 * the first allow-list. Names match the fixtures the targets start with (the demo pool, the
 * sandbox's DRBD resource `r0`, its targets).
 */
const plausibleByName: readonly [RegExp, readonly string[]][] = [
  [/^vendorId$/, ['XSCTL', 'LIO-ORG']],
  [/^productId$/, ['RT-LUN', 'LUN']],
  [/^scsiId$/, ['XSID1', 'XSID2']],
  [/^scsiSn$/, ['SN0001', 'SN0002']],
  [/^bsType$/, ['rdwr', 'aio']],
  [/backingStore/i, ['/dev/drbd1', '/dev/drbd2']],
  [/^disk$|lowerDisk/i, ['/dev/sdb', '/dev/sdc']],
  [/metaDisk/i, ['internal', '/dev/sdd']],
  [/^device$/, ['/dev/drbd1', '/dev/drbd0']],
  [/hostname/i, ['xs-demo-1', 'xs-demo-2']],
  [/pool/i, ['demo']],
  [/workflow|^id$/i, ['1', '2', 'wf-1']],
  [/secret|password/i, ['Passw0rd123456', 'S3cretChapPass']],
  [/user(name)?$/i, ['chapuser', 'iscsi']],
  [/initiatorAddress/i, ['10.10.10.0/24', '10.10.10.1']],
  [/quorum/i, ['off', 'majority']],
  [/^protocol$/, ['C']],
  [/iqn|initiator|targetName|^target$/i, ['iqn.2026-12.com.example:storage.lun1', 'iqn.2026-12.com.example:xs-demo-1']],
  [/chain/i, ['RH-Firewall-1-INPUT', 'INPUT']],
  [/subnet|cidr/i, ['10.10.10.0/24', '192.168.50.0/24']],
  [/address|ip$|^ip|vip|floating|peer.*addr/i, ['10.10.10.3', '10.10.10.1', '127.0.0.12']],
  [/interface|iface|nic|bridge/i, ['xenbr1', 'eth1']],
  [/resource|drbd/i, ['r0', 'iscsi1']],
  [/device|disk|backing|lun.*path|blockdev/i, ['/dev/sdb', '/dev/drbd0', '/dev/mapper/xs--vg-lv', '/dev/disk/by-id/scsi-3600a0980383030']],
  [/path|file|dir/i, ['/etc/multipath.conf', '/var/lib/xcp/blobs', '/dev/sdb']],
  [/profile|vendor|product/i, ['netapp-ontap', 'dell-md3', 'hpe-3par', 'generic-alua']],
  [/wwid|serial|naa/i, ['3600a098038303053453f463045727a6c', '36001405abcdef']],
  [/quarantine/i, ['20261204T000000Z', 'q-1']],
  [/host|node|name|survivor|master/i, ['xs-demo-1', 'xs-demo-2', 'xs-demo-3', 'r0']],
  [/action/i, ['xcp-ng-update', 'apply-updates', 'iso', 'simulated']],
  [/version/i, ['8.2.1', '7.1.0', '9.0.0']],
  [/crl|pem/i, ['-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n']],
  [/reason|note|comment|description/i, ['maintenance window', '']],
];

const genericPlausible = ['r0', 'xs-demo-1', 'demo', '10.10.10.3', 'iqn.2026-12.com.example:storage.lun1', '/dev/sdb'];

/**
 * Values that have broken (or would break) a consumer: shell and config metacharacters, line
 * breaks and NUL that split argv elements or config lines, option look-alikes, path traversal,
 * oversized and non-ASCII values.
 */
export const hostileStrings: readonly string[] = [
  '',
  ' ',
  '-',
  '-rf',
  '--force',
  '-o/etc/passwd',
  '--config=/tmp/evil',
  '..',
  '../../etc/shadow',
  '/etc/../../outside',
  'r0/../..',
  '/',
  'a\nb',
  'a\rb',
  'a\0b',
  'a\tb',
  '\n',
  'x;reboot',
  'x$(touch${IFS}/tmp/pwned)',
  'x`id`',
  'x|sh',
  'x&&id',
  'pass#word',
  'a b',
  '"quoted"',
  "'single'",
  '{brace}',
  'é',
  '\u202e',
  '\ud800',
  '*',
  '%n%s',
  'x'.repeat(300),
  'x'.repeat(70_000),
];

const controlChars = ['\n', '\r', '\0', '\t', '\x1b', '\x7f'];

export interface ValueOptions {
  /** Share of string fields that get a hostile value (0..1). */
  hostile: number;
}

/** A plausible value for the field, with one hostile character or word planted in it. */
function planted(base: string): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...controlChars, ';', '$', '`', '#', ' ', '-', '../', '"', "'", '\\', '{', '}', '='), fc.nat({ max: base.length })).map(([c, at]) => base.slice(0, at) + c + base.slice(at));
}

/**
 * How hostile a request is: `clean` requests hold only plausible values (they reach the code behind
 * the validators: commands, config writers), `mixed` ones plant a bad value now and then, `chaos`
 * ones are mostly bad.
 */
export type Mode = 'clean' | 'mixed' | 'chaos';

function stringArbitrary(fieldName: string, mode: Mode = 'chaos'): fc.Arbitrary<string> {
  const plausible = plausibleByName.find(([re]) => re.test(fieldName))?.[1] ?? genericPlausible;
  if (mode === 'clean') return fc.constantFrom(...plausible);
  if (mode === 'mixed') {
    return fc.oneof(
      { weight: 30, arbitrary: fc.constantFrom(...plausible) },
      { weight: 1, arbitrary: fc.constantFrom(...plausible).chain(planted) },
      { weight: 1, arbitrary: fc.constantFrom(...hostileStrings) },
    );
  }
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...plausible) },
    { weight: 2, arbitrary: fc.constantFrom(...plausible).chain(planted) },
    { weight: 2, arbitrary: fc.constantFrom(...hostileStrings) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40, unit: 'binary' }) },
  );
}

const int32Bounds = [0, 1, -1, 2, 7789, 3260, 65535, 65536, 2 ** 31 - 1, -(2 ** 31)];
const uint32Bounds = [0, 1, 2, 3, 100, 5_000, 7789, 3260, 65535, 65536, 2 ** 32 - 1];
const uint64Bounds = [0, 1, 1000, 2 ** 32, Number.MAX_SAFE_INTEGER];

/** Numbers a field plausibly holds, by name (ports, LUN and target ids, timeouts in ms). */
function plausibleNumber(name: string): number[] {
  if (/port/i.test(name)) return [7789, 7790, 3260, 0];
  if (/ms$/i.test(name)) return [0, 1_000, 5_000];
  if (/tid|lun|minor|id$/i.test(name)) return [1, 2];
  if (/prefix/i.test(name)) return [24];
  if (/count|max|parallel/i.test(name)) return [1, 3];
  return [0, 1, 2];
}

function scalarArbitrary(f: FieldDescriptor, index: DescriptorIndex, mode: Mode = 'chaos'): fc.Arbitrary<unknown> {
  if (mode !== 'chaos' && /INT|FIXED/.test(f.type)) {
    const clean = fc.constantFrom(...plausibleNumber(tsName(f)));
    if (mode === 'clean') return clean;
    return fc.oneof({ weight: 20, arbitrary: clean }, { weight: 1, arbitrary: scalarArbitrary(f, index, 'chaos') });
  }
  if (mode !== 'chaos' && f.type === 'TYPE_ENUM') {
    const values = (index.enums.get(f.typeName ?? '')?.value ?? []).map((v) => v.number).filter((n) => n !== 0);
    if (values.length > 0) return fc.constantFrom(...values);
  }
  switch (f.type) {
    case 'TYPE_STRING':
      return stringArbitrary(tsName(f), mode);
    case 'TYPE_BOOL':
      return fc.boolean();
    case 'TYPE_INT32':
    case 'TYPE_SINT32':
    case 'TYPE_SFIXED32':
      return fc.oneof(fc.constantFrom(...int32Bounds), fc.integer({ min: -10, max: 10_000 }));
    case 'TYPE_UINT32':
    case 'TYPE_FIXED32':
      return fc.oneof(fc.constantFrom(...uint32Bounds), fc.integer({ min: 0, max: 10_000 }));
    case 'TYPE_INT64':
    case 'TYPE_SINT64':
    case 'TYPE_SFIXED64':
      return fc.oneof(fc.constantFrom(...uint64Bounds, -1), fc.integer({ min: -10, max: 1_000_000 }));
    case 'TYPE_UINT64':
    case 'TYPE_FIXED64':
      return fc.oneof(fc.constantFrom(...uint64Bounds), fc.integer({ min: 0, max: 1_000_000 }));
    case 'TYPE_DOUBLE':
    case 'TYPE_FLOAT':
      return fc.oneof(fc.constantFrom(0, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 1e308), fc.double({ noNaN: false }));
    case 'TYPE_BYTES':
      return fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));
    case 'TYPE_ENUM': {
      const values = (index.enums.get(f.typeName ?? '')?.value ?? []).map((v) => v.number);
      // Mostly declared values; sometimes one the contract does not declare (proto3 keeps it).
      return fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...(values.length > 0 ? values : [0])) }, { weight: 1, arbitrary: fc.constantFrom(99, -1, 2 ** 31 - 1) });
    }
    default:
      throw new Error(`fuzzer: no generator for ${f.type} (${f.name})`);
  }
}

/**
 * A fast-check arbitrary of ts-proto objects for one message type (what `fromPartial` takes):
 * every field optional, repeated fields as short arrays, nested messages to a bounded depth,
 * oneofs as ts-proto's `{ $case, value }` (oneof=unions-value). A field the depth budget cuts is
 * left out, which is a valid (default) value.
 */
export function messageArbitrary(index: DescriptorIndex, typeName: string, depth = 4, mode: Mode = 'chaos'): fc.Arbitrary<Record<string, unknown>> {
  const m = index.messages.get(typeName);
  if (m === undefined) throw new Error(`fuzzer: unknown message ${typeName}`);
  const plain: Record<string, fc.Arbitrary<unknown>> = {};
  const oneofs = new Map<number, { name: string; cases: [string, fc.Arbitrary<unknown>][] }>();
  for (const f of m.field ?? []) {
    let single: fc.Arbitrary<unknown>;
    const entry = f.type === 'TYPE_MESSAGE' ? index.messages.get(f.typeName ?? '') : undefined;
    if (entry?.options?.mapEntry === true) {
      // A map field: ts-proto takes a plain object (key -> value).
      const [k, v] = entry.field ?? [];
      if (k === undefined || v === undefined) continue;
      plain[tsName(f)] = fc.dictionary(stringArbitrary(`${tsName(f)}Key`, mode), v.type === 'TYPE_MESSAGE' ? messageArbitrary(index, v.typeName ?? '', depth - 1, mode) : scalarArbitrary(v, index, mode), { maxKeys: 4 });
      continue;
    }
    if (f.type === 'TYPE_MESSAGE' || f.type === 'TYPE_GROUP') {
      if (depth <= 0) continue;
      single = messageArbitrary(index, f.typeName ?? '', depth - 1, mode);
    } else {
      single = scalarArbitrary(f, index, mode);
    }
    const value =
      f.label !== 'LABEL_REPEATED'
        ? single
        : mode === 'clean' && f.type === 'TYPE_MESSAGE'
          ? fc.array(single, { minLength: 2, maxLength: 2 }).map((xs) => xs.map((x, i) => distinct(x, i)))
          : fc.array(single, { minLength: mode === 'chaos' ? 0 : 1, maxLength: depth > 2 ? 4 : 2 });
    if (f.oneofIndex !== undefined && f.proto3Optional !== true) {
      const decl = m.oneofDecl?.[f.oneofIndex]?.name ?? `oneof${f.oneofIndex}`;
      const entry = oneofs.get(f.oneofIndex) ?? { name: decl.replace(/_([a-z0-9])/g, (_x, c: string) => c.toUpperCase()), cases: [] };
      entry.cases.push([tsName(f), value]);
      oneofs.set(f.oneofIndex, entry);
      continue;
    }
    plain[tsName(f)] = value;
  }
  for (const o of oneofs.values()) plain[o.name] = fc.oneof(...o.cases.map(([$case, v]) => v.map((value) => ({ $case, value }))));
  // Clean requests fill every field (a validator's "required" is not what they are for).
  return mode === 'chaos' ? fc.record(plain, { requiredKeys: [] }) : fc.record(plain);
}

/**
 * The i-th element of a clean repeated message made different from the others where validators
 * ask for it (two DRBD nodes, unique LUN numbers): numbers, host names, device and address
 * suffixes step by i.
 */
function distinct(x: unknown, i: number): unknown {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return x;
  return Object.fromEntries(
    Object.entries(x).map(([k, v]) => {
      if (typeof v === 'number') return [k, v <= 10 ? i + 1 : v + i];
      if (typeof v !== 'string') return [k, v];
      const stepped = v
        .replace(/xs-demo-(\d)$/, () => `xs-demo-${i + 1}`)
        .replace(/^\/dev\/sd([a-y])$/, () => `/dev/sd${String.fromCharCode(98 + i)}`)
        .replace(/^\/dev\/drbd(\d+)$/, () => `/dev/drbd${i + 1}`)
        .replace(/^(\d+\.\d+\.\d+\.)(\d+)$/, (_m, p: string) => `${p}${i + 1}`)
        .replace(/^([A-Za-z][A-Za-z0-9._:-]*)\d$/, (_m, p: string) => `${p}${i + 1}`);
      return [k, stepped];
    }),
  );
}

/** Malformed wire bytes for a method whose valid encoding is `valid`: each is something a broken or hostile client can send. */
export function malformedWireArbitrary(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<{ kind: string; bytes: Uint8Array }> {
  const kinds: fc.Arbitrary<{ kind: string; bytes: Uint8Array }>[] = [
    fc.uint8Array({ minLength: 1, maxLength: 128 }).map((bytes) => ({ kind: 'random', bytes })),
    // A message with no fields encodes to nothing: then a field the type does not have stands in.
    valid.map((b) => (b.length > 1 ? b : Uint8Array.from([0x0a, 0x03, 0x61, 0x62, 0x63]))).chain((b) => fc.integer({ min: 1, max: b.length - 1 }).map((n) => ({ kind: 'truncated', bytes: b.slice(0, n) }))),
    valid.map((b) => (b.length > 0 ? b : Uint8Array.from([0x0a, 0x03, 0x61, 0x62, 0x63]))).chain((b) =>
      fc.tuple(fc.nat({ max: b.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([at, x]) => {
        const c = Uint8Array.from(b);
        c[at] = (c[at] ?? 0) ^ x;
        return { kind: 'bit-flip', bytes: c };
      }),
    ),
    // Field 1 as a length-delimited value longer than the message.
    fc.constant({ kind: 'length-overrun', bytes: Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x41]) }),
    // A varint that never ends.
    fc.constant({ kind: 'unterminated-varint', bytes: Uint8Array.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) }),
    // Field 1 with every wire type (varint, fixed64, group start/end, fixed32, the reserved 6 and 7).
    fc.constantFrom(0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f).map((tag) => ({ kind: `wire-type-${tag & 7}`, bytes: Uint8Array.from([tag, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]) })),
    // Field number 0 and the largest field number.
    fc.constant({ kind: 'field-zero', bytes: Uint8Array.from([0x02, 0x01, 0x41]) }),
    fc.constant({ kind: 'field-max', bytes: Uint8Array.from([0xfa, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x41]) }),
    // Invalid UTF-8 in field 1 (a string in most requests).
    fc.constant({ kind: 'invalid-utf8', bytes: Uint8Array.from([0x0a, 0x04, 0xc3, 0x28, 0xff, 0xfe]) }),
    // Nested length-delimited values 200 deep in field 1 (decode recursion).
    fc.constant({ kind: 'deep-nesting', bytes: deepNesting(200) }),
  ];
  return fc.oneof(...kinds);
}

function deepNesting(depth: number): Uint8Array {
  let inner: number[] = [];
  for (let i = 0; i < depth; i++) {
    const len = varint(inner.length);
    inner = [0x0a, ...len, ...inner];
  }
  return Uint8Array.from(inner);
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}
