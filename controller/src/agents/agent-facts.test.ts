import { describe, expect, it } from 'vitest';
import { createServer } from 'nice-grpc';
import { HostServiceDefinition, PoolRole } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { mtlsServerCredentials } from '@xsctl/common/grpc/index';
import { makeTestPki } from '@xsctl/common/testing/make-test-pki';
import { AgentConnection } from './agent-connection.js';
import { agentRefused, poolRoleName } from './agent-facts.js';

/** The failures come from real connections: a handshake with a server of another CA, a closed port, a server that answers. */
describe('agentRefused: refused (certificates) versus not answering (network)', () => {
  it('is true for a failed TLS handshake, false for a closed port and for a server that answered', async () => {
    const ours = await makeTestPki();
    const theirs = await makeTestPki();
    const tls = await ours.issue({ kind: 'controller', name: 'ctl' });
    const foreign = createServer();
    const foreignPort = await foreign.listen('127.0.0.1:0', mtlsServerCredentials(await theirs.issue({ kind: 'agent', name: 'xs-1', ipAddresses: ['127.0.0.1'] })));
    // Same CA, no HostService: the call reaches the server, which answers UNIMPLEMENTED.
    const empty = createServer();
    const emptyPort = await empty.listen('127.0.0.1:0', mtlsServerCredentials(await ours.issue({ kind: 'agent', name: 'xs-2', ipAddresses: ['127.0.0.1'] })));
    const failureOf = async (address: string, serverName: string): Promise<unknown> => {
      const conn = new AgentConnection({ address, serverName }, tls);
      try {
        return await conn.client(HostServiceDefinition).getFacts({}).then(() => new Error('expected a failure'), (e: unknown) => e);
      } finally {
        conn.close();
      }
    };
    try {
      expect(agentRefused(await failureOf(`127.0.0.1:${foreignPort}`, 'xs-1'))).toBe(true);
      expect(agentRefused(await failureOf('127.0.0.1:1', 'xs-none'))).toBe(false);
      expect(agentRefused(await failureOf(`127.0.0.1:${emptyPort}`, 'xs-2'))).toBe(false);
      expect(agentRefused(new Error('certificate'))).toBe(false);
    } finally {
      await foreign.shutdown();
      await empty.shutdown();
    }
  }, 30_000);

  it('names the pool.conf role, anything else unknown', () => {
    expect([PoolRole.POOL_ROLE_MASTER, PoolRole.POOL_ROLE_SLAVE, PoolRole.POOL_ROLE_UNSPECIFIED, undefined].map(poolRoleName)).toEqual(['master', 'slave', 'unknown', 'unknown']);
  });
});
