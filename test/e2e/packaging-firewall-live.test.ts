import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dom0Iptables } from '../src/packaging/el7-root.js';

/**
 * The RPM's firewall helper (packaging/agent/firewall.sh, run by %post and %preun) when the dom0's
 * iptables service is running: it applies the rule live too. Here with the real iptables in a
 * fresh network namespace loaded with the dom0's ruleset; `systemctl` is a stand-in that says the
 * service is active, and `iptables` on the helper's PATH writes down its argv, then runs the real one.
 */
const repo = join(import.meta.dirname, '..', '..');
const helper = join(repo, 'packaging', 'agent', 'firewall.sh');
const ns = `xsctl-fwlive${randomBytes(3).toString('hex')}`;
const RULE = '-A RH-Firewall-1-INPUT -p tcp -m conntrack --ctstate NEW -m tcp --dport 7443 -m comment --comment xsctl-agent -j ACCEPT';
let dir = '';

const inNs = (args: string[]) => execa('ip', ['netns', 'exec', ns, ...args]);
const chain = async () => String((await inNs(['iptables', '-S', 'RH-Firewall-1-INPUT'])).stdout).split('\n');

describe.skipIf(process.getuid?.() !== 0)('the firewall helper with the iptables service running (real iptables, own namespace)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xsctl-fwlive-'));
    const realIptables = String((await execa('sh', ['-c', 'command -v iptables'])).stdout).trim();
    await writeFile(join(dir, 'systemctl'), '#!/bin/sh\ncase "$1" in is-active) exit 0 ;; esac\nexit 0\n');
    await writeFile(join(dir, 'iptables'), `#!/bin/sh\necho "$*" >> ${join(dir, 'iptables.calls')}\nexec ${realIptables} "$@"\n`);
    await chmod(join(dir, 'systemctl'), 0o755);
    await chmod(join(dir, 'iptables'), 0o755);
    await writeFile(join(dir, 'sysconfig-iptables'), dom0Iptables);
    await execa('ip', ['netns', 'add', ns]);
    await inNs(['iptables-restore', join(dir, 'sysconfig-iptables')]);
  });
  afterAll(async () => {
    await execa('ip', ['netns', 'del', ns], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });

  it('inserts the rule live once (with -w, bounded by timeout), and removes it on close', async () => {
    const env = { XSCTL_IPTABLES_FILE: join(dir, 'sysconfig-iptables'), PATH: `${dir}:/usr/sbin:/usr/bin:/sbin:/bin` };
    await inNs(['env', `PATH=${env.PATH}`, `XSCTL_IPTABLES_FILE=${env.XSCTL_IPTABLES_FILE}`, 'sh', helper, 'open', '7443']);
    await inNs(['env', `PATH=${env.PATH}`, `XSCTL_IPTABLES_FILE=${env.XSCTL_IPTABLES_FILE}`, 'sh', helper, 'open', '7443']);
    // Inserted first in the chain (above the dom0's REJECT), once.
    expect((await chain()).filter((l) => l.includes('xsctl-agent'))).toEqual([RULE]);
    expect((await chain())[1]).toBe(RULE);
    await inNs(['env', `PATH=${env.PATH}`, `XSCTL_IPTABLES_FILE=${env.XSCTL_IPTABLES_FILE}`, 'sh', helper, 'close']);
    expect((await chain()).filter((l) => l.includes('xsctl-agent'))).toEqual([]);
    const calls = (await readFile(join(dir, 'iptables.calls'), 'utf8')).trim().split('\n');
    // open: -C (absent), -I; open again: nothing (the file has the line already); close: -D (removed), -D (exit 1, none left).
    expect(calls.map((c) => c.split(' ').slice(0, 2).join(' '))).toEqual(['-w -C', '-w -I', '-w -D', '-w -D']);
  });
});
