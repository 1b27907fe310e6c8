/**
 * Structured logging with pino (seed 002): JSON lines in production, human-readable in development.
 * Logs go to stderr so that command output on stdout (tables, --json) stays machine-readable.
 */
import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

export function createLogger(cfg: Pick<Config, 'logging'>, bindings: Record<string, unknown> = {}): Logger {
  const { level, format } = cfg.logging;
  const redact = {
    paths: [
      'password',
      '*.password',
      'passwordHash',
      '*.passwordHash',
      'req.headers.authorization',
      'req.headers.cookie',
    ],
    censor: '[redacted]',
  };
  if (format === 'pretty') {
    return pino({
      level,
      base: bindings,
      redact,
      transport: {
        target: 'pino-pretty',
        options: {
          destination: 2,
          colorize: process.stderr.isTTY,
          translateTime: 'SYS:HH:MM:ss.l',
          singleLine: true,
          ignore: 'pid,hostname',
        },
      },
    });
  }
  return pino(
    { level, base: { pid: process.pid, ...bindings }, redact, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination(2),
  );
}
