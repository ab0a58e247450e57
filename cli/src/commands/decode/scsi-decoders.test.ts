import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../output/cli-error.js';
import { getDecoder } from './decoder-table.js';
import './decoders.js';

const fixture = (name: string) => readFileSync(new URL(`../../../../agent/src/scsi/__fixtures__/${name}`, import.meta.url), 'utf8');
const decode = (format: string, input: string) => {
  const d = getDecoder(format);
  if (d === undefined) throw new Error(`no decoder ${format}`);
  return d.decode(input) as Record<string, unknown>;
};

describe('xsctl decode sg-rtpg / rtpg-raw / vpd-83 / vpd-c9 / inquiry', () => {
  it('sg-rtpg and rtpg-raw give the same groups for the SCST capture', () => {
    const text = decode('sg-rtpg', fixture('sg_rtpg-two-groups.txt'));
    const raw = decode('rtpg-raw', '00000018 00cf0001 00020001 00000001 01cf0002 00020001 00000002');
    const pick = (r: Record<string, unknown>) =>
      (r['groups'] as Record<string, unknown>[]).map((g) => ({ id: g['id'], preferred: g['preferred'], state: g['state'], stateCode: g['stateCode'], statusCode: g['statusCode'], relativePorts: g['relativePorts'] }));
    expect(pick(text)).toEqual([
      { id: 1, preferred: false, state: 'active/optimized', stateCode: 0, statusCode: 2, relativePorts: [1] },
      { id: 2, preferred: false, state: 'active/non-optimized', stateCode: 1, statusCode: 2, relativePorts: [2] },
    ]);
    expect(pick(raw)).toEqual(pick(text));
  });

  it('vpd-83: the documented fields, absent ones null', () => {
    const v = decode('vpd-83', fixture('vpd83-infinidat.hex'));
    expect(v).toMatchObject({ t10Vendor: null, naa: '6000402001f45eb566d41cd100000000', relativeTargetPort: 1, targetPortGroup: 1, scsiName: null });
    expect((v['designators'] as object[])[0]).toMatchObject({ association: 'logical-unit', type: 'naa', codeSet: 'binary', value: '6000402001f45eb566d41cd100000000' });
  });

  it('vpd-83: a pasted T10 vendor identification keeps its two parts (8-byte vendor id, vendor specific)', () => {
    // sg_vpd 1.63 text for a NetApp-style T10 designator (the vendor id keeps its blank padding).
    const text = 'Device Identification VPD page:\n  Addressed logical unit:\n    designator type: T10 vendor identification,  code set: ASCII\n      vendor id: NETAPP  \n      vendor specific: LUN C4bHn$Eq5mLs\n';
    expect(decode('vpd-83', text)).toMatchObject({ t10Vendor: { vendorId: 'NETAPP', vendorSpecific: 'LUN C4bHn$Eq5mLs' } });
    const d = getDecoder('vpd-83');
    expect(d?.render?.(decode('vpd-83', text))).toContain('t10 vendor id="NETAPP" vendor specific="LUN C4bHn$Eq5mLs"');
  });

  it('vpd-c9: the MD3600i dump (sg_vpd --hex with its header and prompt) and the bit-5-only divergence', () => {
    expect(decode('vpd-c9', fixture('sg_vpd-c9-hex-md3600i-blog.txt'))).toMatchObject({ mode: 'IOSHIP', owned: true, preferred: true, avteCvp: 0xf1 });
    expect(decode('vpd-c9', '00 c9 00 2c 76 61 63 31 21 00')).toMatchObject({ mode: 'IOSHIP', owned: true, preferred: false, avteCvp: 0x21, sgVpdMode: 'RDAC', divergent: true });
    expect(decode('vpd-c9', 'Volume access control (RDAC) VPD Page:\n  AVT: Enabled\n  Volume Access via: alternate controller\n  Path priority: 2 (secondary path)\n')).toMatchObject({
      mode: 'AVT',
      owned: false,
      preferred: false,
      avteCvp: null,
    });
  });

  it('inquiry: sg_inq text of the blog and hex', () => {
    expect(decode('inquiry', fixture('sg_inq-md36xxi-blog.txt'))).toMatchObject({ tpgs: 0, vendor: 'DELL', product: 'MD36xxi' });
    expect(decode('inquiry', fixture('sg_inq-netapp-blog.txt'))).toMatchObject({ tpgs: 1, vendor: 'NETAPP' });
    expect(decode('inquiry', '00 00 05 32 1f 18 10 02 4c 49 4f 2d 4f 52 47 20')).toMatchObject({ tpgs: 1, vendor: 'LIO-ORG', product: null });
  });

  it('fails with a hint on input it cannot read', () => {
    expect(() => decode('vpd-83', '00 80 00 00')).toThrow(CliError);
    expect(() => decode('sg-rtpg', 'hello')).toThrow(/no hex bytes/);
  });
});
