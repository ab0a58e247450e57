import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@xsctl/common/errors/index';
import { loadControllerConfig } from './inventory.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

async function configFile(text: string): Promise<string> {
  const dir = await tempDir('xsctl-inv-');
  await writeFile(join(dir, 'xapi.pw'), 'p@ss word\n', { mode: 0o600 });
  const file = join(dir, 'controller.yaml');
  await writeFile(file, text);
  return file;
}

describe('controller inventory', () => {
  it('reads pools, resolves relative paths and reads the password file', async () => {
    const file = await configFile('tls: {ca: ca.crt, cert: c.crt, key: c.key}\npools:\n  - name: prod\n    xapi: {url: "https://10.0.0.1", passwordFile: xapi.pw}\n');
    const c = await loadControllerConfig(file);
    expect(c.pools).toEqual([{ name: 'prod', xapi: { url: 'https://10.0.0.1', user: 'root', password: 'p@ss word', allowUnauthorized: false, allowPlainHttp: false, followMasterRedirect: false }, agentPort: 7443 }]);
    expect(c.tls.ca).toBe(join(file, '..', 'ca.crt'));
    expect(c.listen).toBe('127.0.0.1:7444');
  });

  it.each([
    ['no pools', 'tls: {ca: a, cert: b, key: c}\npools: []\n', /non-empty/],
    ['a duplicate pool', 'tls: {ca: a, cert: b, key: c}\npools:\n  - {name: p, xapi: {url: "https://x", password: y}}\n  - {name: p, xapi: {url: "https://x", password: y}}\n', /twice/],
    ['a non-URL', 'tls: {ca: a, cert: b, key: c}\npools:\n  - {name: p, xapi: {url: "ftp://x", password: y}}\n', /URL/],
    ['no password', 'tls: {ca: a, cert: b, key: c}\npools:\n  - {name: p, xapi: {url: "https://x"}}\n', /passwordFile/],
    ['a bad port', 'tls: {ca: a, cert: b, key: c}\npools:\n  - {name: p, agentPort: 70000, xapi: {url: "https://x", password: y}}\n', /agentPort/],
  ])('rejects %s with a ConfigError', async (_name, text, re) => {
    const err = await loadControllerConfig(await configFile(text)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(re);
  });

  it('refuses an http:// XAPI URL unless allowPlainHttp says so (the password would travel in clear)', async () => {
    const text = (extra: string) => `tls: {ca: a, cert: b, key: c}\npools:\n  - {name: p, xapi: {url: "http://10.0.0.1", password: y${extra}}}\n`;
    const err = await loadControllerConfig(await configFile(text(''))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/pools\[0\]\.xapi\.url: http:\/\/ sends the XAPI password in clear.*allowPlainHttp: true/);
    const c = await loadControllerConfig(await configFile(text(', allowPlainHttp: true')));
    expect(c.pools[0]?.xapi).toMatchObject({ url: 'http://10.0.0.1', allowPlainHttp: true, followMasterRedirect: false, allowUnauthorized: false });
  });

  it('never puts the password in an error', async () => {
    const file = await configFile('tls: {ca: a, cert: b, key: c}\npools:\n  - {name: "bad name!", xapi: {url: "https://x", password: hunter2}}\n');
    const err = (await loadControllerConfig(file).catch((e: unknown) => e)) as Error;
    expect(err.message).not.toContain('hunter2');
  });

  describe('pool storage (two-node failover)', () => {
    const storage = (extra: string) =>
      `tls: {ca: a, cert: b, key: c}\npools:\n  - name: lab\n    xapi: {url: "https://x", password: y}\n    storage:\n      spec: {drbdResources: [iscsi1], target: {tid: 1, iqn: "iqn.2013-05.com.example:x", luns: [{lun: 10, backingStore: /dev/drbd1}], incomingUser: {user: xsinit, passwordFile: chap.pw}}, floatingIp: {address: 10.10.10.3, prefixLength: 24, interface: xapi1}}\n      hosts:\n        xcp1: {replicationAddress: 10.10.10.1, replicationInterface: xapi1, managementInterface: xenbr0}\n        xcp2: {replicationAddress: 10.10.10.2, replicationInterface: xapi1, managementInterface: xenbr0}\n${extra}`;

    it('reads the spec, the links, the timers and the BMC passwords from files', async () => {
      const file = await configFile(storage('      failover: {automatic: true, detectAfterMs: 2600, selfFenceAfterMs: 1500}\n      fencing: {method: ipmi, hosts: {xcp1: {address: 10.0.0.21, user: fence, passwordFile: xapi.pw}, xcp2: {address: 10.0.0.22, user: fence, passwordFile: xapi.pw}}}\n'));
      await writeFile(join(file, '..', 'chap.pw'), 'chap-secret\n');
      const s = (await loadControllerConfig(file)).pools[0]?.storage;
      expect(s?.spec.target?.incomingUser).toEqual({ user: 'xsinit', password: 'chap-secret' });
      expect(s?.spec.floatingIp).toMatchObject({ address: '10.10.10.3', interface: 'xapi1' });
      expect(s?.failover).toEqual({ automatic: true, detectAfterMs: 2600, selfFenceAfterMs: 1500, selfFenceTeardownMs: 1000, holdDownMs: 60000, pollIntervalMs: 500 });
      expect(s?.fencing).toMatchObject({ method: 'ipmi', hosts: { xcp1: { address: '10.0.0.21', port: 623, password: 'p@ss word', interface: 'lanplus', cipherSuite: 3, privilege: 'OPERATOR' } } });
    });

    it("takes a failover delay of exactly DRBD's dead-peer bound plus the report's margin (1000 + 500 + 500 ms)", async () => {
      const file = await configFile(storage('      failover: {detectAfterMs: 2000, selfFenceAfterMs: 500, selfFenceTeardownMs: 500}\n      fencing: {method: ipmi, hosts: {xcp1: {address: a, user: u, passwordFile: xapi.pw}, xcp2: {address: b, user: u, passwordFile: xapi.pw}}}\n'));
      await writeFile(join(file, '..', 'chap.pw'), 'chap-secret\n');
      await writeFile(join(file, '..', 'xapi.pw'), 'p\n');
      expect((await loadControllerConfig(file)).pools[0]?.storage?.failover.detectAfterMs).toBe(2000);
    });

    it('takes fencing: self with a witness address and the default timers (3000 > 1500 + 1000)', async () => {
      const file = await configFile(storage('      fencing: {method: self}\n').replace('floatingIp: {', 'peerSafety: {witnessAddress: 10.0.0.1, witnessInterface: xenbr0}, floatingIp: {'));
      await writeFile(join(file, '..', 'chap.pw'), 'chap-secret\n');
      const s = (await loadControllerConfig(file)).pools[0]?.storage;
      expect(s?.fencing).toEqual({ method: 'self' });
      expect(s?.failover).toMatchObject({ detectAfterMs: 3000, selfFenceAfterMs: 1500, selfFenceTeardownMs: 1000 });
    });

    it.each([
      // 2000 + 1000 = 3000: the failover delay must be strictly longer than the self-fence due time plus its tear-down deadline.
      ['a failover delay equal to the self-fence bound', '      failover: {detectAfterMs: 3000, selfFenceAfterMs: 2000, selfFenceTeardownMs: 1000}\n      fencing: {method: ipmi, hosts: {xcp1: {address: a, user: u, passwordFile: xapi.pw}, xcp2: {address: b, user: u, passwordFile: xapi.pw}}}\n', /pools\[0\]\.storage\.failover\.detectAfterMs: must exceed failover\.selfFenceAfterMs \+ failover\.selfFenceTeardownMs \(2000 \+ 1000 ms/],
      // The defaults count: detectAfterMs 2500 <= 1500 (default) + 1000 (default).
      ['a failover delay under the default bound', '      failover: {detectAfterMs: 2500}\n      fencing: {method: ipmi, hosts: {xcp1: {address: a, user: u, passwordFile: xapi.pw}, xcp2: {address: b, user: u, passwordFile: xapi.pw}}}\n', /detectAfterMs: must exceed .*\(1500 \+ 1000 ms, defaults included\)/],
      ['fencing: self without a witness', '      fencing: {method: self}\n', /pools\[0\]\.storage\.spec\.peerSafety\.witnessAddress: required with fencing: self/],
      ['no fencing (self by default) without a witness', '', /pools\[0\]\.storage\.spec\.peerSafety\.witnessAddress: required with fencing: self \(the default\)/],
      // 1500 > 500 + 500, so only rule 3's bound refuses it: DRBD's ping-int 1 s + ping-timeout 0.5 s + 0.5 s for the report = 2000.
      ['a failover delay shorter than DRBD takes to see a dead master', '      failover: {detectAfterMs: 1500, selfFenceAfterMs: 500, selfFenceTeardownMs: 500}\n      fencing: {method: ipmi, hosts: {xcp1: {address: a, user: u, passwordFile: xapi.pw}, xcp2: {address: b, user: u, passwordFile: xapi.pw}}}\n', /pools\[0\]\.storage\.failover\.detectAfterMs: must be at least 2000 ms/],
      ['a tear-down budget out of range', '      failover: {selfFenceTeardownMs: 100}\n', /pools\[0\]\.storage\.failover\.selfFenceTeardownMs:/],
      ['an inline BMC password', '      fencing: {method: ipmi, hosts: {xcp1: {address: a, user: u, password: hunter2}}}\n', /passwordFile/],
      ['a host without a BMC', '      fencing: {method: ipmi, hosts: {xcp1: {address: a, user: u, passwordFile: xapi.pw}}}\n', /xcp2 is missing/],
      ['an unknown fencing method', '      fencing: {method: hope}\n', /method must be ipmi or self/],
      ['a misspelt timer (strict schema)', '      failover: {detectAfterMS: 2500}\n', /pools\[0\]\.storage\.failover\.detectAfterMS: unknown key/],
      ['a misspelt LUN key', '', /pools\[0\]\.storage\.spec\.target\.luns\[0\]\.scsiSN: unknown key/],
      ['an inline CHAP secret', '', /pools\[0\]\.storage\.spec\.target\.incomingUser\.password: unknown key/],
      ['a timer out of range', '      failover: {pollIntervalMs: 5}\n', /pools\[0\]\.storage\.failover\.pollIntervalMs:/],
    ])('rejects %s', async (name, extra, re) => {
      let text = storage(extra);
      if (name === 'a misspelt LUN key') text = text.replace('backingStore: /dev/drbd1}', 'backingStore: /dev/drbd1, scsiSN: X}');
      if (name === 'an inline CHAP secret') text = text.replace('passwordFile: chap.pw}', 'password: hunter2}');
      const file = await configFile(text);
      await writeFile(join(file, '..', 'chap.pw'), 'chap-secret\n');
      const err = (await loadControllerConfig(file).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toMatch(re);
      expect(err.message).not.toContain('hunter2');
    });

    // What the agent refuses in every heartbeat (agent/src/validate/validators.ts) is refused here,
    // naming the key: a master whose heartbeats all fail would fence itself.
    it.each([
      ['a replication address with an octet past 255', 'replicationAddress: 10.10.10.1,', 'replicationAddress: 10.10.10.256,', /pools\[0\]\.storage\.hosts\.xcp1\.replicationAddress: expected an IPv4 address/],
      ['a host name as the replication address', 'replicationAddress: 10.10.10.2,', 'replicationAddress: xcp2-repl,', /pools\[0\]\.storage\.hosts\.xcp2\.replicationAddress: expected an IPv4 address/],
      ['a replication interface of 16 characters', 'replicationInterface: xapi1, managementInterface: xenbr0}\n        xcp2', 'replicationInterface: xapi1234567890ab, managementInterface: xenbr0}\n        xcp2', /pools\[0\]\.storage\.hosts\.xcp1\.replicationInterface: expected a network interface name/],
      ['a management interface with a space', 'managementInterface: xenbr0}\n        xcp2', 'managementInterface: "xen br0"}\n        xcp2', /pools\[0\]\.storage\.hosts\.xcp1\.managementInterface: expected a network interface name/],
      ['a floating IP with a prefix in the address', 'floatingIp: {address: 10.10.10.3,', 'floatingIp: {address: 10.10.10.3/24,', /pools\[0\]\.storage\.spec\.floatingIp\.address: expected an IPv4 address/],
      ['a floating IP interface with a slash', 'prefixLength: 24, interface: xapi1}', 'prefixLength: 24, interface: xapi/1}', /pools\[0\]\.storage\.spec\.floatingIp\.interface: expected a network interface name/],
      ['a witness address that is a name', 'floatingIp: {', 'peerSafety: {witnessAddress: gateway, witnessInterface: xenbr0}, floatingIp: {', /pools\[0\]\.storage\.spec\.peerSafety\.witnessAddress: expected an IPv4 address/],
    ])('rejects %s', async (_name, from, to, re) => {
      const text = storage('      fencing: {method: ipmi, hosts: {xcp1: {address: a, user: u, passwordFile: xapi.pw}, xcp2: {address: b, user: u, passwordFile: xapi.pw}}}\n');
      expect(text).toContain(from);
      const file = await configFile(text.replace(from, to));
      await writeFile(join(file, '..', 'chap.pw'), 'chap-secret\n');
      const err = (await loadControllerConfig(file).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toMatch(re);
    });
  });

  it.each([
    ['a misspelt pool key', 'tls: {ca: a, cert: b, key: c}\npools:\n  - {name: p, xapi: {url: "https://x", pasword: y, password: z}}\n', 'pools[0].xapi.pasword: unknown key'],
    ['an unknown top-level key', 'tls: {ca: a, cert: b, key: c}\nlisten_on: 1.2.3.4:5\npools:\n  - {name: p, xapi: {url: "https://x", password: y}}\n', 'listen_on: unknown key'],
    ['an unknown http key', 'tls: {ca: a, cert: b, key: c}\nhttp: {listen: "127.0.0.1:8443", port: 8443}\npools:\n  - {name: p, xapi: {url: "https://x", password: y}}\n', 'http.port: unknown key'],
    ['an unknown key in the second pool', 'tls: {ca: a, cert: b, key: c}\npools:\n  - {name: p, xapi: {url: "https://x", password: y}}\n  - {name: q, agentport: 1, xapi: {url: "https://x", password: y}}\n', 'pools[1].agentport: unknown key'],
    ['a wrongly typed value', 'tls: {ca: a, cert: b, key: c}\nwatch: {agentProbeSeconds: "often"}\npools:\n  - {name: p, xapi: {url: "https://x", password: y}}\n', 'watch.agentProbeSeconds:'],
  ])('names the path of %s', async (_name, text, expected) => {
    const err = (await loadControllerConfig(await configFile(text)).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(expected);
  });

  it('fills defaults for the sections it owns', async () => {
    const c = await loadControllerConfig(await configFile('tls: {ca: a, cert: b, key: c}\npools:\n  - {name: p, xapi: {url: "https://x", password: y}}\n'));
    expect(c.http).toEqual({ listen: null, sessionMinutes: 60 });
    expect(c.watch).toEqual({ xapiEvents: true, agentProbeSeconds: 30 });
    expect(c.logLevel).toBe('info');
  });
});
