#!/usr/bin/env node
// Mutation testing of the modules that decide (mutation/modules.json), one Stryker run per module
// against that module's own tests. Prints JSON with the score per module on stdout (progress and
// Stryker's own output go to stderr) and exits 1 when a module is below its threshold.
//
//   npm run mutate                      every module, incremental: reuses the committed results
//                                       (mutation/incremental/<module>.json) for unchanged mutants
//                                       and tests, and updates those files
//   npm run mutate -- --only a,b        only these modules
//   npm run mutate -- --force           re-run every mutant (ignore the incremental results)
//   npm run mutate -- --check           CI (scripts/test.sh): a module whose sources and tests are
//                                       those recorded in its committed incremental file is scored
//                                       from that file without running anything; a changed one is
//                                       re-run incrementally (only its changed mutants/tests), into
//                                       a scratch copy; the committed files are never touched
//
// Environment: XSCTL_MUTATE_CONCURRENCY (default 2), XSCTL_MUTATE_TIMEOUT_MS (per mutant, 10000),
// XSCTL_MUTATE_CHECK_BUDGET_S (--check only, default 240: the re-runs of changed modules together;
// past it the run stops and fails, naming the records to re-make with `npm run mutate` and commit).
// Equivalent mutants are listed with the reason in mutation/equivalent.json; they count in
// neither the numerator nor the denominator, and are reported separately.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const modulesFile = join(root, 'mutation/modules.json');
const equivalentFile = join(root, 'mutation/equivalent.json');
const incrementalDir = join(root, 'mutation/incremental');
const scratchDir = join(root, '.stryker-tmp/check');

const table = JSON.parse(readFileSync(modulesFile, 'utf8'));
const prepare = (m) => ({ ...m, ranges: m.mutate.map(resolveRange), mutate: m.mutate.map((e) => (typeof e === 'string' ? e : e.file)) });
/** The recorded modules: what the check holds. */
const modules = table.modules.map(prepare);
/**
 * Modules that decide whose first recorded run is still to be made (`--only NAME` runs one). Their
 * regions are resolved only when one is run: a pending entry whose anchor text moved must not
 * break the check of the recorded modules.
 */
const pending = (table.pending ?? []).map((m) => {
  try {
    return prepare(m);
  } catch (err) {
    return { ...m, ranges: [], mutate: m.mutate.map((e) => (typeof e === 'string' ? e : e.file)), unresolved: err.message };
  }
});
const everyModule = [...modules, ...pending];

/**
 * A mutate entry is a file, or { file, from, to } naming the first and last line of a region by
 * their text (so the region follows edits): the decision logic of a file that also holds data.
 */
function resolveRange(entry) {
  if (typeof entry === 'string') return entry;
  const lines = readFileSync(join(root, entry.file), 'utf8').split('\n');
  const from = lines.findIndex((l) => l.includes(entry.from));
  if (from === -1) throw new Error(`${entry.file}: no line contains ${JSON.stringify(entry.from)} (mutation/modules.json)`);
  const to = entry.to === undefined ? lines.length - 1 : lines.findIndex((l, i) => i >= from && l.includes(entry.to));
  if (to === -1) throw new Error(`${entry.file}: no line after ${from + 1} contains ${JSON.stringify(entry.to)} (mutation/modules.json)`);
  return `${entry.file}:${from + 1}-${to + 1}`;
}

function arg(name) {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}
const has = (name) => process.argv.includes(name);

if (has('--child')) {
  await runChild(arg('--child'), arg('--incremental-file'), arg('--result-file'), has('--force'));
} else {
  process.exitCode = await main();
}

