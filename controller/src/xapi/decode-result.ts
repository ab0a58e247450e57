import { num } from './coerce.js';
import { isKnownClass, normalizeField, normalizeRecord } from './normalize-record.js';
import { asRef } from './ref.js';
import type { XapiEventBatch, XapiEventRecord } from './xapi-methods.js';


function decodeEventBatch(raw: unknown): XapiEventBatch {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const counts: Record<string, number> = {};
  for (const [k, v] of Object.entries((r['valid_ref_counts'] ?? {}) as Record<string, unknown>)) counts[k] = num(v);
  const events = Array.isArray(r['events']) ? (r['events'] as XapiEventRecord[]) : [];
  return { events, valid_ref_counts: counts, token: String(r['token'] ?? '') };
}

/**
 * Methods the table types as void. XAPI marshals a void result as the empty string (gen_server.ml:
 * `Rpc.String ""`), both as a call's result and as an Async task's result (`<value></value>`).
 */
const voidMethods: ReadonlySet<string> = new Set([
  'host.disable', 'host.enable', 'host.reboot', 'host.evacuate', 'host.assert_can_evacuate',
  'host.add_to_other_config', 'host.remove_from_other_config', 'VM.pool_migrate', 'VM.clean_shutdown',
  'VM.start_on', 'pool.disable_ha', 'pool.enable_ha', 'pool.set_wlb_enabled', 'pool.designate_new_master',
  'pool.add_to_other_config', 'pool.remove_from_other_config', 'task.cancel', 'task.destroy',
]);

/**
 * Turns a raw XAPI result into the type the method table promises: records normalised, numbers
 * that XML-RPC sent as strings made numbers, void results undefined. Methods without a rule pass
 * through.
 */
export function decodeResult(method: string, raw: unknown): unknown {
  if (voidMethods.has(method)) return undefined;
  if (method === 'event.from') return decodeEventBatch(raw);
  if (method === 'host.get_vms_which_prevent_evacuation') {
    const out: Record<string, string[]> = {};
    for (const [vm, reasons] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
      out[asRef<'VM'>(vm)] = Array.isArray(reasons) ? reasons.map(String) : [];
    }
    return out;
  }
  const dot = method.indexOf('.');
  const cls = method.slice(0, dot);
  const message = method.slice(dot + 1);
  if (dot <= 0 || !isKnownClass(cls) || !message.startsWith('get_')) return raw;
  switch (message) {
    case 'get_record':
      return normalizeRecord(cls, raw);
    case 'get_all_records': {
      const out: Record<string, unknown> = {};
      for (const [ref, record] of Object.entries((raw ?? {}) as Record<string, unknown>)) out[ref] = normalizeRecord(cls, record);
      return out;
    }
    case 'get_all':
      return Array.isArray(raw) ? raw.map((r) => asRef(r)) : [];
    case 'get_by_uuid':
      return asRef(raw);
    default: {
      const value = normalizeField(cls, message.slice('get_'.length), raw);
      return value === undefined ? raw : value;
    }
  }
}
