import type { MultipathFlavor } from './flavors.js';
import type { Stanza } from './merge-stanza.js';

export type NoteAction = 'kept' | 'translated' | 'dropped' | 'added' | 'flagged';

export interface TranslationNote {
  key: string;
  action: NoteAction;
  message: string;
}

export interface Translation {
  stanza: [string, string][];
  notes: TranslationNote[];
  /** Keys to comment out of an existing entry, with the reason (dropped or replaced keys). */
  remove: Map<string, string>;
}

/** prio_callout programs of 0.4.7 and the `prio` names that replaced them in 0.4.8+. */
const calloutToPrio: Readonly<Record<string, string>> = {
  mpath_prio_alua: 'alua',
  mpath_prio_emc: 'emc',
  mpath_prio_rdac: 'rdac',
  mpath_prio_hp_sw: 'hp_sw',
  mpath_prio_netapp: 'ontap',
  mpath_prio_ontap: 'ontap',
  mpath_prio_hds_modular: 'hds',
  mpath_prio_random: 'random',
};

const prioToCallout: Readonly<Record<string, string>> = {
  alua: '/sbin/mpath_prio_alua /dev/%n',
  emc: '/sbin/mpath_prio_emc /dev/%n',
  rdac: '/sbin/mpath_prio_rdac /dev/%n',
  hp_sw: '/sbin/mpath_prio_hp_sw /dev/%n',
  ontap: '/sbin/mpath_prio_netapp /dev/%n',
  hds: '/sbin/mpath_prio_hds_modular %b',
  random: '/sbin/mpath_prio_random',
  const: '/bin/true',
};

function calloutPrioName(callout: string): string | null {
  if (/^\/bin\/true\b/.test(callout.trim())) return 'const';
  const prog = /(?:^|\/)(mpath_prio_[a-z_]+)/.exec(callout)?.[1];
  return prog === undefined ? null : (calloutToPrio[prog] ?? null);
}

/** `features "N a b ..."` without queue_if_no_path, renumbered; null when nothing is left. */
function withoutQueueIfNoPath(features: string): string | null {
  const words = features.trim().split(/\s+/).slice(1);
  const rest = words.filter((w) => w !== 'queue_if_no_path');
  return rest.length === 0 ? null : `${rest.length} ${rest.join(' ')}`;
}

/**
 * Rewrites a vendor stanza for one multipath-tools: keys the host does not read are translated
 * (prio_callout <-> prio, features queue_if_no_path -> no_path_retry queue, rr_min_io ->
 * rr_min_io_rq for request-based multipath) or dropped
 * (getuid_callout, detect_prio on 0.4.7) with a note each, and a missing or "*" product becomes
 * ".*" (0.7+ ignore an entry without product; "*" alone is not a usable regex).
 */
