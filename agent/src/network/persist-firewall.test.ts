import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@xsctl/common/log/create-logger';
import { allowedCommands, type AllowedCommand } from '../exec/command-table.js';
import { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { floatingIpService } from './floating-ip-service.js';
import { normalizeFirewall, renderFirewallRules } from './firewall.js';
import { mergeIptablesSave } from './persist-firewall.js';

/** A XenServer dom0's /etc/sysconfig/iptables (__fixtures__/SOURCES.md). */
const dom0 = await readFile(new URL('./__fixtures__/xenserver-sysconfig-iptables.txt', import.meta.url), 'utf8');
const fw = normalizeFirewall({ subnet: '10.10.10.0/24', drbdPorts: [7789], iscsiPort: 0, chain: '' });
const ours = renderFirewallRules(fw);
const logger = createLogger('test', { level: 'silent' });

describe('/etc/sysconfig/iptables, the dom0 way', () => {
  it("adds the rules just above the chain's REJECT line, as the how-to says, and changes nothing else", () => {
    const m = mergeIptablesSave(dom0, fw);
    expect(m.added).toEqual(ours);
    const lines = m.text.split('\n');
    const reject = lines.indexOf('-A RH-Firewall-1-INPUT -j REJECT --reject-with icmp-host-prohibited');
    expect(lines.slice(reject - 2, reject)).toEqual(ours);
    expect(lines.filter((l) => !ours.includes(l))).toEqual(dom0.split('\n'));
    // Idempotent.
    expect(mergeIptablesSave(m.text, fw)).toEqual({ text: m.text, added: [], present: ours });
  });

  it('refuses a file without the filter table or without the chain', () => {
    expect(() => mergeIptablesSave('*nat\nCOMMIT\n', fw)).toThrow(expect.objectContaining({ code: 'FIREWALL_FILE_INVALID' }));
    expect(() => mergeIptablesSave(dom0.replaceAll('RH-Firewall-1-INPUT', 'OTHER'), fw)).toThrow(expect.objectContaining({ code: 'FIREWALL_CHAIN_NOT_FOUND' }));
  });
});

const root = process.getuid?.() === 0;
const ns = `xsctl-fwp${randomBytes(3).toString('hex')}`;

/**
 * The real iptables-restore in a fresh network namespace: the check before the write
 * (`--test`), and what the iptables service does at boot (a plain restore of the file).
 */
describe.skipIf(!root)('persisted rules survive a restore, as at boot (real iptables-restore, fresh namespace)', () => {
  let dir: string;
  let ctx: AgentContext;
  beforeAll(async () => {
    await execa('ip', ['netns', 'add', ns]);
    dir = await mkdtemp(join(tmpdir(), 'xsctl-fwp-'));
    await mkdir(join(dir, 'etc/sysconfig'), { recursive: true });
    await writeFile(join(dir, 'etc/sysconfig/iptables'), dom0, { mode: 0o600 });
    const paths: Partial<Record<AllowedCommand, string>> = {};
    const prefixArgs: Partial<Record<AllowedCommand, readonly string[]>> = {};
    for (const cmd of allowedCommands) {
      paths[cmd] = 'ip';
      prefixArgs[cmd] = ['netns', 'exec', ns, cmd];
    }
    ctx = { root: new SandboxRoot(dir), runner: new CommandRunner({ logger, paths, prefixArgs }), logger, stateDir: '/var/lib/xsctl-agent' };
    // The dom0 firewall as the iptables service loaded it.
    await execa('ip', ['netns', 'exec', ns, 'iptables-restore'], { input: dom0 });
  });
  afterAll(async () => {
    await execa('ip', ['netns', 'del', ns], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });

  const nsRules = async () => String((await execa('ip', ['netns', 'exec', ns, 'iptables', '-S', 'RH-Firewall-1-INPUT'])).stdout).split('\n');

  it('a dry run changes neither the chain nor the file; --yes does both, with a backup, mode 0600', async () => {
    const svc = floatingIpService(ctx);
    const call = { signal: new AbortController().signal } as never;
    const before = await nsRules();
    const dry = await svc.applyStorageFirewall({ firewall: { subnet: '10.10.10.0/24', drbdPorts: [7789], iscsiPort: 0, chain: '' }, confirm: false }, call);
    expect(dry).toMatchObject({ added: ours, persistedPath: '/etc/sysconfig/iptables', persistedAdded: ours, persistedBackup: '' });
    expect(await nsRules()).toEqual(before);
    expect(await readFile(join(dir, 'etc/sysconfig/iptables'), 'utf8')).toBe(dom0);

    const done = await svc.applyStorageFirewall({ firewall: { subnet: '10.10.10.0/24', drbdPorts: [7789], iscsiPort: 0, chain: '' }, confirm: true }, call);
    expect(done.persistedAdded).toEqual(ours);
    expect(done.persistedBackup).toMatch(/^\/var\/lib\/xsctl-agent\/backups\/iptables\./);
    expect(await readFile(join(dir, done.persistedBackup ?? ''), 'utf8')).toBe(dom0);
    expect((await stat(join(dir, 'etc/sysconfig/iptables'))).mode & 0o777).toBe(0o600);
    const again = await svc.applyStorageFirewall({ firewall: { subnet: '10.10.10.0/24', drbdPorts: [7789], iscsiPort: 0, chain: '' }, confirm: true }, call);
    expect(again).toMatchObject({ added: [], present: ours, persistedAdded: [] });
  });

  it('after a "reboot" (the chain flushed, the file restored as the iptables service does) the rules are back above the REJECT', async () => {
    await execa('ip', ['netns', 'exec', ns, 'iptables', '-F']);
    await execa('ip', ['netns', 'exec', ns, 'iptables', '-X']);
    await execa('ip', ['netns', 'exec', ns, 'iptables-restore'], { input: await readFile(join(dir, 'etc/sysconfig/iptables'), 'utf8') });
    const chain = await nsRules();
    const reject = chain.indexOf('-A RH-Firewall-1-INPUT -j REJECT --reject-with icmp-host-prohibited');
    expect(chain.slice(reject - 2, reject)).toEqual(ours);
  });

  it('refuses to write what iptables-restore would not load', async () => {
    await writeFile(join(dir, 'etc/sysconfig/iptables'), dom0.replace('--reject-with icmp-host-prohibited', '--reject-with no-such-thing'), { mode: 0o600 });
    const svc = floatingIpService(ctx);
    const call = { signal: new AbortController().signal } as never;
    await expect(svc.applyStorageFirewall({ firewall: { subnet: '10.10.10.0/24', drbdPorts: [7790], iscsiPort: 0, chain: '' }, confirm: true }, call)).rejects.toMatchObject({ code: 'FIREWALL_FILE_INVALID' });
    expect(await nsRules()).not.toContain('-A RH-Firewall-1-INPUT -s 10.10.10.0/24 -p tcp -m tcp --dport 7790 -j ACCEPT');
  });
});
