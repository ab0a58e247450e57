/**
 * A way to make sure a host no longer runs anything (STONITH). Fencers are pluggable: IPMI over
 * LAN first; others (iLO, iRMC, a PDU, a hypervisor's API for nested labs) implement the same
 * two calls. A fence either returns a confirmed-off outcome or throws FencingFailedError: there
 * is no "probably off".
 */
export interface FenceOutcome {
  host: string;
  method: string;
  /** The power state was read back as off after the power-off. */
  confirmedOff: true;
  durationMs: number;
  detail: string;
}

export interface Fencer {
  readonly method: string;
  /** Powers the host off and confirms it is off. Idempotent: an already-off host is a success. */
  fence(host: string, signal?: AbortSignal): Promise<FenceOutcome>;
  /** The host's power state as its BMC reports it. */
  powerState(host: string, signal?: AbortSignal): Promise<'on' | 'off'>;
}
