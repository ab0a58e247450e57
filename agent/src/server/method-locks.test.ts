import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, Status, type ClientError } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mtlsChannel } from '@xsctl/common/grpc/index';
import { createLogger } from '@xsctl/common/log/create-logger';
import { makeTestPki } from '@xsctl/common/testing/make-test-pki';
import { MultipathServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/multipath';
import type { CommandResult, CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import { startAgentServer, type RunningAgentServer } from './create-agent-server.js';
import { methodLocks } from './method-locks.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

const logger = createLogger('test', { level: 'silent' });

/** Every method of every generated agent service definition, as its gRPC path. */
async function agentMethodPaths(): Promise<string[]> {
  const dir = fileURLToPath(new URL('../../../proto/src/gen/xsctl/agent/v1/', import.meta.url));
  const paths: string[] = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.ts'))) {
    const mod = (await import(`@xsctl/proto/gen/xsctl/agent/v1/${file.replace(/\.ts$/, '')}`)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (!name.endsWith('ServiceDefinition') || value === null || typeof value !== 'object') continue;
      const def = value as { fullName: string; methods: Record<string, { name: string }> };
      for (const m of Object.values(def.methods)) paths.push(`/${def.fullName}/${m.name}`);
    }
  }
  return paths;
}

describe('method locks', () => {
  it('classifies every agent method in the generated definitions (a new method cannot run unlocked by omission)', async () => {
    const paths = await agentMethodPaths();
    expect(paths.length).toBeGreaterThan(40);
    expect(paths.filter((p) => methodLocks[p] === undefined)).toEqual([]);
  });
});

/**
 * Two concurrent Apply calls through gRPC on a sandbox XenServer 7 (main multipath.conf) where
 * the check before the write cannot run (unshare refused): the second profile's stanza is rejected by
 * `multipath -t` after the write (a stub here that takes 300 ms and rejects the NETAPP entry), so
 * that call rolls back. Without the lock the calls interleave: each read
 * the file before the other wrote, and the rollback (or the other call's write) wipes the first
 * call's accepted stanza.
 */
describe('concurrent mutating calls', () => {
  let agent: RunningAgentServer;
  let root: string;
  let client: ReturnType<typeof createClient<typeof MultipathServiceDefinition>>;

  const runner = {
    async run(command: string, args: readonly string[]): Promise<CommandResult> {
      let stderr = '';
      if (command === 'unshare') {
        const conf = args[args.length - 3] ?? '';
        // The candidate's namespace cannot be made (no CAP_SYS_ADMIN): only the check after the write runs.
        if (conf.includes('/candidate-')) throw new Error('unshare: unshare failed: Operation not permitted');
        const text = await readFile(conf, 'utf8').catch(() => '');
        await sleep(300);
        if (text.includes('"NETAPP"')) stderr = 'Dec 04 12:00:00 | /etc/multipath.conf line 42, invalid keyword: bogus\n';
      }
      return { command: command as never, args, exitCode: 0, stdout: '', stderr, durationMs: 1 };
    },
  } as unknown as CommandRunner;

  beforeAll(async () => {
    const pki = await makeTestPki();
    root = await tempDir('xsctl-locks-');
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc/xensource-inventory'), "PRODUCT_BRAND='XenServer'\nPRODUCT_VERSION='7.1.2'\n");
    agent = await startAgentServer({
      ctx: { root: new SandboxRoot(root), runner, logger, stateDir: '/var/lib/xsctl-agent' },
      tls: await pki.issue({ kind: 'agent', name: 'xs-locks', ipAddresses: ['127.0.0.1'] }),
      listen: '127.0.0.1:0',
      logger,
    });
    const channel = mtlsChannel(`127.0.0.1:${agent.port}`, await pki.issue({ kind: 'controller', name: 'ctl' }), { kind: 'agent' });
    client = createClient(MultipathServiceDefinition, channel);
  });

  afterAll(async () => {
    await agent.shutdown(100);
  });

  it('a rejected Apply rolls back only its own change, never the stanza another call just wrote', async () => {
    const apply = (profile: string) => client.apply({ profile, confirm: true, layout: 0, skipReconfigure: true }, { signal: AbortSignal.timeout(20_000) });
    const [a, b] = await Promise.allSettled([apply('euronas-essm'), sleep(20).then(() => apply('netapp'))]);
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    expect(((b as PromiseRejectedResult).reason as ClientError).code).toBe(Status.FAILED_PRECONDITION);
    const text = await readFile(join(root, 'etc/multipath.conf'), 'utf8');
    expect(text).toContain('vendor "eSSM*"');
    expect(text).not.toContain('NETAPP');
  });
});
