import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '@xsctl/common/errors/index';
import { acceptedProbes } from '@xsctl/test/probes/value-probes';
import { normalizeFirewall, renderFirewallRules } from './firewall.js';

/**
 * Every storage subnet and chain name the firewall validator allows, rendered as iptables-save
 * lines, must load with the real iptables-restore and print back unchanged from iptables-save, in a
 * fresh network namespace (the host's tables are never touched).
 */
const ns = `xsctl-fwrt${randomBytes(3).toString('hex')}`;
const inNs = (cmd: string, args: readonly string[], input?: string) =>
  execa('ip', ['netns', 'exec', ns, cmd, ...args], { reject: false, timeout: 60_000, ...(input === undefined ? {} : { input }) });

const toAddress = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** Network addresses from a fixed seed: a unicast first octet, a /16-/32 prefix, host bits clear. */
function sampleSubnets(): string[] {
  return fc
    .sample(fc.tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 2 ** 24 - 1 }), fc.integer({ min: 16, max: 32 })), { numRuns: 60, seed: 4010 })
    .filter(([first]) => first !== 127)
    .map(([first, rest, prefix]) => {
      const n = first * 2 ** 24 + rest;
      return `${toAddress(n - (n % 2 ** (32 - prefix)))}/${prefix}`;
    });
}

describe.skipIf(process.getuid?.() !== 0)('storage firewall rules through the real iptables-restore and iptables-save', () => {
  beforeAll(async () => {
    await execa('ip', ['netns', 'add', ns]);
  });
  afterAll(async () => {
    await execa('ip', ['netns', 'del', ns], { reject: false });
  });

  it('prints every allowed subnet and chain back as written', async () => {
    const chains = acceptedProbes('RH-Firewall-1-INPUT', (c) => normalizeFirewall({ subnet: '10.10.10.0/24', drbdPorts: [7789], iscsiPort: 0, chain: c }));
    expect(chains.length).toBeGreaterThan(30);
    const subnets = ['10.10.10.0/24', '172.16.0.0/16', '192.168.1.7/32', '1.0.0.0/16', '223.255.255.255/32', ...sampleSubnets()];
    const rules: string[] = [];
    for (const [i, subnet] of subnets.entries()) rules.push(...renderFirewallRules(normalizeFirewall({ subnet, drbdPorts: [7000 + i], iscsiPort: 3260, chain: 'XS-STORAGE' })));
    for (const chain of chains) rules.push(...renderFirewallRules(normalizeFirewall({ subnet: '10.10.10.0/24', drbdPorts: [7789], iscsiPort: 0, chain })));
    const usedChains = [...new Set(rules.map((r) => r.split(' ')[1]!))];
    const restore = ['*filter', ...usedChains.map((c) => `:${c} - [0:0]`), ...rules, 'COMMIT', ''].join('\n');
    const r = await inNs('iptables-restore', [], restore);
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: '' });
    const saved = (await inNs('iptables-save', ['-t', 'filter'])).stdout.split('\n').filter((l) => l.startsWith('-A '));
    // iptables-save lists chains in its own order; within a chain the order is ours.
    expect([...saved].sort()).toEqual([...rules].sort());
    for (const c of usedChains) expect(saved.filter((l) => l.split(' ')[1] === c)).toEqual(rules.filter((l) => l.split(' ')[1] === c));
  }, 120_000);

  it('refuses, naming the field, subnets iptables would print otherwise or that open too much', async () => {
    for (const subnet of ['0.0.0.0/0', '10.0.0.0/8', '10.10.0.0/15', '10.10.10.5/24', '127.0.0.0/16', '224.0.0.0/16', '0.0.0.0/16', '10.10.10.0']) {
      let err: unknown;
      try {
        normalizeFirewall({ subnet, drbdPorts: [7789], iscsiPort: 0, chain: '' });
      } catch (e) {
        err = e;
      }
      expect(err, subnet).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe('firewall.subnet');
    }
    // Why host bits are refused: iptables stores the network, so the rule would not read back.
    const r = await inNs('iptables-restore', [], '*filter\n:XS-HOSTBITS - [0:0]\n-A XS-HOSTBITS -s 10.10.10.5/24 -j ACCEPT\nCOMMIT\n');
    expect(r.exitCode).toBe(0);
    expect((await inNs('iptables-save', ['-t', 'filter'])).stdout).toContain('-A XS-HOSTBITS -s 10.10.10.0/24 -j ACCEPT');
  });
});
