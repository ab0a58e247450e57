import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface SimulatedDom0 {
  hostname: string;
  productBrand: string;
  productVersion: string;
  buildNumber: string;
  installationUuid: string;
  controlDomainUuid: string;
  /** `master` or the master's address. */
  poolConf: 'master' | { slaveOf: string };
  uptimeSeconds: number;
}

/**
 * Lays out the files a dom0 agent reads, in the formats XenServer writes them, under `dir`.
 * Capabilities that need more (multipath.conf, /var/update/applied, blobs) add to the same tree.
 */
export async function makeHostRoot(dir: string, host: SimulatedDom0): Promise<string> {
  await mkdir(join(dir, 'etc/xensource'), { recursive: true });
  await mkdir(join(dir, 'proc'), { recursive: true });
  await mkdir(join(dir, 'var/lib/xsctl-agent'), { recursive: true });
  const inventory = [
    `BUILD_NUMBER='${host.buildNumber}'`,
    `INSTALLATION_UUID='${host.installationUuid}'`,
    `PRODUCT_BRAND='${host.productBrand}'`,
    `PRODUCT_VERSION='${host.productVersion}'`,
    `PRODUCT_VERSION_TEXT='${host.productVersion.split('.').slice(0, 2).join('.')}'`,
    `PRIMARY_DISK='/dev/disk/by-id/scsi-SATA_demo_${host.hostname}'`,
    `MANAGEMENT_INTERFACE='xenbr0'`,
    `CONTROL_DOMAIN_UUID='${host.controlDomainUuid}'`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'etc/xensource-inventory'), inventory);
  // XAPI writes pool.conf without a trailing newline.
  await writeFile(join(dir, 'etc/xensource/pool.conf'), host.poolConf === 'master' ? 'master' : `slave:${host.poolConf.slaveOf}`);
  await writeFile(join(dir, 'etc/hostname'), `${host.hostname}\n`);
  await writeFile(join(dir, 'proc/uptime'), `${host.uptimeSeconds.toFixed(2)} ${(host.uptimeSeconds * 1.9).toFixed(2)}\n`);
  return dir;
}
