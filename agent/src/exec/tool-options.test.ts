import { describe, expect, it } from 'vitest';
import { allowedCommands } from './command-table.js';
import { checkToolArgs, compareVersions, toolOptions, type Since } from './tool-options.js';

describe('the tool-option table', () => {
  it('has an entry for every program the agent may run', () => {
    expect(allowedCommands.filter((c) => toolOptions[c] === undefined)).toEqual([]);
  });

  it('uses nothing newer than the dom0 version unless a guard says why it never runs there', () => {
    const offenders: string[] = [];
    for (const [cmd, spec] of Object.entries(toolOptions)) {
      const entries: [string, Since][] = [...Object.entries(spec.options), ...Object.entries(spec.words ?? {})];
      for (const [name, s] of entries) if (compareVersions(s.since, spec.dom0) > 0 && (s.guard ?? '') === '') offenders.push(`${cmd} ${name} (since ${s.since}, dom0 ${spec.dom0})`);
    }
    expect(offenders).toEqual([]);
  });

  it('compares versions part by part', () => {
    expect(compareVersions('1.4.11', '1.4.9')).toBe(1);
    expect(compareVersions('4.11.0', '4.13')).toBe(-1);
    expect(compareVersions('4.2.6p5', '4.2.6')).toBe(1);
    expect(compareVersions('0.4.9', '0.4.9')).toBe(0);
  });

  it('checks options, option values and subcommands', () => {
    expect(checkToolArgs('iptables', ['-w', '-C', 'RH-Firewall-1-INPUT', '-s', '10.0.0.0/24', '-p', 'tcp', '-m', 'tcp', '--dport', '7789', '-j', 'ACCEPT'])).toBeNull();
    expect(checkToolArgs('iptables', ['-w', '-S'])).toMatchObject({ arg: '-S' });
    // A value that looks like an option belongs to the option before it.
    expect(checkToolArgs('tgtadm', ['--op', 'update', '--mode', 'target', '--tid', '1', '--name', 'state', '--value', '-x'])).toBeNull();
    expect(checkToolArgs('drbdadm', ['--', '--discard-my-data', 'connect', 'r0'])).toBeNull();
    expect(checkToolArgs('drbdadm', ['down', 'r0'])).toMatchObject({ arg: 'down r0' });
    expect(checkToolArgs('drbdadm', ['-d', 'adjust', 'r0'])).toBeNull();
    expect(checkToolArgs('tgtd', ['-C', '3261', '-f'])).toMatchObject({ arg: '-f' });
    expect(checkToolArgs('sg_vpd', ['--inhex=/tmp/x'])).toMatchObject({ arg: '--inhex=/tmp/x' });
  });

  it('refuses an iptables call that does not start with -w (the xtables lock on a shared dom0)', () => {
    expect(checkToolArgs('iptables', ['-w', '-n', '-L', 'INPUT'])).toBeNull();
    // Without -w: iptables 1.4.21 exits 4 at once while another program holds the lock.
    expect(checkToolArgs('iptables', ['-n', '-L', 'INPUT'])).toEqual({ arg: '-n', reason: expect.stringMatching(/^iptables calls start with -w: .*exits 4/) as unknown });
    // Later than first is refused too: a -w before a word (`-I INPUT -w 1`) is read as seconds by 1.6+ and CentOS 7.
    expect(checkToolArgs('iptables', ['-n', '-w', '-L', 'INPUT'])).toMatchObject({ arg: '-n' });
    expect(checkToolArgs('iptables', [])).toMatchObject({ arg: '' });
    // The rule is iptables': arping's -w (a deadline, with a value) is not required.
    expect(checkToolArgs('arping', ['-c', '2', '-I', 'eth0', '10.0.0.1'])).toBeNull();
    expect(checkToolArgs('iptables-restore', ['--test'])).toBeNull();
  });
});
