import { createHash } from 'node:crypto';
import { cp, lstat, mkdir, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makeHostRoot } from '../demo/make-host-root.js';

/** One entry of a tree snapshot: what changed is told by comparing these. */
export interface Entry {
  type: 'file' | 'dir' | 'link' | 'other';
  mode: number;
  /** sha256 of a file's content, a link's target. */
  content: string;
}

export type Snapshot = Map<string, Entry>;

/** Every path under `dir` (relative, `/`-rooted), without following links. */
export async function snapshotTree(dir: string): Promise<Snapshot> {
  const out: Snapshot = new Map();
  const walk = async (abs: string, rel: string): Promise<void> => {
    const st = await lstat(abs).catch(() => null);
    if (st === null) return;
    if (st.isSymbolicLink()) {
      out.set(rel, { type: 'link', mode: 0, content: await readlink(abs) });
    } else if (st.isDirectory()) {
      out.set(rel, { type: 'dir', mode: st.mode & 0o7777, content: '' });
      for (const name of (await readdir(abs)).sort()) await walk(join(abs, name), rel === '/' ? `/${name}` : `${rel}/${name}`);
    } else if (st.isFile()) {
      out.set(rel, { type: 'file', mode: st.mode & 0o7777, content: createHash('sha256').update(await readFile(abs)).digest('hex') });
    } else {
      out.set(rel, { type: 'other', mode: st.mode & 0o7777, content: '' });
    }
  };
  await walk(dir, '/');
  return out;
}

/** Paths added, removed or changed between two snapshots. */
export function diffTrees(before: Snapshot, after: Snapshot): string[] {
  const changed: string[] = [];
  for (const [p, e] of after) {
    const b = before.get(p);
    if (b === undefined || b.type !== e.type || b.content !== e.content || b.mode !== e.mode) changed.push(p);
  }
  for (const p of before.keys()) if (!after.has(p)) changed.push(p);
  return changed.sort();
}

export const stateDir = '/var/lib/xsctl-agent';

/**
 * Host paths the agent writes (and the symlink traps planted on them in the trapped sandbox).
 * Each trap is a link from inside the root to a file in the `outside` directory beside it: an
 * agent that follows one writes outside its root, which the outside snapshot shows.
 */
export const trapPaths = [
  '/etc/tgt/targets.conf',
  '/etc/drbd.conf',
  '/etc/lvm/lvm.conf',
  '/etc/multipath.conf',
  '/etc/sysconfig/iptables',
  '/etc/xsctl/storage.yaml',
  '/etc/xsctl/chap-secret',
  `${stateDir}/trust/crl.pem`,
  `${stateDir}/tgtd.0.pid`,
  `${stateDir}/tgtd.0.identity`,
  `${stateDir}/tgtd.3260.pid`,
  `${stateDir}/tgtd.3260.identity`,
];

/** Directories trapped whole: a link to a directory outside (a drop-in dir, the blob tree, backups). */
export const trapDirs = ['/etc/multipath/conf.d', `${stateDir}/backups`, `${stateDir}/intents`];

const multipathConf = `defaults {
\tuser_friendly_names no
\tfind_multipaths yes
}
blacklist {
\tdevnode "^(ram|raw|loop|fd|md|dm-|sr|scd|st)[0-9]*"
}
`;

const lvmConf = `devices {
\tdir = "/dev"
\tscan = [ "/dev" ]
\tfilter = [ "a/.*/" ]
}
global {
\tlocking_type = 1
\tuse_lvmetad = 0
}
`;

/**
 * A dom0 tree for the fuzzed agent: the files the demo's hosts have, the configs the agent edits
 * (multipath, lvm, drbd, tgt, iptables) and a blobs tree with a few old messages. With `traps`,
 * every file and directory the agent writes is a symlink leaving the root.
 */
