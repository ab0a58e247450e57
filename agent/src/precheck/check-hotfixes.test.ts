import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PrecheckSeverity } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { SandboxRoot } from '../fs/sandbox-root.js';
import { checkHotfixes } from './check-hotfixes.js';
import { AppliedUpdateParseError, parseAppliedUpdate } from './parse-applied-update.js';
import type { PrecheckContext } from './precheck-context.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

// The update.xml format XAPI parses into /var/update/applied/<uuid> (xapi pool_update.ml,
// parse_update_info): root <update>, attributes name-label, uuid, key, version,
// after-apply-guidance (comma separated), guidance-mandatory, enforce-homogeneity,
// installation-size; a <name-description> child. The example is the one in XAPI's own comment.
const xapiDocExample = `<update
        name-label="XS70E002" uuid="12acfd0a-0246-4fa7-ba00-2d0e474b3650"
        key="test@dev.null.com"
        after-apply-guidance="" guidance-mandatory="false">
        <name-description>Hotfix description</name-description>
      </update>
`;

function updateXml(o: { label: string; uuid: string; guidance?: string; description?: string }): string {
  return `<?xml version="1.0" ?>
<update after-apply-guidance="${o.guidance ?? ''}" enforce-homogeneity="true" guidance-mandatory="false" installation-size="104857600" key="RPM-GPG-KEY-Platform-V1" name-label="${o.label}" uuid="${o.uuid}" version="1.0">
  <name-description>${o.description ?? 'Public Availability: fixes to XAPI &amp; toolstack'}</name-description>
</update>
`;
}

// Before 7.0, /var/patch/applied/<uuid> holds the patch's `info` output (xapi_pool_patch.ml):
// <info uuid version name-label name-description after-apply-guidance (space separated)/>.
const legacyPatch = `<info uuid="0850b186-4d47-11e3-a720-001b2151a503" version="1.0" name-label="XS62ESP1" name-description="XenServer 6.2 SP1" after-apply-guidance="restartHost"/>`;

describe('parseAppliedUpdate', () => {
  it('reads the example from XAPI\'s own source', () => {
    expect(parseAppliedUpdate(xapiDocExample)).toEqual({
      format: 'update',
      uuid: '12acfd0a-0246-4fa7-ba00-2d0e474b3650',
      nameLabel: 'XS70E002',
      nameDescription: 'Hotfix description',
      afterApplyGuidance: [],
      key: 'test@dev.null.com',
      installationSize: 0,
    });
  });

  it('splits 7.x guidance on commas, 6.x guidance on spaces, and decodes entities', () => {
    const u = parseAppliedUpdate(updateXml({ label: 'XS71E001', uuid: 'bd2e3a56-1e8c-4c8a-8d5b-3c2a5b6f7e01', guidance: 'restartHost,restartXAPI' }));
    expect(u.afterApplyGuidance).toEqual(['restartHost', 'restartXAPI']);
    expect(u.nameDescription).toBe('Public Availability: fixes to XAPI & toolstack');
    expect(u.installationSize).toBe(104857600);
    const p = parseAppliedUpdate(legacyPatch);
    expect(p).toMatchObject({ format: 'patch', nameLabel: 'XS62ESP1', nameDescription: 'XenServer 6.2 SP1', afterApplyGuidance: ['restartHost'] });
  });

  it('refuses what XAPI would refuse', () => {
    expect(() => parseAppliedUpdate('<update uuid="12acfd0a-0246-4fa7-ba00-2d0e474b3650"/>')).toThrow(AppliedUpdateParseError);
    expect(() => parseAppliedUpdate('<update name-label="X" uuid="nope"/>')).toThrow(/uuid/);
    expect(() => parseAppliedUpdate('<patch name-label="X" uuid="12acfd0a-0246-4fa7-ba00-2d0e474b3650"/>')).toThrow(/root element/);
    expect(() => parseAppliedUpdate('not xml')).toThrow(AppliedUpdateParseError);
  });
});

describe('hotfixes check', () => {
  async function host(): Promise<PrecheckContext> {
    const root = new SandboxRoot(await tempDir('xsctl-hotfix-'));
    return { root, runner: undefined as never, stateDir: '/var/lib/xsctl-agent', now: () => new Date(), live: false };
  }

  it('lists the applied hotfixes with their UUIDs, guidance and apply time', async () => {
    const ctx = await host();
    const dir = join(ctx.root.root, 'var/update/applied');
    await mkdir(dir, { recursive: true });
    const a = 'bd2e3a56-1e8c-4c8a-8d5b-3c2a5b6f7e01';
    const b = '0f5c7d3e-9a41-4b7e-8c2f-6d1e2a3b4c5d';
    await writeFile(join(dir, b), updateXml({ label: 'XS71E002', uuid: b, guidance: 'restartXAPI' }));
    await writeFile(join(dir, a), updateXml({ label: 'XS71E001', uuid: a, guidance: 'restartHost' }));
    await utimes(join(dir, a), new Date('2017-03-01T10:00:00Z'), new Date('2017-03-01T10:00:00Z'));
    await writeFile(join(dir, 'README'), 'not a record');
    await mkdir(join(ctx.root.root, 'var/patch/applied'), { recursive: true });
    await writeFile(join(ctx.root.root, 'var/patch/applied/0850b186-4d47-11e3-a720-001b2151a503'), legacyPatch);

    const f = await checkHotfixes(ctx);
    expect(f.id).toBe('hotfixes');
    const d = f.details?.$case === 'hotfixes' ? f.details.value : undefined;
    expect(d?.hotfixes.map((h) => [h.nameLabel, h.uuid, h.legacy])).toEqual([
      ['XS62ESP1', '0850b186-4d47-11e3-a720-001b2151a503', true],
      ['XS71E001', a, false],
      ['XS71E002', b, false],
    ]);
    expect(d?.hotfixes[1]).toMatchObject({ afterApplyGuidance: ['restartHost'], file: `/var/update/applied/${a}`, appliedAt: '2017-03-01T10:00:00.000Z' });
    expect(d?.ignored).toEqual(['/var/update/applied/README: not a UUID-named record']);
    expect(f.evidence).toContain(`XS71E001 ${a} (restartHost)`);
    expect(f.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_INFO);
  });

  it('warns about a UUID-named record XAPI cannot read', async () => {
    const ctx = await host();
    const dir = join(ctx.root.root, 'var/update/applied');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, '12acfd0a-0246-4fa7-ba00-2d0e474b3650'), '<update name-label="XS70E002"/>');
    const f = await checkHotfixes(ctx);
    expect(f.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_WARNING);
    expect(f.evidence.join('\n')).toMatch(/ignored \/var\/update\/applied\/12acfd0a-.*uuid/);
  });

  it('reports a host without the directory as having no hotfixes', async () => {
    const f = await checkHotfixes(await host());
    expect(f.summary).toMatch(/no hotfixes applied/);
    expect(f.details?.$case === 'hotfixes' && f.details.value.hotfixes).toEqual([]);
  });
});