export function translateStanza(shipped: Stanza, flavor: MultipathFlavor): Translation {
  const out: [string, string][] = [];
  const notes: TranslationNote[] = [];
  const remove = new Map<string, string>();
  const has = (k: string) => shipped.some(([key]) => key === k);
  const target = flavor.label;

  for (const [key, value] of shipped) {
    switch (key) {
      case 'getuid_callout':
        if (flavor.getuidCallout) {
          out.push([key, value]);
          notes.push({ key, action: 'kept', message: `${target} reads getuid_callout` });
        } else {
          const why = `not read by ${target}: the WWID comes from udev (uid_attribute ID_SERIAL), the same SCSI id scsi_id gave`;
          remove.set(key, 'getuid_callout is not read here');
          notes.push({ key, action: 'dropped', message: why });
        }
        break;
      case 'prio_callout': {
        if (flavor.prioCallout) {
          out.push([key, value]);
          break;
        }
        remove.set(key, 'replaced by prio');
        const name = calloutPrioName(value);
        if (name === null) {
          notes.push({ key, action: 'flagged', message: `prio_callout ${value} has no prio equivalent in ${target}; dropped, set prio by hand` });
        } else if (has('prio')) {
          notes.push({ key, action: 'dropped', message: `replaced by the stanza's own prio keyword` });
        } else {
          out.push(['prio', name]);
          notes.push({ key, action: 'translated', message: `prio_callout "${value}" -> prio ${name} (prio_callout was removed in multipath-tools 0.4.8)` });
        }
        break;
      }
      case 'prio':
        if (flavor.prioCallout) {
          const callout = prioToCallout[value];
          if (callout === undefined) {
            notes.push({ key, action: 'flagged', message: `prio ${value} has no prio_callout program in ${target}; dropped` });
          } else {
            out.push(['prio_callout', callout]);
            notes.push({ key, action: 'translated', message: `prio ${value} -> prio_callout "${callout}" (${target} has no prio keyword)` });
          }
          remove.set(key, 'replaced by prio_callout');
        } else {
          out.push([key, value]);
        }
        break;
      case 'features': {
        const queues = /\bqueue_if_no_path\b/.test(value);
        if (!queues) {
          out.push([key, value]);
          break;
        }
        if (flavor.queueFeatureDeprecated) {
          const rest = withoutQueueIfNoPath(value);
          if (rest !== null) out.push([key, rest]);
          else remove.set(key, 'queue_if_no_path is set by no_path_retry queue');
          if (has('no_path_retry')) {
            notes.push({ key, action: 'translated', message: `features "${value}" -> ${rest === null ? 'removed' : `"${rest}"`}: queueing is the stanza's no_path_retry` });
          } else {
            out.push(['no_path_retry', 'queue']);
            notes.push({ key, action: 'translated', message: `features "${value}" -> no_path_retry queue (queue_if_no_path in features is deprecated in ${target})` });
          }
        } else {
          out.push([key, value]);
          notes.push({
            key,
            action: 'flagged',
            message: has('no_path_retry')
              ? `queue_if_no_path in features duplicates no_path_retry; kept because ${target} still reads it (newer multipath-tools deprecate it)`
              : `kept for ${target}; newer multipath-tools want no_path_retry queue instead`,
          });
        }
        break;
      }
      case 'detect_prio':
      case 'retain_attached_hw_handler':
        if (flavor.detectPrio) out.push([key, value]);
        else {
          remove.set(key, `${key} is not a keyword here`);
          notes.push({ key, action: 'dropped', message: `${key} is not a keyword of ${target}` });
        }
        break;
      case 'rr_min_io':
        if (!flavor.requestBasedMinIo) {
          out.push([key, value]);
          break;
        }
        // Request-based dm-multipath (every XenServer 6.5+ dom0 kernel) ignores rr_min_io: it
        // reads rr_min_io_rq. The vendor's count is kept, now counted in requests.
        remove.set(key, 'ignored by request-based multipath; rr_min_io_rq applies');
        if (has('rr_min_io_rq')) {
          notes.push({ key, action: 'dropped', message: `rr_min_io ${value} dropped: request-based multipath ignores it, and the stanza sets rr_min_io_rq` });
        } else {
          out.push(['rr_min_io_rq', value]);
          notes.push({ key, action: 'translated', message: `rr_min_io ${value} -> rr_min_io_rq ${value}: request-based multipath (kernel 2.6.31+) ignores rr_min_io and reads rr_min_io_rq (counted in requests, not bios)` });
        }
        break;
      case 'selector':
        out.push(['path_selector', value]);
        remove.set(key, 'renamed path_selector');
        notes.push({ key, action: 'translated', message: 'selector -> path_selector' });
        break;
      case 'product':
        if (value === '*' || value === '') {
          out.push([key, '.*']);
          notes.push({ key, action: 'translated', message: `product "${value}" -> ".*" (a regular expression that matches any product)` });
        } else out.push([key, value]);
        break;
      default:
        out.push([key, value]);
    }
  }
  if (!out.some(([k]) => k === 'product')) {
    const at = out.findIndex(([k]) => k === 'vendor');
    out.splice(at + 1, 0, ['product', '.*']);
    notes.push({ key: 'product', action: 'added', message: 'product ".*" added: the vendor stanza has none, and multipath-tools 0.7+ ignore a device entry without product' });
  }
  // Keys the translation produced must not be commented out of an existing entry.
  for (const [k] of out) remove.delete(k);
  return { stanza: out, notes, remove };
}
