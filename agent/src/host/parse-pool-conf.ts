export type PoolConf = { role: 'master' } | { role: 'slave'; masterAddress: string } | { role: 'unknown'; raw: string };

/** /etc/xensource/pool.conf holds `master` or `slave:<master address>`. */
export function parsePoolConf(text: string): PoolConf {
  const value = text.trim();
  if (value === 'master') return { role: 'master' };
  const m = /^slave:(\S+)$/.exec(value);
  if (m?.[1] !== undefined) return { role: 'slave', masterAddress: m[1] };
  return { role: 'unknown', raw: value.slice(0, 100) };
}
