// Regenerates proto/src/gen with buf + ts-proto. With --check, fails when the committed code differs.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const proto = join(root, 'proto');
const buf = join(root, 'node_modules', '.bin', 'buf');
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: 'inherit' });

run(buf, ['lint'], proto);
rmSync(join(proto, 'src', 'gen'), { recursive: true, force: true });
run(buf, ['generate'], proto);

if (process.argv.includes('--check')) {
  const status = execFileSync('git', ['status', '--porcelain', '--', 'proto/src/gen'], { cwd: root, encoding: 'utf8' });
  if (status.trim() !== '') {
    process.stderr.write(`generated code differs from the committed code:\n${status}`);
    execFileSync('git', ['--no-pager', 'diff', '--stat', '--', 'proto/src/gen'], { cwd: root, stdio: 'inherit' });
    process.exit(1);
  }
  process.stdout.write('generated code matches the committed code\n');
}
