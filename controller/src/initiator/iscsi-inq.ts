import { execFile } from 'node:child_process';

/**
 * The controller's one door to an iSCSI initiator: libiscsi's `iscsi-inq` (no daemon, no kernel
 * session), run with argument arrays and a timeout, optionally under a prefix (`ip netns exec NS`
 * in a lab). It answers what an initiator sees on the floating IP: the standard INQUIRY's vendor
 * and product, and the unit serial number (VPD 0x80). CHAP credentials go in the URL, which is
 * never logged or put in an error.
 */
export interface LunIdentity {
  vendor: string;
  product: string;
  serial: string;
}

export interface IscsiTarget {
  address: string;
  iqn: string;
  lun: number;
  user?: string;
  password?: string;
}

function url(t: IscsiTarget): string {
  const auth = t.user === undefined || t.user === '' ? '' : `${encodeURIComponent(t.user)}%${encodeURIComponent(t.password ?? '')}@`;
  return `iscsi://${auth}${t.address}/${t.iqn}/${t.lun}`;
}

function run(via: readonly string[], args: string[], timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const [cmd, ...rest] = via.length > 0 ? [...via, 'iscsi-inq', ...args] : ['iscsi-inq', ...args];
  return new Promise((resolve, reject) => {
    execFile(cmd!, rest, { timeout: timeoutMs, signal, encoding: 'utf8' }, (err, stdout) => {
      if (err !== null) reject(new Error(`iscsi-inq failed (${typeof err.code === 'number' ? `exit ${err.code}` : err.killed ? 'timed out' : 'error'})`));
      else resolve(stdout);
    });
  });
}

export async function inquire(t: IscsiTarget, o: { via?: readonly string[]; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<LunIdentity> {
  const via = o.via ?? [];
  const ms = o.timeoutMs ?? 5_000;
  const std = await run(via, [url(t)], ms, o.signal);
  const sn = await run(via, ['-e', '1', '-c', '128', url(t)], ms, o.signal);
  return {
    vendor: /^Vendor:(.*)$/m.exec(std)?.[1]?.trim() ?? '',
    product: /^Product:(.*)$/m.exec(std)?.[1]?.trim() ?? '',
    serial: /Unit Serial Number:\[\s*(.*?)\]/.exec(sn)?.[1] ?? '',
  };
}
