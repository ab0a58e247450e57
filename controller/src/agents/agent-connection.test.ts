import { describe, expect, it } from 'vitest';
import { HostServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { DrbdServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { RemoteError } from '@xsctl/common/errors/index';
import { makeTestPki } from '@xsctl/common/testing/make-test-pki';
import { AgentConnection } from './agent-connection.js';
import type { AgentCallObserver } from './agent-call-metrics.js';

describe('agent calls: retries (nice-grpc retry middleware) and per-attempt metrics', () => {
  it('retries an idempotent read on UNAVAILABLE three times in all, and a write never', async () => {
    const pki = await makeTestPki();
    const tls = await pki.issue({ kind: 'controller', name: 'ctl' });
    const seen: Array<{ path: string; status: string; host: string }> = [];
    const observe: AgentCallObserver = ({ path, status, host }) => seen.push({ path, status, host });
    // Nothing listens on port 1: every attempt fails with UNAVAILABLE.
    const conn = new AgentConnection({ address: '127.0.0.1:1', serverName: 'xs-none' }, tls, { observe });
    try {
      const read = await conn.client(HostServiceDefinition).getFacts({}).catch((e: unknown) => e);
      expect(read).toBeInstanceOf(RemoteError);
      expect(seen.filter((s) => s.path.endsWith('/GetFacts'))).toEqual(Array.from({ length: 3 }, () => ({ path: '/xsctl.agent.v1.HostService/GetFacts', status: 'UNAVAILABLE', host: 'xs-none' })));
      const write = await conn.client(DrbdServiceDefinition).promoteDrbd({ resource: 'r0' } as never).catch((e: unknown) => e);
      expect(write).toBeInstanceOf(RemoteError);
      expect(seen.filter((s) => s.path.endsWith('/PromoteDrbd')).length).toBe(1);
    } finally {
      conn.close();
    }
  }, 20_000);
});
