/**
 * /etc/xensource-inventory is shell-style KEY='value' lines written by the installer.
 * We parse it as data, never source it.
 */
export function parseInventory(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Z][A-Z0-9_]*)=(?:'([^']*)'|"([^"]*)"|(\S*))$/.exec(line);
    if (m?.[1] === undefined) continue;
    out[m[1]] = m[2] ?? m[3] ?? m[4] ?? '';
  }
  return out;
}