export async function buildSandbox(root: string, outside: string, traps: boolean): Promise<void> {
  await makeHostRoot(root, {
    hostname: 'xs-demo-1',
    productBrand: 'XenServer',
    productVersion: '7.1.0',
    buildNumber: '137272c',
    installationUuid: '7a9c2f4e-5b1d-4b7e-9c3a-1d2e3f4a5b6c',
    controlDomainUuid: '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
    poolConf: 'master',
    uptimeSeconds: 7217,
  });
  const files: Record<string, string> = {
    '/etc/multipath.conf': multipathConf,
    '/etc/lvm/lvm.conf': lvmConf,
    '/etc/drbd.conf': '# drbd-utils default: no resources yet\nglobal { usage-count no; }\n',
    '/etc/tgt/targets.conf': 'default-driver iscsi\n',
    '/etc/sysconfig/iptables': '*filter\n:INPUT ACCEPT [0:0]\n:RH-Firewall-1-INPUT - [0:0]\n-A INPUT -j RH-Firewall-1-INPUT\n-A RH-Firewall-1-INPUT -j REJECT --reject-with icmp-host-prohibited\nCOMMIT\n',
    '/proc/mounts': '/dev/sda1 / ext3 rw,relatime 0 0\n',
    '/var/lib/xcp/blobs/messages/1a2b/blob': 'old message\n',
    '/var/lib/xcp/blobs/messages/3c4d/blob': 'older message\n',
  };
  for (const [p, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, p)), { recursive: true });
    await writeFile(join(root, p), text);
  }
  await mkdir(join(root, '/etc/multipath/conf.d'), { recursive: true });
  await mkdir(join(root, '/etc/xsctl'), { recursive: true });
  await mkdir(join(root, stateDir, 'trust'), { recursive: true });
  await mkdir(outside, { recursive: true });
  await writeFile(join(outside, 'victim'), 'must never change\n');
  if (!traps) return;
  for (const p of trapPaths) {
    const target = join(outside, p.replace(/\//g, '_'));
    // The real file's content where there is one: a writer that reads before it writes (the
    // iptables ruleset) must not be stopped only by a target it cannot parse.
    await writeFile(target, files[p] ?? 'outside the root: must never change\n');
    await rm(join(root, p), { force: true });
    await mkdir(dirname(join(root, p)), { recursive: true });
    await symlink(target, join(root, p));
  }
  for (const d of trapDirs) {
    const target = join(outside, `dir${d.replace(/\//g, '_')}`);
    await mkdir(target, { recursive: true });
    await writeFile(join(target, 'victim.conf'), 'outside the root: must never change\n');
    await rm(join(root, d), { recursive: true, force: true });
    await mkdir(dirname(join(root, d)), { recursive: true });
    await symlink(target, join(root, d));
  }
}

/** A sandbox that is put back to its first state after a request changed it. */
export class ResettableSandbox {
  constructor(
    readonly root: string,
    readonly outside: string,
    private readonly template: string,
    private readonly templateOutside: string,
  ) {}

  static async create(dir: string, name: string, traps: boolean): Promise<ResettableSandbox> {
    const s = new ResettableSandbox(join(dir, name, 'root'), join(dir, name, 'outside'), join(dir, name, 'template-root'), join(dir, name, 'template-outside'));
    // Built in place (the traps' absolute targets are the live outside directory), then kept as the template.
    await buildSandbox(s.root, s.outside, traps);
    await cp(s.root, s.template, { recursive: true, verbatimSymlinks: true });
    await cp(s.outside, s.templateOutside, { recursive: true, verbatimSymlinks: true });
    return s;
  }

  /** Copies the template back (links copied as links, so the traps keep pointing outside). */
  async reset(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
    await rm(this.outside, { recursive: true, force: true });
    await cp(this.template, this.root, { recursive: true, verbatimSymlinks: true });
    await cp(this.templateOutside, this.outside, { recursive: true, verbatimSymlinks: true });
  }
}
