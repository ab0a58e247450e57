import { decodeInquiry, parseSgInqText, type InquiryInfo } from './decode-inquiry.js';
import { decodeRtpg, parseSgRtpgText, type RtpgInfo } from './decode-rtpg.js';
import { decodeVpdC9, parseSgVpdC9Text, type VpdC9Info } from './decode-vpd-c9.js';
import { decodeVpd83, parseSgVpd83Text, type Vpd83Info } from './decode-vpd83.js';
import { parseHexDump } from './hex-input.js';

/**
 * What admins paste: the text a tool printed, or the bytes (`-H`/`-HH`/`--hex` dumps, plain hex).
 * Text is recognised by the labels sg3_utils prints; anything else is read as hex.
 */
export function decodeInquiryInput(input: string): InquiryInfo {
  return /\bTPGS=\d|Vendor identification:/.test(input) ? parseSgInqText(input) : decodeInquiry(parseHexDump(input));
}

export function decodeVpd83Input(input: string): Vpd83Info {
  return /designator type:/i.test(input) ? parseSgVpd83Text(input) : decodeVpd83(parseHexDump(input));
}

export function decodeVpdC9Input(input: string): VpdC9Info {
  return /IOShipping \(ALUA\):|\bAVT:\s*(Enabled|Disabled)/i.test(input) ? parseSgVpdC9Text(input) : decodeVpdC9(parseHexDump(input));
}

/** `sg_rtpg` text (with -d or -vvd); a hex dump of the response is decoded as raw. */
export function decodeSgRtpgInput(input: string): RtpgInfo {
  return /target port group id/i.test(input) ? parseSgRtpgText(input) : decodeRtpg(parseHexDump(input));
}

/** REPORT TARGET PORT GROUPS bytes (`sg_rtpg -H`, sg_raw output, plain hex). */
export function decodeRtpgRawInput(input: string): RtpgInfo {
  return decodeRtpg(parseHexDump(input));
}
