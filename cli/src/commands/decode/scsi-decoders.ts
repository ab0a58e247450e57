import type { InquiryInfo } from '@xsctl/agent/scsi/decode-inquiry';
import { decodeInquiryInput, decodeRtpgRawInput, decodeSgRtpgInput, decodeVpd83Input, decodeVpdC9Input } from '@xsctl/agent/scsi/decode-input';
import type { RtpgInfo } from '@xsctl/agent/scsi/decode-rtpg';
import type { VpdC9Info } from '@xsctl/agent/scsi/decode-vpd-c9';
import type { Vpd83Info } from '@xsctl/agent/scsi/decode-vpd83';
import { CliError } from '../../output/cli-error.js';
import { formatTable } from '../../output/output.js';
import { registerDecoder } from './decoder-table.js';

/** Decoder errors (not hex, wrong page) become CLI errors with a hint. */
function guarded<T>(hint: string, f: (input: string) => T): (input: string) => T {
  return (input) => {
    try {
      return f(input);
    } catch (err) {
      throw new CliError('DECODE_FAILED', (err as Error).message, hint, { cause: err });
    }
  };
}

const renderRtpg = (d: unknown) => {
  const r = d as RtpgInfo;
  return formatTable(
    ['TPG', 'PREF', 'STATE', 'CODE', 'STATUS', 'PORTS'],
    r.groups.map((g) => [g.id, g.preferred ? 'yes' : 'no', g.state, `0x${g.stateCode.toString(16)}`, g.statusCode, g.relativePorts.join(',') || `(${g.targetPortCount} not listed)`]),
  );
};

registerDecoder('sg-rtpg', {
  description: '`sg_rtpg -d` / `-vvd` text (a hex dump of the response also works)',
  decode: guarded('paste the output of `sg_rtpg -d DEVICE`', decodeSgRtpgInput),
  render: renderRtpg,
});

registerDecoder('rtpg-raw', {
  description: 'REPORT TARGET PORT GROUPS response bytes (`sg_rtpg -H`, -HH, plain hex)',
  decode: guarded('paste the hex of the response, e.g. `sg_rtpg -H DEVICE`', decodeRtpgRawInput),
  render: renderRtpg,
});

registerDecoder('vpd-83', {
  description: 'VPD page 0x83 (device identification): `sg_vpd -p 0x83 -H` hex, or its text',
  decode: guarded('paste `sg_vpd -p 0x83 -H DEVICE` or /sys/block/sdX/device/vpd_pg83 as hex', decodeVpd83Input),
  render: (d) => {
    const v = d as Vpd83Info;
    const table = formatTable(
      ['ASSOCIATION', 'TYPE', 'CODE SET', 'VALUE'],
      v.designators.map((x) => [x.association, x.type, x.codeSet, x.value]),
    );
    const t10 = v.t10Vendor === null ? '' : `t10 vendor id="${v.t10Vendor.vendorId}" vendor specific="${v.t10Vendor.vendorSpecific}"\n`;
    return `${table}${t10}naa=${v.naa ?? '-'} relative-target-port=${v.relativeTargetPort ?? '-'} target-port-group=${v.targetPortGroup ?? '-'}\n`;
  },
});

registerDecoder('vpd-c9', {
  description: 'RDAC VPD page 0xc9 (DELL MD3xxx, IBM DS, NetApp E): `sg_vpd -p 0xc9 --hex`, or its text',
  decode: guarded('paste `sg_vpd -p 0xc9 --hex DEVICE`', decodeVpdC9Input),
  render: (d) => {
    const v = d as VpdC9Info;
    const byte = v.avteCvp === null ? 'byte 8 unknown (text input)' : `byte 8 = 0x${v.avteCvp.toString(16).padStart(2, '0')}`;
    const lines = [
      `mode:      ${v.mode} (Linux scsi_dh_rdac: bit 5 IOSHIP, else bit 7 AVT, else RDAC; ${byte})`,
      `owned:     ${v.owned === null ? '?' : v.owned ? 'yes (this controller owns the LUN)' : 'no'}`,
      `preferred: ${v.preferred === null ? '?' : v.preferred ? 'yes' : 'no'}`,
      `sg_vpd:    ${v.sgVpdMode ?? '?'}${v.divergent === true ? '  <- sg_vpd 1.46 reads this byte differently (it needs bits 7+6+5 for IOSHIP)' : ''}`,
    ];
    if (v.thisControllerState !== null) lines.push(`ALUA:      this controller ${v.thisControllerState}, alternate ${v.alternateControllerState ?? '?'}`);
    return `${lines.join('\n')}\n`;
  },
});

registerDecoder('inquiry', {
  description: 'standard INQUIRY: `sg_inq` text, `sg_inq -H` hex or /sys/block/sdX/device/inquiry as hex',
  decode: guarded('paste `sg_inq DEVICE` or `sg_inq -H DEVICE`', decodeInquiryInput),
  render: (d) => {
    const i = d as InquiryInfo;
    return `${i.vendor ?? '?'} ${i.product ?? '?'} ${i.revision ?? ''}\nTPGS=${i.tpgs ?? '?'} (${i.tpgsMeaning ?? '?'})${i.tpgs === 0 ? ': no ALUA reported (an RDAC array may still run IOSHIP: decode its vpd-c9)' : ''}\n`;
  },
});
