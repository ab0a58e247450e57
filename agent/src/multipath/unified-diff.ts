/** A unified diff (3 lines of context) of two small text files, for dry runs. Empty when equal. */
export function unifiedDiff(oldText: string, newText: string, oldName: string, newName: string, context = 3): string {
  if (oldText === newText) return '';
  const a = oldText === '' ? [] : oldText.replace(/\n$/, '').split('\n');
  const b = newText === '' ? [] : newText.replace(/\n$/, '').split('\n');
  const n = a.length;
  const m = b.length;
  // Longest common subsequence table; config files are a few hundred lines.
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i] as Uint32Array;
    const next = lcs[i + 1] as Uint32Array;
    for (let j = m - 1; j >= 0; j--) row[j] = a[i] === b[j] ? (next[j + 1] as number) + 1 : Math.max(next[j] as number, row[j + 1] as number);
  }
  type Op = { tag: ' ' | '-' | '+'; text: string; ai: number; bi: number };
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ tag: ' ', text: a[i] as string, ai: i, bi: j });
      i++;
      j++;
    } else if (j < m && (i >= n || ((lcs[i] as Uint32Array)[j + 1] as number) >= ((lcs[i + 1] as Uint32Array)[j] as number))) {
      ops.push({ tag: '+', text: b[j] as string, ai: i, bi: j });
      j++;
    } else {
      ops.push({ tag: '-', text: a[i] as string, ai: i, bi: j });
      i++;
    }
  }
  const out = [`--- ${oldName}`, `+++ ${newName}`];
  let k = 0;
  while (k < ops.length) {
    if ((ops[k] as Op).tag === ' ') {
      k++;
      continue;
    }
    const start = Math.max(0, k - context);
    let end = k;
    // Extend the hunk while changes are within 2*context lines of each other.
    for (;;) {
      while (end < ops.length && (ops[end] as Op).tag !== ' ') end++;
      let next = end;
      while (next < ops.length && (ops[next] as Op).tag === ' ' && next - end < 2 * context) next++;
      if (next < ops.length && (ops[next] as Op).tag !== ' ') {
        end = next;
        continue;
      }
      end = Math.min(ops.length, end + context);
      break;
    }
    const hunk = ops.slice(start, end);
    const first = hunk[0] as Op;
    const oldCount = hunk.filter((o) => o.tag !== '+').length;
    const newCount = hunk.filter((o) => o.tag !== '-').length;
    out.push(`@@ -${oldCount === 0 ? first.ai : first.ai + 1},${oldCount} +${newCount === 0 ? first.bi : first.bi + 1},${newCount} @@`);
    for (const o of hunk) out.push(`${o.tag}${o.text}`);
    k = end;
  }
  return `${out.join('\n')}\n`;
}
