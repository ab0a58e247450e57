/**
 * A stand-in for a context whose services are only built, never called: a callable, iterable
 * object whose every property is itself (tests of registration tables).
 */
export const anything: unknown = new Proxy(function () {} as unknown as object, {
  get: (_t, key) => {
    if (key === Symbol.iterator) return () => [][Symbol.iterator]();
    if (key === Symbol.asyncIterator) return async function* () {};
    if (key === Symbol.toPrimitive) return () => 0;
    return key === 'then' || typeof key === 'symbol' ? undefined : anything;
  },
  apply: () => anything,
  construct: () => anything as object,
});
