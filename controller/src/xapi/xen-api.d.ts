// The slice of the untyped `xen-api` package (ESM JavaScript) that xsctl uses. Only
// controller/src/xapi and the simulator's tests import it.
declare module 'xen-api' {
  import type { EventEmitter } from 'node:events';

  export interface XenApiOptions {
    url: string;
    auth?: { user: string; password?: string; sessionId?: string };
    allowUnauthorized?: boolean;
    readOnly?: boolean;
    /** false: no object cache; an array: only these classes. */
    watchEvents?: boolean | string[];
    callTimeout?: number | ((method: string, args: unknown[]) => number) | Record<string, number>;
    httpInactivityTimeout?: number;
    eventPollDelay?: number;
    roCallRetryOptions?: { delay?: number; tries?: number };
    transport?: 'auto' | 'json-rpc' | 'xml-rpc';
    syncStackTraces?: boolean;
    debounce?: number;
  }

  export interface XenApiRecord {
    readonly $ref: string;
    readonly $id: string;
    readonly $type: string;
    readonly [field: string]: unknown;
  }

  export class Xapi extends EventEmitter {
    constructor(options: XenApiOptions);
    readonly status: 'connected' | 'connecting' | 'disconnected';
    readonly objects: { readonly all: Readonly<Record<string, XenApiRecord>> };
    readonly objectsFetched: Promise<void>;
    readonly pool: XenApiRecord | null;
    readonly sessionId: string;
    connect(): Promise<void>;
    disconnect(): Promise<void>;
    call(method: string, ...args: unknown[]): Promise<unknown>;
    callAsync(method: string, ...args: unknown[]): Promise<unknown>;
    getAllRecords(type: string): Promise<XenApiRecord[]>;
    getRecord(type: string, ref: string): Promise<XenApiRecord>;
    getField(type: string, ref: string, field: string): Promise<unknown>;
    getObjectByRef(ref: string, defaultValue?: unknown): XenApiRecord | undefined;
  }

  export function createClient(options: XenApiOptions): Xapi;
}
