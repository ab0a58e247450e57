import { describe, expect, it } from 'vitest';
import type { ControllerContext } from '../../server/controller-context.js';
import { upgradeDeps } from './upgrade-service.js';

/**
 * Issue 11, storage-aware rolling upgrade: "the upgrade switches the storage over before it
 * disables, evacuates or reboots the storage master", and switches back afterwards. The storage
 * hook's own behaviour is test/e2e/storage-upgrade-hook.test.ts (on the namespaced lab); this is
 * where the real upgrade runs it: the stages each host goes through, in order.
 */
describe('the rolling upgrade with the storage hook', () => {
  it('moves the storage away before the host is disabled, emptied or rebooted, and back only once it is enabled again', () => {
    // The context is only captured by the stages' closures; building the list touches nothing.
    const names = upgradeDeps({} as ControllerContext).hostStages?.map((s) => s.name) ?? [];
    expect(names[0]).toBe('storage-away');
    expect(names.at(-1)).toBe('storage-back');
    expect(names.filter((n) => n.startsWith('storage-'))).toEqual(['storage-away', 'storage-back']);
    const at = (n: string) => names.indexOf(n);
    for (const down of ['disable', 'evacuate-and-install', 'reboot']) expect(at(down), down).toBeGreaterThan(at('storage-away'));
    expect(at('enable')).toBeGreaterThan(at('reboot'));
    expect(at('storage-back')).toBeGreaterThan(at('enable'));
  });
});
