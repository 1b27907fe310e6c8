/** A pino logger whose records are kept in memory, for tests that check what was logged. */
import pino from 'pino';
import type { Logger } from '../../src/config/logger.ts';

export interface LogRecord {
  level: number;
  msg?: string;
  [key: string]: unknown;
}

export function captureLogger(level: pino.LevelWithSilent = 'debug'): {
  logger: Logger;
  records: LogRecord[];
} {
  const records: LogRecord[] = [];
  const logger = pino(
    { level },
    { write: (line: string) => void records.push(JSON.parse(line) as LogRecord) },
  );
  return { logger, records };
}

/** pino's numeric levels. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;
