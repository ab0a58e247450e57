#!/usr/bin/env node
// Regenerates test/fixtures/xapi-datamodel.json, the simulator's copy of xapi's datamodel, from a
// git checkout of github.com/xapi-project/xen-api:
//
//   node test/scripts/gen-xapi-datamodel.mjs [--repo PATH] [--commit REV]
//
// Sources, both xapi's own:
// - doc/data/xenapi.json, written by xapi's json backend (ocaml/idl/json_backend/gen_json.ml)
//   from the datamodel: every class, its public fields (internal-only ones are left out by the
//   generator), every client-visible message with lifecycles. It lacks two things the dispatcher
//   needs, so they are read from the datamodel sources themselves:
// - ocaml/idl/datamodel*.ml: for each custom message, `~flags` (whether it has an Async form and
//   takes a session; default [`Session; `Async] in datamodel_common.ml's `call`), and
//   `~versioned_params` with `param_default` (the trailing parameters the generated server
//   accepts as optional, gen_server.ml) and `param_release`; classes with `~gen_events:false`;
//   the release order (datamodel_types.ml).
// The output is data, not code: nothing here is copied into the simulator's logic.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const repo = opt('--repo', '/work/.mirror/xapi-project+xen-api/repo');
const rev = opt('--commit', 'HEAD');
const out = opt('--out', fileURLToPath(new URL('../fixtures/xapi-datamodel.json', import.meta.url)));

const git = (...a) => execFileSync('git', ['-C', repo, ...a], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const commit = git('rev-parse', rev).trim();
const show = (path, at = commit) => git('show', `${at}:${path}`);

// ------------------------------------------------------------------ OCaml scanning

/** Splits OCaml source into tokens we care about, skipping comments; strings kept whole. */
function tokenize(src) {
  const tokens = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === '(' && src[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < src.length && depth > 0) {
        if (src[i] === '(' && src[i + 1] === '*') { depth++; i += 2; continue; }
        if (src[i] === '*' && src[i + 1] === ')') { depth--; i += 2; continue; }
        if (src[i] === '"') { i = skipString(src, i); continue; }
        i++;
      }
      continue;
    }
    if (/\s/.test(c)) { i++; continue; }
    if (c === '"') {
      const end = skipString(src, i);
      tokens.push({ t: 'str', v: unescapeOcaml(src.slice(i + 1, end - 1)), at: i });
      i = end;
      continue;
    }
    if (c === '{' && src[i + 1] === '|') {
      const end = src.indexOf('|}', i + 2);
      tokens.push({ t: 'str', v: src.slice(i + 2, end), at: i });
      i = end + 2;
      continue;
    }
    if (c === "'" && src[i + 2] === "'") { tokens.push({ t: 'char', v: src[i + 1], at: i }); i += 3; continue; }
    const id = /^[A-Za-z_][A-Za-z0-9_']*/.exec(src.slice(i, i + 200));
    if (id) { tokens.push({ t: 'id', v: id[0], at: i }); i += id[0].length; continue; }
    const num = /^-?[0-9][0-9_.Lx]*/.exec(src.slice(i, i + 50));
    if (num) { tokens.push({ t: 'num', v: num[0], at: i }); i += num[0].length; continue; }
    const two = src.slice(i, i + 2);
    if (['()', '::', '->', '++', '@@', ':=', '|>', '<>', '>=', '<=', '&&', '||'].includes(two)) { tokens.push({ t: 'op', v: two, at: i }); i += 2; continue; }
    tokens.push({ t: 'op', v: c, at: i });
    i++;
  }
  return tokens;
}

function skipString(src, i) {
  let j = i + 1;
  while (j < src.length) {
    if (src[j] === '\\') { j += 2; continue; }
    if (src[j] === '"') return j + 1;
    j++;
  }
  return j;
}

