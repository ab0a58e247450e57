import { execa, type ResultPromise } from 'execa';
import { createInterface } from 'node:readline';

export interface ReadyProcess {
  child: ResultPromise;
  ready: Record<string, unknown>;
  stop(): Promise<void>;
}

/**
 * Starts a node program that prints one JSON "ready" line on stdout when it listens
 * (agent, controller, simulator), and waits for that line.
 */
export interface SpawnReadyOptions {
  timeoutMs?: number;
  env?: Record<string, string>;
  logFile?: string;
  cwd?: string;
}

export async function spawnReady(script: string, args: readonly string[], options: SpawnReadyOptions = {}): Promise<ReadyProcess> {
  return await spawnReadyExecutable(process.execPath, [script, ...args], options, script);
}

/** The same for a program that is its own executable (the packaged agent). */
export async function spawnReadyExecutable(file: string, args: readonly string[], options: SpawnReadyOptions = {}, label = file): Promise<ReadyProcess> {
  const script = label;
  const child = execa(file, [...args], {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    reject: false,
    stdout: 'pipe',
    stderr: options.logFile === undefined ? 'ignore' : { file: options.logFile, append: true },
    env: options.env ?? {},
    cleanup: true,
    forceKillAfterDelay: 3000,
  });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready within ${options.timeoutMs ?? 20000} ms`)), options.timeoutMs ?? 20_000);
    const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    rl.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        clearTimeout(timer);
        rl.close();
        resolve(parsed);
      } catch {
        // not the ready line
      }
    });
    void child.then((r) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${r.exitCode ?? r.signal}) before it was ready${options.logFile ? `; see ${options.logFile}` : ''}`));
    });
  });
  return {
    child,
    ready,
    async stop() {
      if (child.exitCode !== null && child.exitCode !== undefined) return;
      child.kill('SIGTERM');
      await child;
    },
  };
}
