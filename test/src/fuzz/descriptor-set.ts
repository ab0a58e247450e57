import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { execa } from 'execa';

/** The parts of google.protobuf.FileDescriptorSet (buf's JSON form) the fuzzer reads. */
export interface FieldDescriptor {
  name: string;
  number: number;
  label?: 'LABEL_OPTIONAL' | 'LABEL_REPEATED' | 'LABEL_REQUIRED';
  type: string;
  typeName?: string;
  jsonName?: string;
  oneofIndex?: number;
  proto3Optional?: boolean;
}

export interface MessageDescriptor {
  name: string;
  field?: FieldDescriptor[];
  nestedType?: MessageDescriptor[];
  enumType?: EnumDescriptor[];
  oneofDecl?: { name: string }[];
  options?: { mapEntry?: boolean };
}

export interface EnumDescriptor {
  name: string;
  value?: { name: string; number: number }[];
}

interface FileDescriptor {
  name: string;
  package?: string;
  messageType?: MessageDescriptor[];
  enumType?: EnumDescriptor[];
  service?: { name: string; method?: { name: string; inputType: string; clientStreaming?: boolean; serverStreaming?: boolean }[] }[];
}

export interface DescriptorIndex {
  messages: Map<string, MessageDescriptor>;
  enums: Map<string, EnumDescriptor>;
  /** gRPC path -> fully-qualified input type, e.g. `.xsctl.agent.v1.GetFactsRequest`. */
  inputTypes: Map<string, string>;
}

const repoRoot = dirname(dirname(createRequire(import.meta.url).resolve('@xsctl/proto/package.json')));

/**
 * The project's protos compiled by buf into a descriptor set (the same buf that `npm run gen` runs),
 * so the fuzzer generates requests from the contracts themselves: a field added to a proto is
 * fuzzed without editing the fuzzer.
 */
export async function loadDescriptorIndex(): Promise<DescriptorIndex> {
  const buf = join(repoRoot, 'node_modules', '.bin', 'buf');
  const { stdout } = await execa(buf, ['build', join(repoRoot, 'proto'), '-o', '-#format=json'], { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 });
  const set = JSON.parse(stdout) as { file: FileDescriptor[] };
  const messages = new Map<string, MessageDescriptor>();
  const enums = new Map<string, EnumDescriptor>();
  const inputTypes = new Map<string, string>();
  const addMessage = (prefix: string, m: MessageDescriptor): void => {
    const full = `${prefix}.${m.name}`;
    messages.set(full, m);
    for (const e of m.enumType ?? []) enums.set(`${full}.${e.name}`, e);
    for (const n of m.nestedType ?? []) addMessage(full, n);
  };
  for (const f of set.file) {
    const prefix = f.package === undefined ? '' : `.${f.package}`;
    for (const m of f.messageType ?? []) addMessage(prefix, m);
    for (const e of f.enumType ?? []) enums.set(`${prefix}.${e.name}`, e);
    for (const s of f.service ?? []) for (const m of s.method ?? []) inputTypes.set(`/${prefix.slice(1)}.${s.name}/${m.name}`, m.inputType);
  }
  return { messages, enums, inputTypes };
}

/** ts-proto's property name for a field (its camelCase of the proto name, which is buf's jsonName). */
export function tsName(f: FieldDescriptor): string {
  return f.jsonName ?? f.name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** Every field name (proto and ts spelling) reachable from a message, for checking that a refusal names a real field. */
export function fieldNamesOf(index: DescriptorIndex, typeName: string, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  if (seen.has(typeName)) return out;
  seen.add(typeName);
  for (const f of index.messages.get(typeName)?.field ?? []) {
    out.add(f.name);
    out.add(tsName(f));
    if (f.type === 'TYPE_MESSAGE' && f.typeName !== undefined) for (const n of fieldNamesOf(index, f.typeName, seen)) out.add(n);
  }
  return out;
}
