/**
 * An XAPI object reference (`OpaqueRef:<uuid>`) branded with its class, so a host ref cannot be
 * passed where a VM ref is expected. Refs are opaque: never parse them, never show them as names.
 */
export type Ref<K extends string> = string & { readonly __ref: K };

/** XAPI's "no object" reference. */
export const NULL_REF = 'OpaqueRef:NULL' as Ref<never>;

export function isNullRef(ref: string): boolean {
  return ref === NULL_REF || ref === '';
}

/** Brands a string that came from XAPI as a ref of class K; anything else becomes NULL_REF. */
export function asRef<K extends string>(value: unknown): Ref<K> {
  return (typeof value === 'string' && value.startsWith('OpaqueRef:') ? value : NULL_REF) as Ref<K>;
}
