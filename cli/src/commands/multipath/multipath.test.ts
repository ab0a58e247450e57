import { describe, expect, it } from 'vitest';
import { MultipathLayout } from '@xsctl/proto/gen/xsctl/agent/v1/multipath';
import { CliError } from '../../output/cli-error.js';
import { renderVerdict } from '../scsi/scsi.js';
import { renderApply, renderOfflineProfiles, renderProfiles, targetOf } from './multipath.js';

const platform = { productBrand: 'XenServer', productVersion: '7.1.0', flavor: 'xs7-0.4.9', flavorLabel: 'XenServer 7.x', multipathVersion: '0.4.9', layout: MultipathLayout.MULTIPATH_LAYOUT_MAIN_FILE, initSystem: 'systemd' };

describe('xsctl multipath / scsi output', () => {
  it('needs --host or --pool', () => {
    expect(() => targetOf({})).toThrow(CliError);
    expect(targetOf({ pool: 'lab' })).toEqual({ host: '', pool: 'lab' });
  });

  it('prints the diff of a dry run, and what happened on a write', () => {
    const base = { platform, targetPath: '/etc/multipath.conf', backupPath: '', validation: undefined, reconfigured: false, reconfigureDetail: '', notes: [], warnings: [], stanza: [] };
    const dry = renderApply('xs1', { ...base, changed: true, dryRun: true, diff: '--- a\n+++ b\n@@ -1,0 +1,1 @@\n+x\n' });
    expect(dry).toContain('dry run (nothing written; --yes applies):\n--- a\n+++ b');
    expect(dry).not.toContain('multipath -t');
    const checked = renderApply('xs1', { ...base, changed: true, dryRun: true, diff: '+x\n', validation: { ok: true, issues: ['line 5, invalid keyword: replace_wwid_whitespace'], newIssues: [], mode: 'namespace' } });
    expect(checked).toContain('+x\n   multipath -t (namespace) on the candidate: ok (1 known issues, none new)\n');
    const done = renderApply('xs1', {
      ...base,
      changed: true,
      dryRun: false,
      diff: '',
      backupPath: '/var/lib/xsctl-agent/backups/multipath/multipath.conf.1',
      validation: { ok: true, issues: [], newIssues: [], mode: 'direct' },
      reconfigured: true,
      notes: [{ key: 'getuid_callout', action: 'dropped', message: 'not read' }],
    });
    expect(done).toContain('old file kept in /var/lib/xsctl-agent/backups/multipath/multipath.conf.1');
    expect(done).toContain('multipath -t (direct): ok');
    expect(done).toContain('note: getuid_callout dropped: not read');
    expect(renderApply('xs1', { ...base, changed: false, dryRun: false, diff: '' })).toContain('no change');
  });

  it('marks the StarWind, HP P4000 and NetApp profiles UNVERIFIED, with the reason, offline and per host', () => {
    const text = renderOfflineProfiles();
    for (const name of ['starwind', 'hp-p4000', 'netapp']) expect(text).toMatch(new RegExp(`^${name} .*UNVERIFIED`, 'm'));
    expect(text).toMatch(/^euronas-essm .* yes /m);
    expect(text).toContain('Unverified profiles (values not traceable to a vendor document):');
    expect(text).toMatch(/^ {2}starwind: UNVERIFIED: the StarWind guide shows its step 46 block only as a screenshot/m);
    const one = { name: 'netapp', title: 'NetApp', source: '', vendor: 'NETAPP', product: 'LUN', pathStates: 'alua', suitsMinVersion: '0.4.7', suitsMaxVersion: '0.4.7', shipped: [], translated: [], notes: [], suitsHost: false };
    const host = renderProfiles([
      { ...one, verified: false, verification: 'UNVERIFIED: not checked' },
      { ...one, name: 'emc-dgc', verified: true, verification: 'CTX132976' },
    ]);
    expect(host).toMatch(/^netapp .*UNVERIFIED/m);
    expect(host).toContain('  netapp: UNVERIFIED: not checked');
    expect(host).not.toContain('emc-dgc: CTX132976');
  });

  it('prints a LUN verdict with its problems and evidence', () => {
    const text = renderVerdict({
      name: 'mpathg',
      wwid: '36f01faf000da360b0000033c528fea6d',
      vendor: 'DELL',
      product: 'MD36xxi',
      mode: 'IOSHIP',
      aluaInUse: true,
      tpgs: 0,
      optimizedPaths: ['sdc'],
      nonOptimizedPaths: ['sdf'],
      groupsMatch: false,
      problems: ['every path group has prio 0'],
      evidence: ['INQUIRY TPGS=0 (no ALUA reported)'],
      map: undefined,
      paths: [],
    });
    expect(text).toContain('mode: IOSHIP  ALUA in use: yes  TPGS: 0  groups follow ALUA: NO');
    expect(text).toContain('problem: every path group has prio 0');
  });
});