async function main() {
  const check = has('--check');
  const force = has('--force');
  const only = arg('--only')?.split(',');
  const selected = only === undefined ? modules : everyModule.filter((m) => only.includes(m.name));
  if (only !== undefined) {
    const unknown = only.filter((n) => !everyModule.some((m) => m.name === n));
    if (unknown.length > 0) throw new Error(`unknown module(s): ${unknown.join(', ')}`);
  }
  const unresolved = selected.find((m) => m.unresolved !== undefined);
  if (unresolved !== undefined) throw new Error(unresolved.unresolved);
  const equivalents = readEquivalents();
  const started = Date.now();
  // The check re-runs a changed module on every CI run until its record is committed: bound that.
  const deadline = check ? started + Number(process.env.XSCTL_MUTATE_CHECK_BUDGET_S ?? 240) * 1000 : Infinity;
  const report = [];
  for (const mod of selected) {
    const committed = join(incrementalDir, `${mod.name}.json`);
    let source = committed;
    let ran = false;
    const t0 = Date.now();
    if (!check || force || !unchanged(mod, committed)) {
      let target = committed;
      if (check) {
        mkdirSync(scratchDir, { recursive: true });
        target = join(scratchDir, `${mod.name}.json`);
        if (existsSync(committed)) copyFileSync(committed, target);
      }
      process.stderr.write(`mutate: ${mod.name}: running Stryker (${check ? 'changed since its recorded run' : force ? 'forced' : 'incremental'})\n`);
      // Stryker's incremental mode keeps a static mutant's "Survived" while the tests that ran it are
      // unchanged, even when a new test file would kill it: a changed set of test files re-runs all.
      const finished = await runModule(mod, target, force || testFilesChanged(mod, target), deadline);
      if (!finished) {
        process.stderr.write(`mutate: ${mod.name}: the check's budget (XSCTL_MUTATE_CHECK_BUDGET_S) ran out re-running its changed mutants: run \`npm run mutate -- --only ${mod.name}\` and commit ${rel(committed)}\n`);
        return 1;
      }
      if (check) process.stderr.write(`mutate: ${mod.name}: re-run in a scratch copy; \`npm run mutate -- --only ${mod.name}\` and a commit of ${rel(committed)} spare CI this re-run\n`);
      source = target;
      ran = true;
    } else {
      process.stderr.write(`mutate: ${mod.name}: sources and tests as recorded, scored from ${rel(committed)}\n`);
    }
    report.push({ ...score(mod, source, equivalents), ran, seconds: Math.round((Date.now() - t0) / 100) / 10 });
  }
  const unusedEquivalents = equivalents.filter((e) => !e.used && selected.some((m) => m.mutate.includes(e.file)));
  const failing = report.filter((r) => r.score < r.threshold);
  const out = {
    ok: failing.length === 0 && unusedEquivalents.length === 0,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    modules: report,
    ...(unusedEquivalents.length > 0 ? { staleEquivalents: unusedEquivalents.map(({ used: _u, ...e }) => e) } : {}),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  for (const f of failing) process.stderr.write(`mutate: ${f.name}: score ${f.score}% is below its threshold ${f.threshold}% (survivors above)\n`);
  for (const e of unusedEquivalents) process.stderr.write(`mutate: mutation/equivalent.json lists a mutant that no longer exists: ${e.file} ${e.mutator} ${JSON.stringify(e.original)} -> ${JSON.stringify(e.replacement)}\n`);
  return out.ok ? 0 : 1;
}

function rel(p) {
  return p.startsWith(`${root}/`) ? p.slice(root.length + 1) : p;
}

function sha(text) {
  return createHash('sha256').update(text).digest('hex');
}

/** True when the committed run saw exactly the module's current sources and test files. */
function unchanged(mod, incrementalFile) {
  if (!existsSync(incrementalFile)) return false;
  const rec = JSON.parse(readFileSync(incrementalFile, 'utf8'));
  const now = (p) => (existsSync(join(root, p)) ? sha(readFileSync(join(root, p), 'utf8')) : null);
  for (const f of mod.mutate) {
    if (rec.files?.[f] === undefined || sha(rec.files[f].source) !== now(f)) return false;
  }
  for (const t of mod.tests) {
    if (rec.testFiles?.[t] === undefined || sha(rec.testFiles[t].source ?? '') !== now(t)) return false;
  }
  // Tests lean on fixtures and helpers Stryker does not record: the script records their hashes.
  const deps = rec.xsctlDependencies ?? {};
  for (const [p, h] of Object.entries(deps)) if (now(p) !== h) return false;
  return Object.keys(deps).length === (mod.dependsOn ?? []).length;
}

function testFilesChanged(mod, incrementalFile) {
  if (!existsSync(incrementalFile)) return false;
  const recorded = Object.keys(JSON.parse(readFileSync(incrementalFile, 'utf8')).testFiles ?? {}).sort();
  return JSON.stringify(recorded) !== JSON.stringify([...mod.tests].sort());
}

function readEquivalents() {
  if (!existsSync(equivalentFile)) return [];
  return JSON.parse(readFileSync(equivalentFile, 'utf8')).mutants.map((e) => ({ ...e, used: false }));
}

/** Source text of a mutant's location (1-based lines, 1-based columns in the report schema). */
function originalText(source, loc) {
  const lines = source.split('\n');
  const out = [];
  for (let l = loc.start.line; l <= loc.end.line; l++) {
    const line = lines[l - 1] ?? '';
    const from = l === loc.start.line ? loc.start.column - 1 : 0;
    const to = l === loc.end.line ? loc.end.column - 1 : line.length;
    out.push(line.slice(from, to));
  }
  return out.join('\n');
}

function score(mod, file, equivalents) {
  const rec = JSON.parse(readFileSync(file, 'utf8'));
  const counts = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, equivalent: 0, ignored: 0, errors: 0 };
  const survivors = [];
  const equivalent = [];
  for (const f of new Set(mod.mutate)) {
    const entry = rec.files?.[f];
    if (entry === undefined) throw new Error(`${rel(file)} has no results for ${f}`);
    for (const m of entry.mutants) {
      const original = originalText(entry.source, m.location);
      const where = { file: f, line: m.location.start.line, mutator: m.mutatorName, original, replacement: m.replacement ?? '' };
      switch (m.status) {
        case 'Killed': counts.killed++; break;
        case 'Timeout': counts.timeout++; break;
        case 'Ignored': counts.ignored++; break;
        case 'CompileError':
        case 'RuntimeError': counts.errors++; break;
        case 'Survived':
        case 'NoCoverage': {
          const eq = equivalents.find((e) => e.file === f && e.mutator === m.mutatorName && e.original === original && e.replacement === where.replacement && (e.line === undefined || e.line === where.line));
          if (eq !== undefined) {
            eq.used = true;
            counts.equivalent++;
            equivalent.push({ ...where, reason: eq.reason });
          } else {
            counts[m.status === 'Survived' ? 'survived' : 'noCoverage']++;
            survivors.push({ ...where, status: m.status });
          }
          break;
        }
        default: counts.errors++;
      }
    }
  }
  const detected = counts.killed + counts.timeout;
  const valid = detected + counts.survived + counts.noCoverage;
  const pct = valid === 0 ? 100 : Math.floor((detected / valid) * 10000) / 100;
  return { name: mod.name, group: mod.group, files: mod.mutate, threshold: mod.threshold, goal: mod.goal ?? mod.threshold, score: pct, ...counts, survivors, equivalentMutants: equivalent };
}

