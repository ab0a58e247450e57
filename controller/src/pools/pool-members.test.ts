import { describe, expect, it } from 'vitest';
import type { PoolConfig } from '../config/inventory.js';
import { PoolMembers } from './pool-members.js';

const pool = { name: 'hc1', xapi: { url: 'https://10.0.0.1', user: 'root', password: '', allowUnauthorized: false }, agentPort: 7443 } as PoolConfig;

describe('where the controller looks for a pool master', () => {
  it('the configured URL alone until members are known', () => {
    expect(new PoolMembers().candidates(pool)).toEqual(['https://10.0.0.1']);
  });

  it('then the last master that answered, the URL, every member on the same scheme and port', () => {
    const m = new PoolMembers();
    m.remember(pool, ['10.0.0.1', '10.0.0.2', '', 'fd00::3']);
    expect(m.candidates(pool)).toEqual(['https://10.0.0.1', 'https://10.0.0.2', 'https://[fd00::3]']);
    m.answered(pool, 'https://10.0.0.2');
    expect(m.candidates(pool)).toEqual(['https://10.0.0.2', 'https://10.0.0.1', 'https://[fd00::3]']);
  });
});
