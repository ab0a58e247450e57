import { writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { issueCertificate } from '@xsctl/common/pki/index';
import { makeTestPki } from '@xsctl/common/testing/make-test-pki';
import { Journal } from '@xsctl/controller/journal/journal';
import { WorkflowStore } from '@xsctl/controller/workflows/engine/workflow-store';
import { ROLLING_UPGRADE, normalizeParams } from '@xsctl/controller/workflows/rolling-upgrade/index';
import { spawnReady, type ReadyProcess } from '../src/demo/spawn-ready.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

const controllerBin = resolve(import.meta.dirname, '../../controller/bin/xsctl-controller.js');

let dir: string;
let config: string;
let journalFile: string;
let workflowId: string;
// A "XAPI" that accepts connections and never answers: a resumed upgrade hangs in its first call,
// so a workflow resumed twice shows as two resume events rather than one finished run.
let blackHole: Server;
const sockets: Socket[] = [];
const started: ReadyProcess[] = [];

beforeAll(async () => {
  dir = await tempDir('xsctl-jlock-');
  const pki = await makeTestPki();
  const tls = await issueCertificate(pki.dir, { kind: 'controller', name: 'ctl', ipAddresses: ['127.0.0.1'] });
  blackHole = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
  const port = (blackHole.address() as { port: number }).port;
  journalFile = join(dir, 'journal.sqlite');
  await writeFile(join(dir, 'pw'), 'secret\n');
  config = join(dir, 'controller.yaml');
  await writeFile(
    config,
    `listen: 127.0.0.1:0\ntls: {ca: ${tls.ca}, cert: ${tls.cert}, key: ${tls.key}}\njournal: ${journalFile}\npools:\n  - name: lab\n    xapi: {url: "http://127.0.0.1:${port}", user: root, passwordFile: pw, allowPlainHttp: true}\n`,
  );
  // A rolling upgrade a previous controller left running: whoever starts on this journal resumes it.
  const journal = new Journal(journalFile);
  workflowId = new WorkflowStore(journal.db).create('lab', ROLLING_UPGRADE, normalizeParams({ action: 'apply-updates', agentCheck: false }), 'alice').id;
  journal.close();
});

afterAll(async () => {
  for (const p of started) await p.stop().catch(() => undefined);
  for (const s of sockets) s.destroy();
  await new Promise((r) => blackHole.close(r));
});

function resumeEvents(): number {
  const journal = new Journal(journalFile);
  try {
    return new WorkflowStore(journal.db).events(workflowId).filter((e) => e.kind === 'controller-restarted').length;
  } finally {
    journal.close();
  }
}

async function eventually(what: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('one controller per journal (two processes)', () => {
  it('refuses a second controller while the first runs, and lets a new one in once the first is SIGKILLed', async () => {
    const first = await spawnReady(controllerBin, ['--config', config]);
    started.push(first);
    await eventually(() => resumeEvents() === 1);

    const second = await execa(process.execPath, [controllerBin, '--config', config], { reject: false, timeout: 20_000 });
    expect(second.exitCode).toBe(2);
    expect(second.stderr).toContain('JOURNAL_LOCKED');
    expect(second.stderr).toContain(`pid ${first.child.pid}`);
    // Give a wrongly started second controller time to resume too: it must not have.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(resumeEvents()).toBe(1);

    // The kernel drops the lock with the process: no stale lock after a crash.
    first.child.kill('SIGKILL');
    await first.child;
    const third = await spawnReady(controllerBin, ['--config', config]);
    started.push(third);
    await eventually(() => resumeEvents() === 2);
    await third.stop();
  }, 60_000);
});