function unescapeOcaml(s) {
  return s.replace(/\\\n\s*/g, '').replace(/\\(["\\nt])/g, (_m, c) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

const opens = new Set(['(', '[', '{']);
const closes = new Set([')', ']', '}']);

/** Index just after the balanced group starting at tokens[i] (an opening bracket). */
function skipGroup(tokens, i) {
  let depth = 0;
  for (let j = i; j < tokens.length; j++) {
    const tk = tokens[j];
    if (tk.t === 'op' && opens.has(tk.v)) depth++;
    else if (tk.t === 'op' && closes.has(tk.v)) {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return tokens.length;
}

/** The labelled arguments of a `call ... ()` expression starting at tokens[i] (the `call`). */
function readCall(tokens, i) {
  const labels = {};
  let j = i + 1;
  while (j < tokens.length) {
    const tk = tokens[j];
    if (tk.t === 'op' && tk.v === '()') return { labels, end: j + 1 };
    if (tk.t === 'op' && (tk.v === '~' || tk.v === '?')) {
      const name = tokens[j + 1]?.v;
      if (tokens[j + 2]?.v !== ':') { labels[name] = [{ t: 'id', v: name }]; j += 2; continue; }
      let k = j + 3;
      const start = k;
      // A value is one atom or one bracketed group, possibly applied (`numbered_release "1.2"`,
      // `Some (VRef ...)`); it ends at the next label or the closing unit.
      for (;;) {
        const v = tokens[k];
        if (v === undefined) break;
        if (v.t === 'op' && (v.v === '~' || v.v === '?' || v.v === '()')) break;
        if (v.t === 'op' && opens.has(v.v)) { k = skipGroup(tokens, k); continue; }
        if (v.t === 'op' && closes.has(v.v)) break;
        k++;
      }
      labels[name] = tokens.slice(start, k);
      j = k;
      continue;
    }
    // Not a labelled-argument application any more (e.g. `call` used as a value).
    return undefined;
  }
  return undefined;
}

/** `{ a= x; b= y }` record literals inside a token list, as field -> tokens. */
function recordsIn(tokens) {
  const out = [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i].v !== '{') continue;
    const end = skipGroup(tokens, i);
    const inner = tokens.slice(i + 1, end - 1);
    const rec = {};
    let k = 0;
    while (k < inner.length) {
      if (inner[k].t === 'id' && inner[k + 1]?.v === '=') {
        const field = inner[k].v;
        let m = k + 2;
        const start = m;
        while (m < inner.length && inner[m].v !== ';') {
          if (opens.has(inner[m].v)) m = skipGroup(inner, m);
          else m++;
        }
        rec[field] = inner.slice(start, m);
        k = m + 1;
      } else k++;
    }
    out.push(rec);
    i = end - 1;
  }
  return out;
}

/** Top-level comma-separated items of a `[ a; b ]` or `( a, b )` group. */
function splitGroup(tokens, sep) {
  const inner = tokens.slice(1, -1);
  const items = [];
  let cur = [];
  for (let k = 0; k < inner.length; k++) {
    const tk = inner[k];
    if (opens.has(tk.v)) {
      const end = skipGroup(inner, k);
      cur.push(...inner.slice(k, end));
      k = end - 1;
      continue;
    }
    if (tk.v === sep) { items.push(cur); cur = []; continue; }
    cur.push(tk);
  }
  if (cur.length > 0) items.push(cur);
  return items;
}

// ------------------------------------------------------------------ type names

const classVars = new Map();
for (const m of show('ocaml/idl/datamodel_common.ml').matchAll(/^let (_[a-z0-9_]+) = "([A-Za-z_]+)"/gm)) classVars.set(m[1], m[2]);

/** An OCaml datamodel type (tokens) in xenapi.json's spelling, for the simple types params use. */
function typeName(tokens) {
  const tk = tokens.filter((t) => !(t.t === 'op' && (t.v === '(' || t.v === ')')));
  const head = tk[0]?.v;
  switch (head) {
    case 'String': case 'SecretString': return 'string';
    case 'Int': return 'int';
    case 'Float': return 'float';
    case 'Bool': return 'bool';
    case 'DateTime': return 'datetime';
    case 'Ref': return `${classVars.get(tk[1]?.v) ?? tk[1]?.v} ref`;
    case 'Record': return `${classVars.get(tk[1]?.v) ?? tk[1]?.v} record`;
    case 'Set': return `${typeName(tokens.slice(tokens.findIndex((t) => t.v === 'Set') + 1))} set`;
    case 'Map': {
      const group = tokens.slice(tokens.findIndex((t) => t.v === 'Map') + 1);
      const parts = splitGroup(group.slice(0, skipGroup(group, 0)), ',');
      return `(${typeName(parts[0] ?? [])} -> ${typeName(parts[1] ?? [])}) map`;
    }
    case 'Enum': return `enum ${tk[1]?.v ?? ''}`;
    default: return undefined;
  }
}

function defaultValue(tokens) {
  const tk = tokens.filter((t) => !(t.t === 'op' && (t.v === '(' || t.v === ')')));
  if (tk[0]?.v !== 'Some') return null;
  const [kind, arg] = [tk[1]?.v, tk[2]];
  switch (kind) {
    case 'VBool': return { bool: arg?.v === 'true' };
    case 'VInt': return { int: Number(String(arg?.v ?? '0').replace(/L$/, '')) };
    case 'VFloat': return { float: Number(arg?.v ?? 0) };
    case 'VString': return { string: arg?.v ?? '' };
    case 'VRef': return { ref: 'OpaqueRef:NULL' };
    case 'VMap': return { map: {} };
    case 'VSet': return { set: [] };
    case 'VEnum': return { enum: arg?.v ?? '' };
    case 'VDateTime': return { datetime: '19700101T00:00:00Z' };
    default: return { unknown: kind };
  }
}

function releaseName(tokens) {
  const tk = tokens.filter((t) => !(t.t === 'op' && (t.v === '(' || t.v === ')')));
  if (tk[0]?.v === 'numbered_release') return tk[1]?.v;
  const m = /^([a-z_]+)_release$/.exec(tk[0]?.v ?? '');
  return m ? relVars.get(`rel_${m[1]}`) ?? m[1] : undefined;
}

// ------------------------------------------------------------------ releases

const typesSrc = show('ocaml/idl/datamodel_types.ml');
const relVars = new Map([...typesSrc.matchAll(/^let (rel_[a-z0-9_]+) = "([^"]+)"/gm)].map((m) => [m[1], m[2]]));
const releases = [];
for (const m of typesSrc.matchAll(/code_name= (?:Some (rel_[a-z0-9_]+)|None)\s*;\s*version_major= (\d+)\s*;\s*version_minor= (\d+)\s*;\s*branding= "([^"]*)"/g)) {
  if (m[1] === undefined) continue;
  releases.push({ code: relVars.get(m[1]), apiMajor: Number(m[2]), apiMinor: Number(m[3]), branding: m[4] });
}

// ------------------------------------------------------------------ calls in the .ml sources

const mlFiles = git('ls-tree', '-r', '--name-only', commit, 'ocaml/idl/').split('\n').filter((f) => /^ocaml\/idl\/datamodel[a-z_]*\.ml$/.test(f));
const calls = [];
const silentClasses = new Set();
for (const file of mlFiles) {
  const src = show(file);
  const tokens = tokenize(src);
  for (let i = 0; i < tokens.length; i++) {
    const tk = tokens[i];
    if (tk.t === 'id' && tk.v === 'gen_events' && tokens[i - 1]?.v === '~' && tokens[i + 2]?.v === 'false') {
      // The class this create_obj builds: the nearest create_obj before the flag, and its ~name.
      for (let k = i; k >= 0; k--) {
        if (tokens[k].v !== 'create_obj') continue;
        for (let n = k; n < i; n++) {
          if (tokens[n].v === 'name' && tokens[n - 1]?.v === '~' && tokens[n + 1]?.v === ':') {
            const v = tokens[n + 2];
            silentClasses.add(v?.t === 'str' ? v.v : classVars.get(v?.v) ?? v?.v);
            break;
          }
        }
        break;
      }
    }
    if (tk.t !== 'id' || tk.v !== 'call' || tokens[i - 1]?.v === '.' || tokens[i - 1]?.v === 'let') continue;
    const parsed = readCall(tokens, i);
    if (parsed === undefined || parsed.labels.name === undefined) continue;
    const { labels } = parsed;
    const name = labels.name.find((t) => t.t === 'str')?.v;
    if (name === undefined) continue;
    const flagsText = labels.flags?.map((t) => t.v).join(' ');
    const flags = flagsText === undefined ? ['Session', 'Async'] : ['Session', 'Async'].filter((f) => flagsText.includes(f));
    let params;
    if (labels.versioned_params !== undefined) {
      params = recordsIn(labels.versioned_params).map((r) => ({
        name: r.param_name?.find((t) => t.t === 'str')?.v,
        type: typeName(r.param_type ?? []),
        release: releaseName(r.param_release ?? []),
        default: defaultValue(r.param_default ?? []),
      }));
    } else if (labels.params !== undefined && labels.params[0]?.v === '[') {
      params = splitGroup(labels.params, ';').map((item) => {
        const parts = splitGroup(item, ',');
        return { name: parts[1]?.find((t) => t.t === 'str')?.v, type: typeName(parts[0] ?? []), release: undefined, default: null };
      });
    }
    // The module a call sits in (`module VM = struct`), to tell same-named messages apart.
    const before = src.slice(0, tk.at);
    const mod = [...before.matchAll(/\bmodule ([A-Za-z_]+) = struct/g)].pop()?.[1];
    calls.push({ file, module: mod, name, flags, params });
  }
}

// ------------------------------------------------------------------ merge with xenapi.json

const jsonCommit = git('log', '-1', '--format=%H', commit, '--', 'doc/data/xenapi.json').trim();
const api = JSON.parse(show('doc/data/xenapi.json', jsonCommit));

const lifecycleOf = (lc) => {
  const first = lc.transitions.find((t) => t.transition === 'published' || t.transition === 'prototyped');
  const removed = lc.transitions.find((t) => t.transition === 'removed');
  const out = {};
  if (first !== undefined) out.since = first.release;
  if (removed !== undefined || lc.state === 'Removed_s') out.removed = removed?.release ?? first?.release ?? 'rio';
  return out;
};

function pickCall(cls, message) {
  const candidates = calls.filter((c) => c.name === message);
  if (candidates.length <= 1) return candidates[0];
  const lower = cls.toLowerCase();
  const byFile = candidates.filter((c) => c.file === `ocaml/idl/datamodel_${lower}.ml`);
  if (byFile.length === 1) return byFile[0];
  const byModule = candidates.filter((c) => c.module?.toLowerCase() === lower || c.module?.toLowerCase().replace(/_/g, '') === lower.replace(/_/g, ''));
  if (byModule.length >= 1) return byModule[0];
  return undefined;
}

const ambiguous = [];
const classes = {};
const enums = {};
for (const c of api) {
  for (const e of c.enums ?? []) enums[e.name] = e.values.map((v) => v.name);
  const fields = {};
  for (const f of c.fields) {
    const entry = { type: f.type, q: f.qualifier, ...lifecycleOf(f.lifecycle) };
    if (f.default !== undefined) entry.default = f.default;
    fields[f.name] = entry;
  }
  const messages = {};
  for (const m of c.messages) {
    const jsonParams = m.params.filter((p) => !(p.name === 'session_id' && p.type === 'session ref'));
    const session = jsonParams.length !== m.params.length;
    const entry = {
      params: jsonParams.map((p) => ({ name: p.name, type: p.type })),
      result: m.result[0],
      session,
      async: false,
      implicit: m.implicit,
      ...lifecycleOf(m.lifecycle),
    };
    if (m.implicit) {
      // gen_client.ml has_async: implicit messages have an Async form only as constructor/destructor.
      entry.async = m.name === 'create' || m.name === 'destroy';
    } else {
      const call = pickCall(c.name, m.name);
      if (call === undefined) {
        ambiguous.push(`${c.name}.${m.name}`);
        entry.async = true;
      } else {
        entry.async = call.flags.includes('Async');
        entry.session = call.flags.includes('Session');
        if (call.params !== undefined && call.params.every((p) => p.name !== undefined)) {
          entry.params = call.params.map((p) => {
            const fromJson = jsonParams.find((q) => q.name === p.name);
            const param = { name: p.name, type: fromJson?.type ?? p.type ?? 'unknown' };
            if (p.default !== null) param.default = p.default;
            if (p.release !== undefined) param.since = p.release;
            return param;
          });
        }
      }
    }
    messages[m.name] = entry;
  }
  classes[c.name] = { ...lifecycleOf(c.lifecycle), fields, messages };
}

const data = {
  source: {
    repository: 'https://github.com/xapi-project/xen-api',
    commit,
    xenapiJsonCommit: jsonCommit,
    note: 'Generated by test/scripts/gen-xapi-datamodel.mjs; do not edit by hand.',
  },
  releases,
  silentClasses: [...silentClasses].filter(Boolean).sort(),
  enums,
  classes,
};
writeFileSync(out, JSON.stringify(data) + '\n');
console.error(`wrote ${out}: ${Object.keys(classes).length} classes, ${calls.length} calls scanned, unresolved: ${ambiguous.join(', ') || 'none'}`);
