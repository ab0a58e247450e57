import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CallContext } from 'nice-grpc';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '@xsctl/common/errors/index';
import { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import { precheckService } from './precheck-service.js';
import { precheckIds } from './run-prechecks.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

async function service() {
  const root = new SandboxRoot(await tempDir('xsctl-precheck-svc-'));
  await mkdir(join(root.root, 'etc'), { recursive: true });
  await writeFile(join(root.root, 'etc/hostname'), 'xs71-a\n');
  const logger = pino({ level: 'silent' });
  return { root, svc: precheckService({ root, runner: new CommandRunner({ logger }), logger, stateDir: '/var/lib/xsctl-agent' }) };
}

const call = { signal: new AbortController().signal } as CallContext;

describe('PrecheckService', () => {
  it('runs every check and keeps the ids', async () => {
    const { svc, root } = await service();
    const res = await svc.run({ checks: [], bootDisk: '' }, call);
    expect(res.hostname).toBe('xs71-a');
    expect(res.root).toBe(root.root);
    expect((res.findings ?? []).map((f) => f.id)).toEqual([...precheckIds]);
    // No boot disk in an empty sandbox: a warning with the reason, never a thrown error.
    expect((res.findings ?? []).find((f) => f.id === 'partition-layout')?.error).toMatch(/boot disk not found/);
  });

  it('validates every request field', async () => {
    const { svc } = await service();
    await expect(svc.run({ checks: ['rm -rf'], bootDisk: '' }, call)).rejects.toThrow(ValidationError);
    await expect(svc.run({ checks: [], bootDisk: '/dev/../etc/shadow' }, call)).rejects.toThrow(/boot_disk/);
    await expect(svc.cleanBlobs({ olderThanDays: 0, confirm: true }, call)).rejects.toThrow(/older_than_days/);
    await expect(svc.restoreBlobs({ quarantineId: '../x', confirm: true }, call)).rejects.toThrow(/quarantine_id/);
  });

  it('scans an absent blobs tree as absent, and a clean there moves nothing', async () => {
    const { svc } = await service();
    expect((await svc.scanBlobs({}, call)).scan?.exists).toBe(false);
    const r = await svc.cleanBlobs({ olderThanDays: 90, confirm: true }, call);
    expect(r).toMatchObject({ files: 0, links: 0, quarantineId: '' });
  });
});
