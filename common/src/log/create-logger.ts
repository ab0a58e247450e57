import { pino, type Logger, type LoggerOptions } from 'pino';

// Field names that may carry secrets anywhere in a log object.
const redactPaths = [
  'password', '*.password', '*.*.password',
  'secret', '*.secret', '*.*.secret', 'sharedSecret', '*.sharedSecret',
  'chapPassword', '*.chapPassword', 'key', '*.privateKey', 'credentials', '*.credentials',
  'sessionId', '*.sessionId', 'authorization', '*.authorization',
];

export function createLogger(name: string, options: { level?: string; destination?: number } = {}): Logger {
  const opts: LoggerOptions = {
    name,
    level: options.level ?? process.env['XSCTL_LOG_LEVEL'] ?? 'info',
    redact: { paths: redactPaths, censor: '[redacted]' },
  };
  // Logs go to stderr by default so stdout stays data.
  return pino(opts, pino.destination(options.destination ?? 2));
}
export type { Logger } from 'pino';
