import { SplitBrainState, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';

/** `Primary/Secondary`, `UpToDate/DUnknown`: local/peer, as /proc/drbd prints them. */
export const drbdPair = (a: string, b: string) => (a === '' && b === '' ? '-' : `${a || '?'}/${b || '?'}`);

export function syncText(d: DrbdResourceState): string {
  if (d.syncPercent === undefined) return d.oosKib !== undefined && d.oosKib > 0 ? `${d.oosKib} KiB out of sync` : '-';
  return `${d.replication || d.connection} ${d.syncPercent.toFixed(1)}%`;
}

export const splitBrainText = (d: DrbdResourceState) => (d.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED ? 'SPLIT BRAIN' : 'none');
