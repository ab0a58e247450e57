import type { XapiClient } from '../xapi/xapi-client.js';

/** The host facts the controller shows and plans with, read in one pass from XAPI. */
export interface PoolHostRecord {
  ref: string;
  uuid: string;
  nameLabel: string;
  hostname: string;
  address: string;
  enabled: boolean;
  live: boolean;
  isMaster: boolean;
  productBrand: string;
  productVersion: string;
  buildNumber: string;
  residentVms: number;
  memoryTotalBytes: number;
  memoryFreeBytes: number;
}

export async function readPoolHosts(xapi: XapiClient, signal?: AbortSignal): Promise<PoolHostRecord[]> {
  const [pools, hosts, metrics, vms] = await Promise.all([
    xapi.getAllRecords('pool', { signal }),
    xapi.getAllRecords('host', { signal }),
    xapi.getAllRecords('host_metrics', { signal }),
    xapi.getAllRecords('VM', { signal }),
  ]);
  const master = [...pools.values()][0]?.master;
  const out: PoolHostRecord[] = [];
  for (const [ref, h] of hosts) {
    const m = metrics.get(h.metrics);
    const resident = h.resident_VMs.filter((vm) => vms.get(vm)?.is_control_domain === false).length;
    out.push({
      ref,
      uuid: h.uuid,
      nameLabel: h.name_label,
      hostname: h.hostname,
      address: h.address,
      enabled: h.enabled,
      live: m?.live ?? false,
      isMaster: ref === master,
      productBrand: h.software_version['product_brand'] ?? '',
      productVersion: h.software_version['product_version'] ?? '',
      buildNumber: h.software_version['build_number'] ?? '',
      residentVms: resident,
      memoryTotalBytes: m?.memory_total ?? 0,
      memoryFreeBytes: m?.memory_free ?? 0,
    });
  }
  // Master first, then by name: the order an admin reads and a rolling upgrade walks.
  return out.sort((a, b) => Number(b.isMaster) - Number(a.isMaster) || a.nameLabel.localeCompare(b.nameLabel));
}