/** Resolves true when Stryker finished, false when the deadline came first (its processes are then killed). */
function runModule(mod, incrementalFile, force, deadline = Infinity) {
  return new Promise((resolvePromise, reject) => {
    const args = [fileURLToPath(import.meta.url), '--child', mod.name, '--incremental-file', incrementalFile];
    if (force) args.push('--force');
    // Stryker prints to stdout; the parent's stdout is the JSON report only. Under a deadline it
    // runs in its own process group, so that the deadline ends its test-runner workers too (and
    // this process passes on SIGINT/SIGTERM, which no longer reach that group from a terminal).
    const bounded = Number.isFinite(deadline);
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', process.stderr, process.stderr], detached: bounded });
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const onSignal = (sig) => {
      killGroup();
      process.kill(process.pid, sig);
    };
    let late = false;
    let timer;
    if (bounded) {
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
      timer = setTimeout(() => { late = true; killGroup(); }, Math.max(0, deadline - Date.now()));
    }
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      if (late) resolvePromise(false);
      else if (code === 0) resolvePromise(true);
      else reject(new Error(`Stryker run of ${mod.name} exited ${code}`));
    });
  });
}

async function runChild(name, incrementalFile, _resultFile, force) {
  const mod = everyModule.find((m) => m.name === name);
  process.env.XSCTL_MUTATE_TESTS = mod.tests.join(',');
  const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const packages = [...new Set([...mod.mutate, ...mod.tests].map((p) => p.split('/')[0]))];
  const { Stryker } = await import('@stryker-mutator/core');
  const stryker = new Stryker({
    testRunner: 'vitest',
    vitest: { configFile: 'vitest.mutate.config.ts', related: false },
    plugins: ['@stryker-mutator/vitest-runner'],
    coverageAnalysis: 'perTest',
    mutate: mod.ranges,
    checkers: [],
    concurrency: Number(process.env.XSCTL_MUTATE_CONCURRENCY ?? 2),
    timeoutMS: Number(process.env.XSCTL_MUTATE_TIMEOUT_MS ?? 10_000),
    incremental: true,
    incrementalFile,
    force,
    reporters: ['clear-text'],
    clearTextReporter: { reportTests: false, reportScoreTable: true, allowEmojis: false },
    tempDirName: '.stryker-tmp',
    cleanTempDir: process.env.XSCTL_MUTATE_KEEP_SANDBOX === undefined,
    // Copy into the sandbox only the packages this module's tests run in; the other packages
    // resolve through node_modules to their built dist/ (how packages import each other anyway).
    // (Every package keeps its tsconfig.json: the transform follows project references.)
    ignorePatterns: [
      '/*', '!/package.json', '!/vitest.mutate.config.ts', '!/tsconfig.base.json',
      ...workspaces.flatMap((p) => (packages.includes(p) ? [`!/${p}`, `/${p}/dist`] : [`!/${p}`, `/${p}/*`, `!/${p}/tsconfig.json`])),
    ],
    logLevel: process.env.XSCTL_MUTATE_LOG ?? 'warn',
    fileLogLevel: 'off',
  });
  await stryker.runMutationTest();
  // Record the hashes of the files the tests lean on that Stryker does not record itself.
  const rec = JSON.parse(readFileSync(incrementalFile, 'utf8'));
  rec.xsctlDependencies = Object.fromEntries((mod.dependsOn ?? []).map((p) => [p, sha(readFileSync(join(root, p), 'utf8'))]));
  writeFileSync(incrementalFile, `${JSON.stringify(rec)}\n`);
}
