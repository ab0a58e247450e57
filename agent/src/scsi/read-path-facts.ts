import { open, readdir, readFile, readlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { ValidationError } from '@xsctl/common/errors/index';
import type { CommandRunner } from '../exec/command-runner.js';
import type { SandboxRoot } from '../fs/sandbox-root.js';
import { blockName, devicePath } from '../validate/validators.js';
import type { PathFacts } from './alua-verdict.js';
import { decodeInquiry, type InquiryInfo } from './decode-inquiry.js';
import { decodeRtpg, parseSgRtpgText, type RtpgInfo } from './decode-rtpg.js';
import { decodeVpdC9 } from './decode-vpd-c9.js';
import { decodeVpd83 } from './decode-vpd83.js';
import { parseHexDump } from './hex-input.js';
import type { RdacLogLine } from './parse-rdac-log.js';

export interface ScsiReadContext {
  root: SandboxRoot;
  runner: CommandRunner;
  /** Run sg3_utils and dmesg against real devices (root `/`); a sandbox root reads sysfs files only. */
  runTools: boolean;
  signal?: AbortSignal;
}

export interface ResolvedDevice {
  /** Path devices (sdX) behind the request. */
  devs: string[];
  /** dm-N when the request named a map. */
  dm: string | null;
  /** The map name from /sys/block/dm-N/dm/name. */
  mapName: string | null;
}

async function readText(path: string, signal?: AbortSignal): Promise<string | null> {
  try {
    return (await readFile(path, { encoding: 'utf8', ...(signal === undefined ? {} : { signal }) })).trim();
  } catch {
    return null;
  }
}

async function readBytes(path: string, signal?: AbortSignal): Promise<Buffer | null> {
  try {
    const b = await readFile(path, signal === undefined ? {} : { signal });
    return b.length > 0 ? b : null;
  } catch {
    return null;
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch {
    return [];
  }
}

/** /dev/sdc1 -> [sdc]; /dev/dm-3 and /dev/mapper/NAME -> the map's slaves from sysfs. */
export async function resolveDevice(root: SandboxRoot, device: string, signal?: AbortSignal): Promise<ResolvedDevice> {
  devicePath('device', device);
  const sd = /^\/dev\/(sd[a-z]{1,3})[0-9]*$/.exec(device);
  if (sd?.[1] !== undefined) return { devs: [sd[1]], dm: null, mapName: null };
  let dm: string | null = /^\/dev\/(dm-[0-9]+)$/.exec(device)?.[1] ?? null;
  const mapper = /^\/dev\/mapper\/(.+)$/.exec(device)?.[1] ?? null;
  if (dm === null && mapper !== null) {
    for (const name of await listDir(root.resolve('/sys/block'))) {
      if (!name.startsWith('dm-')) continue;
      if ((await readText(root.resolve(`/sys/block/${name}/dm/name`), signal)) === mapper) {
        dm = name;
        break;
      }
    }
    if (dm === null) return { devs: [], dm: null, mapName: mapper };
  }
  const dmName = blockName('device', dm as string);
  const slaves = (await listDir(root.resolve(`/sys/block/${dmName}/slaves`))).filter((s) => /^sd[a-z]{1,3}$/.test(s));
  return { devs: slaves, dm: dmName, mapName: mapper ?? (await readText(root.resolve(`/sys/block/${dmName}/dm/name`), signal)) };
}

export interface SysfsMultipathMap {
  dm: string;
  /** /sys/block/dm-N/dm/name (the map name multipath gave it). */
  name: string;
  /** From dm/uuid `mpath-WWID`. */
  wwid: string;
  devs: string[];
}

/**
 * Multipath maps as the kernel shows them: dm devices whose dm/uuid is `mpath-WWID`, with their
 * sdX slaves. No path groups or priorities (those only multipathd knows); used when the maps
 * cannot be listed by the tools (a sandbox root, or multipathd and multipath -ll both failed).
 */
export async function listSysfsMultipathMaps(root: SandboxRoot, signal?: AbortSignal): Promise<SysfsMultipathMap[]> {
  const out: SysfsMultipathMap[] = [];
  for (const name of await listDir(root.resolve('/sys/block'))) {
    if (!/^dm-[0-9]+$/.test(name)) continue;
    const uuid = await readText(root.resolve(`/sys/block/${name}/dm/uuid`), signal);
    const wwid = /^mpath-(\S+)$/.exec(uuid ?? '')?.[1];
    if (wwid === undefined) continue;
    const resolved = await resolveDevice(root, `/dev/${name}`, signal);
    out.push({ dm: name, name: resolved.mapName ?? wwid, wwid, devs: resolved.devs });
  }
  return out;
}

/** Arrays the rdac handler drives (scsi_dh_rdac's device list), by INQUIRY vendor/product. */
export function isRdacArray(inq: Pick<InquiryInfo, 'vendor' | 'product'> | null, dhState: string | null): boolean {
  if (dhState === 'rdac') return true;
  if (inq === null || inq.vendor === null || inq.product === null) return false;
  return /^(DELL|IBM|LSI|ENGENIO|NETAPP|SGI|SUN|STK|LENOVO|FUJITSU)$/.test(inq.vendor) && /^(MD3|17[0-9]{2}|18[0-9]{2}|3526|INF-01-00|TP9[45]00|IS|CSM|LCSM|FLEXLINE|STK6580|SUN_6180|DE_Series|ETERNUS_AHB)/.test(inq.product);
}

async function hctlOf(root: SandboxRoot, dev: string): Promise<string | null> {
  try {
    const target = basename(await readlink(root.resolve(`/sys/block/${dev}/device`)));
    if (/^\d+:\d+:\d+:\d+$/.test(target)) return target;
  } catch {
    // not a symlink in a sandbox tree
  }
  return (await listDir(root.resolve(`/sys/block/${dev}/device/scsi_device`))).find((n) => /^\d+:\d+:\d+:\d+$/.test(n)) ?? null;
}

/** One path's INQUIRY, VPD 0x83/0xc9, RTPG (bytes from sysfs or sg3_utils -H, decoded here) and sysfs ALUA state. */
export async function readPathFacts(ctx: ScsiReadContext, dev: string, log: readonly RdacLogLine[]): Promise<PathFacts> {
  blockName('device', dev);
  if (!dev.startsWith('sd')) throw new ValidationError('device', `${dev} is not a SCSI disk`);
  const sys = `/sys/block/${dev}/device`;
  const devPath = devicePath('device', `/dev/${dev}`);
  const errors: string[] = [];
  const opts = { timeoutMs: 15_000, ...(ctx.signal === undefined ? {} : { signal: ctx.signal }) };
  const tool = async (cmd: 'sg_inq' | 'sg_vpd' | 'sg_rtpg', args: string[]): Promise<string | null> => {
    if (!ctx.runTools) return null;
    try {
      return (await ctx.runner.run(cmd, args, opts)).stdout;
    } catch (err) {
      errors.push(`${cmd} ${args.join(' ')}: ${(err as Error).message.slice(0, 200)}`);
      return null;
    }
  };
  const decode = <T>(what: string, f: () => T): T | null => {
    try {
      return f();
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message}`);
      return null;
    }
  };

  const facts: PathFacts = {
    dev,
    hctl: await hctlOf(ctx.root, dev),
    inquiry: null,
    vpd83: null,
    vpdC9: null,
    rtpg: null,
    accessState: await readText(ctx.root.resolve(`${sys}/access_state`), ctx.signal),
    preferredPath: null,
    dhState: await readText(ctx.root.resolve(`${sys}/dh_state`), ctx.signal),
    kernelLog: null,
    errors,
  };
  const pref = await readText(ctx.root.resolve(`${sys}/preferred_path`), ctx.signal);
  facts.preferredPath = pref === null ? null : pref === '1';

  const inqBytes = await readBytes(ctx.root.resolve(`${sys}/inquiry`), ctx.signal);
  if (inqBytes !== null) facts.inquiry = decode('INQUIRY (sysfs)', () => decodeInquiry(inqBytes));
  else {
    const out = await tool('sg_inq', ['-H', devPath]);
    if (out !== null) facts.inquiry = decode('INQUIRY (sg_inq -H)', () => decodeInquiry(parseHexDump(out)));
  }

  const pg83 = await readBytes(ctx.root.resolve(`${sys}/vpd_pg83`), ctx.signal);
  if (pg83 !== null) facts.vpd83 = decode('VPD 0x83 (sysfs)', () => decodeVpd83(pg83));
  else {
    const out = await tool('sg_vpd', ['-p', '0x83', '-H', devPath]);
    if (out !== null) facts.vpd83 = decode('VPD 0x83 (sg_vpd -H)', () => decodeVpd83(parseHexDump(out)));
  }

  if (isRdacArray(facts.inquiry, facts.dhState)) {
    const out = await tool('sg_vpd', ['-p', '0xc9', '-H', devPath]);
    if (out !== null) facts.vpdC9 = decode('VPD 0xc9 (sg_vpd -H)', () => decodeVpdC9(parseHexDump(out)));
  }

  if ((facts.inquiry?.tpgs ?? 0) > 0) {
    const out = await tool('sg_rtpg', ['-H', devPath]);
    let rtpg: RtpgInfo | null = null;
    if (out !== null) {
      try {
        rtpg = decodeRtpg(parseHexDump(out));
      } catch {
        const text = await tool('sg_rtpg', ['-d', devPath]);
        if (text !== null) rtpg = decode('sg_rtpg -d', () => parseSgRtpgText(text));
      }
    }
    facts.rtpg = rtpg;
  }
  facts.kernelLog = facts.hctl === null ? null : (log.find((l) => l.hctl === facts.hctl) ?? null);
  return facts;
}

async function tail(path: string, bytes: number): Promise<string> {
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const start = Math.max(0, size - bytes);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      return buf.toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

/** Kernel messages: /var/log/kern.log and /var/log/messages under the root (last 4 MiB), plus dmesg on a real host. */
export async function readKernelLog(ctx: ScsiReadContext): Promise<string> {
  const parts = [await tail(ctx.root.resolve('/var/log/kern.log'), 4 << 20), await tail(ctx.root.resolve('/var/log/messages'), 4 << 20)];
  if (ctx.runTools) {
    try {
      parts.push((await ctx.runner.run('dmesg', [], { timeoutMs: 10_000, ...(ctx.signal === undefined ? {} : { signal: ctx.signal }) })).stdout);
    } catch {
      // dmesg may be restricted; the log files are enough
    }
  }
  return parts.join('\n');
}
