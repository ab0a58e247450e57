import { readdir } from 'node:fs/promises';
import type { PrecheckEditedFile } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { entryMap, deviceSections, findSections, parseMultipathConf, ConfSyntaxError } from '../multipath/multipath-conf.js';
import { readOptional, type PrecheckContext } from './precheck-context.js';

/**
 * The files the seeds' procedures edit by hand, which an upgrade, a reinstall or an eject/rejoin
 * does not carry over: multipath.conf (euroNAS, StarWind step 46, the MD36xx ALUA entry) and its
 * conf.d, iscsid.conf (StarWind step 42), lvm.conf (the how-to's filter and write_cache_state),
 * drbd.conf and /etc/tgt/targets.conf (the how-to's step 7), /etc/sysconfig/iptables (the how-to's
 * step 2). `customised` is set only where a stock dom0 cannot have the setting (DRBD resources,
 * iSCSI targets, a drop-in, a filter rejecting drbd, write_cache_state 0, a source-restricted
 * ACCEPT); multipath.conf and iscsid.conf are listed for comparison, since their stock content
 * varies by release.
 */
export const editedConfigPaths = ['/etc/multipath.conf', '/etc/multipath/conf.d', '/etc/iscsi/iscsid.conf', '/etc/lvm/lvm.conf', '/etc/drbd.conf', '/etc/tgt/targets.conf', '/etc/sysconfig/iptables'] as const;

const active = (text: string, comment = /^\s*[#;]/): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !comment.test(l));

/** iscsid.conf keys whose values are secrets (CHAP). */
const secretKey = /password|secret/i;

function multipathFile(path: string, text: string, dropIn: boolean): PrecheckEditedFile {
  try {
    const doc = parseMultipathConf(text);
    const devices = deviceSections(doc).map((s) => {
      const e = entryMap(doc, s);
      return `device ${e.get('vendor') ?? '?'}/${e.get('product') ?? '(no product)'}`;
    });
    const blacklist = findSections(doc, 'blacklist').flatMap((s) => [...entryMap(doc, s)].filter(([k]) => k === 'devnode' || k === 'wwid').map(([k, v]) => `blacklist ${k} ${v}`));
    return {
      path,
      customised: dropIn,
      why: dropIn ? 'a drop-in: not part of a stock dom0' : 'device entries and blacklist: compare with the stock file of the release you install (vendor stanzas are added here by hand)',
      lines: [...devices, ...blacklist],
    };
  } catch (err) {
    if (!(err instanceof ConfSyntaxError)) throw err;
    return { path, customised: true, why: `not a valid multipath.conf (${err.message}): edited by hand`, lines: [] };
  }
}

function lvmFile(path: string, text: string): PrecheckEditedFile {
  const lines = active(text).filter((l) => /^(global_)?filter\s*=|^write_cache_state\s*=/.test(l));
  const rejectsDrbd = lines.some((l) => /filter\s*=.*r\|[^|]*drbd/.test(l));
  const noCache = lines.some((l) => /^write_cache_state\s*=\s*0\b/.test(l));
  return {
    path,
    customised: rejectsDrbd || noCache,
    why: rejectsDrbd || noCache ? "the how-to's edit: a filter rejecting drbd devices and their backing disk, write_cache_state 0" : 'filter and write_cache_state as found',
    lines,
  };
}

function drbdFile(path: string, text: string): PrecheckEditedFile {
  const lines = active(text).filter((l) => /^(resource\s+\S+|include\s+\S+)/.test(l));
  return { path, customised: lines.length > 0, why: lines.length > 0 ? 'DRBD resources: not part of a stock dom0' : 'no resources', lines };
}

function targetsFile(path: string, text: string): PrecheckEditedFile {
  const lines = active(text).filter((l) => /^<target\s|^backing-store\s|^scsi_(id|sn)\s|^lun\s|^initiator-address\s/.test(l));
  const targets = lines.some((l) => l.startsWith('<target'));
  return { path, customised: targets, why: targets ? 'iSCSI targets with their SCSI identity: not part of a stock dom0' : 'no targets', lines };
}

function iptablesFile(path: string, text: string): PrecheckEditedFile {
  const rules = active(text).filter((l) => l.startsWith('-A '));
  // The how-to's rule is a source-restricted ACCEPT (-s 10.10.10.0/24); iSCSI is port 3260.
  const added = rules.filter((l) => /\s-s\s/.test(l) || /--dport\s+3260\b/.test(l));
  return {
    path,
    customised: added.length > 0,
    why: added.length > 0 ? `${added.length} rule(s) for the replication/iSCSI network (the how-to's step 2); xsctl re-applies its own rules at boot` : 'every rule, for comparison with the stock file',
    lines: rules,
  };
}

function iscsidFile(path: string, text: string): PrecheckEditedFile {
  const lines = active(text).map((l) => {
    const m = /^([^=\s]+)\s*=\s*(.*)$/.exec(l);
    return m !== null && secretKey.test(m[1] ?? '') ? `${m[1]} = [redacted]` : l;
  });
  return { path, customised: false, why: 'active settings: compare with the stock file (StarWind step 42 edits it; CHAP secrets redacted)', lines };
}

/** Every one of the files that exists, with what to carry over. */
export async function editedConfigFiles(ctx: PrecheckContext): Promise<PrecheckEditedFile[]> {
  const read = (p: string) => readOptional(ctx.root.resolve(p), ctx.signal);
  const out: PrecheckEditedFile[] = [];
  const mp = await read('/etc/multipath.conf');
  if (mp !== null) out.push(multipathFile('/etc/multipath.conf', mp, false));
  const dropIns = (await readdir(ctx.root.resolve('/etc/multipath/conf.d')).catch(() => [] as string[])).filter((n) => n.includes('.conf')).sort();
  for (const name of dropIns) {
    const text = await read(`/etc/multipath/conf.d/${name}`);
    if (text !== null) out.push(multipathFile(`/etc/multipath/conf.d/${name}`, text, true));
  }
  const files: [string, (path: string, text: string) => PrecheckEditedFile][] = [
    ['/etc/iscsi/iscsid.conf', iscsidFile],
    ['/etc/lvm/lvm.conf', lvmFile],
    ['/etc/drbd.conf', drbdFile],
    ['/etc/tgt/targets.conf', targetsFile],
    ['/etc/sysconfig/iptables', iptablesFile],
  ];
  for (const [path, judge] of files) {
    const text = await read(path);
    if (text !== null) out.push(judge(path, text));
  }
  return out;
}
