import { ValidationError } from '@xsctl/common/errors/index';

/** Every host check, in report order. The ids are a contract (CLI, controller, docs). */
export const precheckIds = ['hotfixes', 'dell-utility-partition', 'partition-layout', 'blobs', 'disk-space', 'rc-local', 'clock', 'customisations'] as const;
export type PrecheckId = (typeof precheckIds)[number];

export function precheckIdList(field: string, ids: readonly string[]): Set<PrecheckId> {
  if (ids.length === 0) return new Set(precheckIds);
  const out = new Set<PrecheckId>();
  for (const id of ids) {
    const hit = precheckIds.find((p) => p === id);
    if (hit === undefined) throw new ValidationError(field, `unknown check "${String(id).slice(0, 40)}"; one of ${precheckIds.join(', ')}`);
    out.add(hit);
  }
  return out;
}
