/**
 * What a host of a given product version reports, close to the real releases (XAPI API version,
 * GA build number, platform version, component versions). Only the simulator reads this table.
 */
export interface ProductVersionInfo {
  readonly apiMajor: number;
  readonly apiMinor: number;
  readonly build: string;
  readonly platformVersion: string;
  readonly xapi: string;
  readonly xen: string;
  readonly linux: string;
  readonly xencenter: string;
}

const table: Readonly<Record<string, ProductVersionInfo>> = {
  '6.5.0': { apiMajor: 2, apiMinor: 4, build: '90233c', platformVersion: '1.9.0', xapi: '1.3', xen: '4.4.1-xs90192', linux: '3.10.0+2', xencenter: '2.4' },
  '7.0.0': { apiMajor: 2, apiMinor: 5, build: '125380c', platformVersion: '2.1.0', xapi: '1.9', xen: '4.6.1-xs125300', linux: '3.10.96-484.383030', xencenter: '2.5' },
  '7.1.0': { apiMajor: 2, apiMinor: 6, build: '137272c', platformVersion: '2.2.0', xapi: '1.9', xen: '4.7.1-1-d', linux: '4.4.0+2', xencenter: '2.6' },
  '7.1.2': { apiMajor: 2, apiMinor: 6, build: '137320c', platformVersion: '2.2.2', xapi: '1.9', xen: '4.7.6-6.4', linux: '4.4.0+10', xencenter: '2.6' },
  '7.2.0': { apiMajor: 2, apiMinor: 7, build: '5877', platformVersion: '2.3.0', xapi: '1.9', xen: '4.7.3-4.1', linux: '4.4.0+10', xencenter: '2.7' },
  '7.6.0': { apiMajor: 2, apiMinor: 12, build: 'release/lima/master/58', platformVersion: '2.8.0', xapi: '1.9', xen: '4.7.6-6.1', linux: '4.4.0+10', xencenter: '2.12' },
  '8.0.0': { apiMajor: 2, apiMinor: 13, build: 'release/naples/master/45', platformVersion: '3.0.0', xapi: '1.9', xen: '4.11.1-7.8', linux: '4.19.19-5.0.8', xencenter: '2.13' },
  '8.2.0': { apiMajor: 2, apiMinor: 16, build: 'release/stockholm/master/7', platformVersion: '3.2.0', xapi: '1.9', xen: '4.13.1-9.9.1', linux: '4.19.19-7.0.9', xencenter: '2.16' },
  '8.2.1': { apiMajor: 2, apiMinor: 20, build: 'release/yangtze/master/58', platformVersion: '3.2.1', xapi: '1.9', xen: '4.13.5-9.40', linux: '4.19.19-7.0.23', xencenter: '2.20' },
};

export function productVersionInfo(version: string): ProductVersionInfo {
  return (
    table[version] ?? {
      apiMajor: 2,
      apiMinor: 6,
      build: 'unknown',
      platformVersion: '0.0.0',
      xapi: '1.9',
      xen: 'unknown',
      linux: 'unknown',
      xencenter: '2.6',
    }
  );
}
