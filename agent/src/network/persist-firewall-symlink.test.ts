import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@xsctl/common/log/create-logger';
import { CommandRunner, type CommandResult } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { normalizeFirewall } from './firewall.js';
import { persistFirewall } from './persist-firewall.js';

/** iptables-restore --test accepts anything: only the file handling is under test. */
class AcceptingRestore extends CommandRunner {
  override async run(command: string, args: readonly string[]): Promise<CommandResult> {
    return { command: command as CommandResult['command'], args, exitCode: 0, stdout: '', stderr: '', durationMs: 0 };
  }
}

const ruleset = '*filter\n:INPUT ACCEPT [0:0]\n:RH-Firewall-1-INPUT - [0:0]\n-A INPUT -j RH-Firewall-1-INPUT\n-A RH-Firewall-1-INPUT -j REJECT --reject-with icmp-host-prohibited\nCOMMIT\n';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xsctl-fwlink-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('persisted firewall rules and a symlinked /etc/sysconfig/iptables (found by the fuzz campaign)', () => {
  const logger = createLogger('test', { level: 'silent' });
  const fw = normalizeFirewall({ subnet: '10.10.10.0/24', drbdPorts: [7789], iscsiPort: 0, chain: '' });

  async function rootWithLink(name: string, target: string): Promise<AgentContext> {
    const root = join(dir, name);
    await mkdir(join(root, 'etc/sysconfig'), { recursive: true });
    await symlink(target, join(root, 'etc/sysconfig/iptables'));
    return { root: new SandboxRoot(root), runner: new AcceptingRestore({ logger }), logger, stateDir: '/var/lib/xsctl-agent' };
  }

  it('refuses a link that leaves the root, before reading or writing the file it points to', async () => {
    const outside = join(dir, 'outside-iptables');
    await writeFile(outside, ruleset);
    const ctx = await rootWithLink('escapes', outside);
    await expect(persistFirewall(ctx, fw, true)).rejects.toMatchObject({ code: 'PATH_ESCAPES_ROOT' });
    expect(await readFile(outside, 'utf8')).toBe(ruleset);
  });

  it('writes through a link that stays inside the root, keeping the link', async () => {
    const ctx = await rootWithLink('inside', '../../etc/iptables.real');
    await writeFile(join(dir, 'inside/etc/iptables.real'), ruleset);
    const r = await persistFirewall(ctx, fw, true);
    expect(r.changed).toBe(true);
    expect(await readFile(join(dir, 'inside/etc/iptables.real'), 'utf8')).toContain('-A RH-Firewall-1-INPUT -s 10.10.10.0/24 -p tcp -m tcp --dport 7789 -j ACCEPT\n');
  });
});
