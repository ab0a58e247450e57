/**
 * One duplicate address detection probe of the floating IP by the peer watch (`arping -D -c 1
 * -w 1`, peer-watch.ts), times in performance.now() ms.
 */
export interface DadProbe {
  startedAt: number;
  endedAt: number;
  /** true: a host claimed the address (exit 1); false: nobody did (exit 0); null: the probe failed. */
  answered: boolean | null;
}

export interface EarlyDadInput {
  /** The promotion's PeerSafety: the controller fenced the peer and read its power state back off. */
  peerFenced: boolean;
  peerFencedByPower: boolean;
  /** The peer watch's probes of this address on this interface, oldest first. */
  probes: readonly DadProbe[];
  now: number;
}

/** Probes that must be silent: as many as the promotion's own detection sends (`arping -D -c 2`). */
export const earlyDadProbes = 2;
/** The newest of them ended at most this long before the address is added. */
export const earlyDadMaxAgeMs = 1_500;
/** A silent probe listened this long at least (`-w 1`: one second); a shorter one proves nothing. */
export const earlyDadMinListenMs = 900;

export type EarlyDadVerdict = { use: true; detail: string } | { use: false; reason: string };

/**
 * Rule 4 (never add a floating IP that still answers) for a promotion whose peer was fenced by
 * power: whether the peer watch's own duplicate address probes, taken while the controller
 * detected the loss and fenced, may stand for the promotion's two-probe detection, which then
 * need not be waited for (docs/storage-safety-rules.md, "Rule 4 and the power fence"). They may
 * when the last two probes ran, each listened its full second and nobody answered, and the newer
 * ended within earlyDadMaxAgeMs: the old master cannot answer once it is off, and any other host
 * would have answered them. Anything else (no power fence, an answer, a failed or short probe, too
 * few or too old) is no: the promotion waits for its own detection, as before.
 */
export function earlyDadVerdict(i: EarlyDadInput): EarlyDadVerdict {
  if (!i.peerFenced || !i.peerFencedByPower) return { use: false, reason: 'the peer was not fenced by power' };
  const last = i.probes.slice(-earlyDadProbes);
  if (last.length < earlyDadProbes) return { use: false, reason: `${last.length} of ${earlyDadProbes} probes` };
  const answered = last.find((p) => p.answered !== false);
  if (answered !== undefined) return { use: false, reason: answered.answered === true ? 'a host answered' : 'a probe failed' };
  const short = last.find((p) => p.endedAt - p.startedAt < earlyDadMinListenMs);
  if (short !== undefined) return { use: false, reason: `a probe listened ${Math.round(short.endedAt - short.startedAt)} ms` };
  const age = i.now - last[last.length - 1]!.endedAt;
  if (age > earlyDadMaxAgeMs) return { use: false, reason: `the last probe ended ${Math.round(age)} ms ago` };
  return { use: true, detail: `nobody answered the peer watch's last ${earlyDadProbes} duplicate address probes (the last ended ${Math.round(age)} ms ago) and the peer is powered off` };
}
