import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '@xsctl/common/errors/index';
import type { TargetSpec } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import { renderTargetsConf } from './render-targets-conf.js';
import { normalizeTargetSpec, normalizeTargetSpecs } from './target-spec.js';

const howtoTarget: TargetSpec = {
  tid: 1,
  iqn: 'iqn.2013-05.com.yourdomain:yourhost',
  luns: [{ lun: 10, backingStore: '/dev/drbd1', scsiId: '0000000000', scsiSn: '0000000001', vendorId: 'XSCTL', productId: 'DRBD-HA-LUN', bsType: '' }],
  initiatorAddresses: ['10.10.10.0/24'],
  initiatorNames: [],
  incomingUser: { user: 'xsinit', password: 'Xs-CHAP-secret-42' },
};

const fieldOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.field;
    throw err;
  }
  return '(accepted)';
};

describe('renderTargetsConf', () => {
  it("carries the how-to's target with a fixed identity in a backing-store block, tid pinned", async () => {
    const howto = await readFile(new URL('./__fixtures__/howto-targets.conf', import.meta.url), 'utf8');
    const text = renderTargetsConf([normalizeTargetSpec(howtoTarget)], { redactSecrets: false });
    expect(text).toContain('default-driver iscsi\n');
    expect(text).toContain('<target iqn.2013-05.com.yourdomain:yourhost>\n    controller_tid 1\n    <backing-store /dev/drbd1>\n        lun 10\n        bs-type rdwr\n');
    // Every setting of the how-to's target is there, with the same values.
    for (const [key, value] of [...howto.matchAll(/^\s*(backing-store|scsi_id|scsi_sn|lun)\s+(\S+)\s*$/gm)].map((m) => [m[1], m[2]])) {
      expect(text).toMatch(new RegExp(`^\\s*<?${key}\\s+${value}>?$`, 'm'));
    }
    expect(text).toContain('        vendor_id XSCTL\n        product_id DRBD-HA-LUN\n');
    expect(text).toContain('    initiator-address 10.10.10.0/24\n');
    expect(text).toContain('    incominguser xsinit Xs-CHAP-secret-42\n');
  });

  it('replaces the CHAP secret for review output', () => {
    const text = renderTargetsConf([normalizeTargetSpec(howtoTarget)], { redactSecrets: true });
    expect(text).not.toContain('Xs-CHAP-secret-42');
    expect(text).toContain('    incominguser xsinit [redacted]\n');
  });

  it.each([
    ['a scsi_id with a comma (it would split tgtadm --params)', { luns: [{ ...howtoTarget.luns[0]!, scsiId: 'A,B' }] }, 'target.luns[0].scsiId'],
    ['a 25-character scsi_id', { luns: [{ ...howtoTarget.luns[0]!, scsiId: 'X'.repeat(25) }] }, 'target.luns[0].scsiId'],
    ['a 9-character vendor', { luns: [{ ...howtoTarget.luns[0]!, vendorId: 'VENDOR123' }] }, 'target.luns[0].vendorId'],
    ['an empty serial (tgtd would make one up per host)', { luns: [{ ...howtoTarget.luns[0]!, scsiSn: '' }] }, 'target.luns[0].scsiSn'],
    ['LUN 0 (the controller)', { luns: [{ ...howtoTarget.luns[0]!, lun: 0 }] }, 'target.luns[0].lun'],
    ['a backing store outside /dev', { luns: [{ ...howtoTarget.luns[0]!, backingStore: '/etc/shadow' }] }, 'target.luns[0].backingStore'],
    ['an upper-case IQN', { iqn: 'iqn.2013-05.com.Example:x' }, 'target.iqn'],
    ['no initiator ACL', { initiatorAddresses: [] }, 'target.initiatorAddresses'],
    ['a bad CIDR', { initiatorAddresses: ['10.10.10.0/33'] }, 'target.initiatorAddresses[0]'],
    ['a short CHAP secret', { incomingUser: { user: 'xsinit', password: 'short' } }, 'target.incomingUser.password'],
  ])('refuses %s', (_what, patch, field) => {
    expect(fieldOf(() => normalizeTargetSpec({ ...howtoTarget, ...patch }))).toBe(field);
  });

  it('refuses a targets.conf target restricted by initiator name alone (tgt-admin would bind ALL addresses)', () => {
    const byName = { ...howtoTarget, initiatorAddresses: [], initiatorNames: ['iqn.1994-05.com.redhat:xs1'] };
    expect(fieldOf(() => normalizeTargetSpec(byName))).toBe('(accepted)');
    expect(fieldOf(() => normalizeTargetSpecs([byName]))).toBe('targets[0].initiatorAddresses');
  });

  it('refuses duplicate tids and IQNs across targets', () => {
    expect(fieldOf(() => normalizeTargetSpecs([howtoTarget, { ...howtoTarget, iqn: 'iqn.2013-05.com.yourdomain:other' }]))).toBe('targets');
    expect(fieldOf(() => normalizeTargetSpecs([howtoTarget, { ...howtoTarget, tid: 2 }]))).toBe('targets');
  });

  it('refuses one CHAP user with two secrets across targets: tgt-admin creates the account once, the second secret would be lost (found by the fuzz campaign)', () => {
    const second = { ...howtoTarget, tid: 2, iqn: 'iqn.2013-05.com.yourdomain:other' };
    const other = { ...second, incomingUser: { user: 'xsinit', password: 'Another-secret-43' } };
    let refusal: unknown;
    try {
      normalizeTargetSpecs([howtoTarget, other]);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(ValidationError);
    expect((refusal as ValidationError).field).toBe('targets[1].incomingUser.password');
    // Neither secret is repeated in the refusal.
    expect((refusal as Error).message).not.toMatch(/Xs-CHAP-secret-42|Another-secret-43/);
    // The same user with the same secret, or another user, is one account each: accepted.
    expect(normalizeTargetSpecs([howtoTarget, second])).toHaveLength(2);
    expect(normalizeTargetSpecs([howtoTarget, { ...other, incomingUser: { user: 'xsother', password: 'Another-secret-43' } }])).toHaveLength(2);
  });
});
