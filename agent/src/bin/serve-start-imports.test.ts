import { build, type Metafile } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * What `xsctl-agent serve` evaluates before its first answer: every module reachable from the
 * entry by static imports and require() calls (dynamic import() edges are where lazy loading
 * happens). Read from esbuild's metafile of the same bundle the RPM ships.
 */
async function bundleInputs(): Promise<Metafile['inputs']> {
  const r = await build({
    entryPoints: [join(repo, 'agent', 'dist', 'bin', 'xsctl-agent.js')],
    absWorkingDir: repo,
    bundle: true,
    write: false,
    outfile: 'out.mjs',
    platform: 'node',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
  });
  return r.metafile.inputs;
}

async function startModules(): Promise<string[]> {
  const inputs = await bundleInputs();
  const start = Object.keys(inputs).find((f) => f.endsWith('agent/dist/bin/xsctl-agent.js'));
  if (start === undefined) throw new Error('entry not in the metafile');
  const seen = new Set([start]);
  const queue = [start];
  for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
    for (const i of inputs[f]?.imports ?? []) {
      if (i.kind === 'dynamic-import' || i.external === true || seen.has(i.path)) continue;
      seen.add(i.path);
      queue.push(i.path);
    }
  }
  return [...seen];
}

describe('the serving agent starts without the code its first answer does not need (bench/agent.mjs)', () => {
  it('loads no command runner library, X.509 or DER parser, storage, SCSI, multipath or precheck code at start', async () => {
    const modules = await startModules();
    // A few modules that must be there, so an empty graph cannot pass.
    for (const needed of ['@grpc/grpc-js/', 'agent/dist/host/read-host-facts.js', 'agent/dist/server/create-agent-server.js']) {
      expect(modules.some((m) => m.includes(needed)), needed).toBe(true);
    }
    // asn1js: with the first revocation list parsed (a fresh agent holds none).
    const lazy = ['node_modules/execa/', 'node_modules/@peculiar/x509/', 'node_modules/asn1js/', 'node_modules/pvtsutils/', 'node_modules/pvutils/', 'agent/dist/drbd/drbd-ops.js', 'agent/dist/target/tgt-ops.js', 'agent/dist/storage/assert-role.js', 'agent/dist/storage/boot-role.js', 'agent/dist/scsi/scsi-service.js', 'agent/dist/multipath/multipath-service.js', 'agent/dist/precheck/run-prechecks.js'];
    expect(modules.filter((m) => lazy.some((l) => m.includes(l)))).toEqual([]);
  });

  it('holds no X.509 schema library at all, even behind a dynamic import: a revocation list is read with asn1js and node:crypto', async () => {
    const inputs = Object.keys(await bundleInputs());
    expect(inputs.some((m) => m.includes('common/dist/tls-trust/revocation-list.js'))).toBe(true);
    expect(inputs.some((m) => m.includes('node_modules/asn1js/'))).toBe(true);
    const heavy = ['node_modules/@peculiar/', 'node_modules/tsyringe/', 'node_modules/reflect-metadata/'];
    expect(inputs.filter((m) => heavy.some((h) => m.includes(h)))).toEqual([]);
  });
});

