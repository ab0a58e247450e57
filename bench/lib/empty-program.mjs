// The runtime alone: prints a ready line and waits (bench/agent.mjs reads its memory).
import { setInterval } from 'node:timers';

process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
setInterval(() => undefined, 1 << 30);
process.on('SIGTERM', () => process.exit(0));
