import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { XsctlError, statusForCode } from '@xsctl/common/errors/index';
import { Status } from 'nice-grpc-common';
import { parseEvents2 } from '../drbd/parse-drbd-events2.js';
import { parseDrbdStatus } from '../drbd/parse-drbd-status.js';
import { parseProcDrbd } from '../drbd/parse-proc-drbd.js';
import { ConfSyntaxError, parseMultipathConf } from '../multipath/multipath-conf.js';
import { parseMultipathLl } from '../multipath/parse-multipath-ll.js';
import { MultipathJsonError, parseMultipathdJson } from '../multipath/parse-multipathd-json.js';
import { BootDiskNotFoundError } from '../precheck/check-boot-disk.js';
import { AppliedUpdateParseError, parseAppliedUpdate } from '../precheck/parse-applied-update.js';
import { parseSfdiskDump, parseSfdiskJson } from '../precheck/parse-sfdisk.js';
import { PartitionTableParseError } from '../precheck/partition-table.js';
import { crc32, decodePartitionTable } from '../precheck/read-partition-table.js';
import { decodeInquiryInput, decodeRtpgRawInput, decodeSgRtpgInput, decodeVpd83Input, decodeVpdC9Input } from '../scsi/decode-input.js';
import { HexInputError, parseHexDump } from '../scsi/hex-input.js';
import { parseTgtadmShow } from '../target/parse-tgtadm-show.js';

/** Fails with the thrown value unless it is one of ours (typed, with a code the status table knows). */
function typedOrReturns(f: () => unknown): void {
  try {
    f();
  } catch (err) {
    expect(err, String(err)).toBeInstanceOf(XsctlError);
    expect(statusForCode((err as XsctlError).code)).not.toBe(Status.UNKNOWN);
  }
}

describe('parsers on crafted input fail with a typed error, never a RangeError or a stack overflow', () => {
  it('every parser error class is an XsctlError whose code the status table maps', () => {
    for (const e of [
      new HexInputError('x'),
      new MultipathJsonError('x'),
      new ConfSyntaxError(1, 'x'),
      new PartitionTableParseError('x'),
      new AppliedUpdateParseError('x'),
      new BootDiskNotFoundError('x'),
    ]) {
      expect(e).toBeInstanceOf(XsctlError);
      expect({ name: e.name, status: statusForCode(e.code) }).not.toMatchObject({ status: Status.UNKNOWN });
    }
  });

  it('a hex line of 300,000 bytes: a typed refusal (push(...bytes) overflowed the stack)', () => {
    const err = (() => {
      try {
        parseHexDump('ab'.repeat(300_000));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(HexInputError);
    expect((err as HexInputError).code).toBe('HEX_INPUT_INVALID');
    // The same bytes spread over lines are refused the same way; a real page still decodes.
    expect(() => parseHexDump('ab '.repeat(70_000))).toThrow(HexInputError);
    expect([...parseHexDump('00 83 00 04\n01 02 03 04')]).toEqual([0x00, 0x83, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04]);
  });

  it('a character reference past U+10FFFF in a hotfix record (String.fromCodePoint threw a RangeError)', () => {
    const xml = '<update uuid="12345678-1234-1234-1234-123456789abc" name-label="&#99999999;"/>';
    expect(() => parseAppliedUpdate(xml)).toThrow(AppliedUpdateParseError);
    expect(parseAppliedUpdate('<update uuid="12345678-1234-1234-1234-123456789abc" name-label="XS&#x37;1E001"/>').nameLabel).toBe('XS71E001');
  });

  it('multipath.conf nested past its grammar is refused at the fifth level', () => {
    expect(() => parseMultipathConf('a {\n'.repeat(5) + '}\n'.repeat(5))).toThrow(/nested 5 deep/);
    expect(parseMultipathConf('devices {\n  device {\n    vendor "X"\n  }\n}\n').sections[0]?.sections[0]?.name).toBe('device');
  });

  it('a GPT header with a 4 GiB entry size (Buffer.alloc threw a RangeError)', async () => {
    const disk = Buffer.alloc(512 * 40);
    disk[446 + 4] = 0xee;
    disk.writeUInt32LE(1, 446 + 8);
    disk.writeUInt32LE(39, 446 + 12);
    disk[510] = 0x55;
    disk[511] = 0xaa;
    const h = disk.subarray(512, 1024);
    h.write('EFI PART', 0, 'latin1');
    h.writeUInt32LE(0x00010000, 8);
    h.writeUInt32LE(92, 12);
    h.writeBigUInt64LE(1n, 24);
    h.writeBigUInt64LE(34n, 40);
    h.writeBigUInt64LE(38n, 48);
    h.writeBigUInt64LE(2n, 72);
    h.writeUInt32LE(128, 80);
    h.writeUInt32LE(0xfffffff8, 84);
    h.writeUInt32LE(crc32(h.subarray(0, 92)), 16);
    const read = (offset: number, length: number) => Promise.resolve(disk.subarray(offset, offset + length));
    const err = await decodePartitionTable(read, { device: '/dev/sda', sectorSize: 512 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartitionTableParseError);
    expect((err as PartitionTableParseError).reason).toMatch(/128 entries of 4294967288 bytes/);
  });

  it('every text parser, on 400 generated inputs each (fixed seed), returns or fails typed', () => {
    const parsers: [string, (s: string) => unknown][] = [
      ['inquiry', decodeInquiryInput],
      ['vpd-83', decodeVpd83Input],
      ['vpd-c9', decodeVpdC9Input],
      ['sg-rtpg', decodeSgRtpgInput],
      ['rtpg-raw', decodeRtpgRawInput],
      ['multipath -ll', parseMultipathLl],
      ['multipathd json', parseMultipathdJson],
      ['multipath.conf', parseMultipathConf],
      ['events2', parseEvents2],
      ['drbdadm status', parseDrbdStatus],
      ['/proc/drbd', parseProcDrbd],
      ['tgtadm show', parseTgtadmShow],
      ['applied update', parseAppliedUpdate],
      ['sfdisk -J', parseSfdiskJson],
      ['sfdisk -d', parseSfdiskDump],
    ];
    const hexLine = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 200 }).map((a) => a.map((x) => x.toString(16).padStart(2, '0')).join(' '));
    const nested = fc.integer({ min: 1, max: 3000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n));
    const entity = fc.integer({ min: 0, max: 2 ** 40 }).map((n) => `<update uuid="12345678-1234-1234-1234-123456789abc" name-label="&#${n};"/>`);
    const input = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.json(), hexLine, nested, entity);
    for (const [name, parse] of parsers) {
      fc.assert(
        fc.property(input, (s) => typedOrReturns(() => parse(s))),
        { seed: 0x5eca9e, numRuns: 400, reporter: (r) => expect(r.failed, `${name}: ${r.counterexample?.[0]?.slice(0, 200) ?? ''}`).toBe(false) },
      );
    }
  });
});
