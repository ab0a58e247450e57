import { datamodel, releaseAtOrBefore, type XapiRelease } from './datamodel.js';

/**
 * Which xapi release a simulated pool runs, and what that release offers on the wire.
 *
 * The release follows the pool master's software_version (product_version, or xapi_build on
 * hosts that report it), mapped to datamodel_types.ml's release names through their branding
 * ("XenServer 7.1" is ely). A description or the simulator options may pin it instead.
 */

/** Product versions that are not a plain "major.minor" of a datamodel branding. */
const productAliases: ReadonlyArray<readonly [prefix: string, code: string]> = [
  // xenserver/xenadmin's "boston" test dump reports 5.9.950: a pre-release of XenServer 6.0.
  ['5.9.', 'boston'],
  ['5.6.100', 'cowley'],
  ['6.2.1', 'vgpu-productisation'],
  ['6.5.1', 'cream'],
  // Citrix Hypervisor 8.2 CU1 and XCP-ng 8.2 report 8.2.1 and run stockholm's xapi (1.249.x).
  ['8.2.1', 'stockholm'],
];

function brandingVersion(branding: string): string | undefined {
  return /(\d+(?:\.\d+)*)/.exec(branding)?.[1];
}

/**
 * The release of a host from its software_version. XenServer 8 and XCP-ng 8.3 (product 8.3 and
 * later) run numbered xapi releases; their software_version carries `xapi_build` (e.g. 24.39.1)
 * on the builds that have it, else the version defaults to `fallbackXapi`.
 */
export function releaseOfSoftwareVersion(sv: Readonly<Record<string, string>>, fallbackXapi = '24.19.0'): XapiRelease {
  const build = sv['xapi_build'];
  if (build !== undefined && /^\d+\.\d+/.test(build) && Number.parseInt(build, 10) >= 20) return { kind: 'numbered', version: build };
  return releaseOfProduct(sv['product_version'] ?? '', fallbackXapi);
}

export function releaseOfProduct(product: string, fallbackXapi = '24.19.0'): XapiRelease {
  for (const [prefix, code] of productAliases) if (product.startsWith(prefix)) return { kind: 'named', code };
  const [major = 0, minor = 0] = product.split('.').map((p) => Number.parseInt(p, 10) || 0);
  if (major > 8 || (major === 8 && minor >= 3)) return { kind: 'numbered', version: fallbackXapi };
  // The newest named release whose branding's major.minor is at or below the product's.
  let best: string | undefined;
  for (const r of datamodel().releases) {
    const v = brandingVersion(r.branding);
    if (v === undefined || r.branding.includes('Unreleased') || /Hotfix|Preview|SP1|Update/.test(r.branding)) continue;
    const [bm = 0, bn = 0] = v.split('.').map(Number);
    if (bm < major || (bm === major && bn <= minor)) best = r.code;
  }
  return { kind: 'named', code: best ?? 'rio' };
}

/**
 * What the HTTP side of a release offers (xen-api's ocaml/xapi/api_server.ml and xapi.ml):
 * - `xmlrpc`: no /jsonrpc handler. xapi.ml registered "post_jsonrpc" in commit cc8f80e43e
 *   (November 2012, first tagged 1.9.0), after XenServer 6.1 (tampa, September 2012).
 * - `jsonrpc-v1`: /jsonrpc answers every request in the v1 shape {result, error, id: 0}, errors
 *   as the bare [code, params...] list (api_server.ml before CA-261166, commit 27f3847936, first
 *   tagged v1.47.0, August 2017; the 1.14-lcm and 1.30-lcm branches of 7.1 and 7.2 lack it).
 * - `jsonrpc-v2-code0`: the reply follows the request's version; v2 errors are {code: 0,
 *   message, data} (the 1.60-lcm branch, XenServer 7.3).
 * - `jsonrpc-v2`: the same with code 1 (CA-274994, commit fe3255ae2f, api_server_common.ml
 *   error_code_lit; 1.90-lcm and later).
 */
export type ProtocolOffer = 'xmlrpc' | 'jsonrpc-v1' | 'jsonrpc-v2-code0' | 'jsonrpc-v2';

export function protocolOffer(release: XapiRelease): ProtocolOffer {
  if (release.kind === 'numbered') return 'jsonrpc-v2';
  if (!releaseAtOrBefore('clearwater', release)) return 'xmlrpc';
  if (!releaseAtOrBefore('inverness', release)) return 'jsonrpc-v1';
  if (!releaseAtOrBefore('jura', release)) return 'jsonrpc-v2-code0';
  return 'jsonrpc-v2';
}

/**
 * Whether a call to an unknown message checks its session first (gen_server.ml's fallback case
 * forwards unknown names to xapi extensions after Session_check; commit 4f7df4eb5b, August 2015,
 * first in dundee). Older servers answered MESSAGE_METHOD_UNKNOWN at once.
 */
export function unknownMethodChecksSession(release: XapiRelease): boolean {
  return releaseAtOrBefore('dundee', release);
}

/**
 * Whether an unparsable XML-RPC request gets an XML-RPC fault (api_server.ml of 2011 caught
 * Xml.Error and answered Fault(1, "Failed to parse supplied XML")) or an HTTP 500 page (since the
 * 2012 move to ocaml-rpc's Xmlrpc.call_of_string, whose exceptions reach Http_svr).
 */
export function xmlParseErrorIsFault(release: XapiRelease): boolean {
  return !releaseAtOrBefore('clearwater', release);
}

export function sameRelease(a: XapiRelease, b: XapiRelease): boolean {
  return a.kind === b.kind && (a.kind === 'named' ? a.code === (b as { code: string }).code : a.version === (b as { version: string }).version);
}
