/**
 * The syslog receiver (off by default; `logs.syslog` in the configuration): UDP (RFC 5426) and TCP (RFC 6587,
 * octet-counted or newline-framed) messages are stored for the configured tenant and source through the
 * ingest pipeline, in one ingestion run per five minutes. A batch is stored before the next is read (TCP
 * senders are paused meanwhile); a message that cannot be decoded or is too long is quarantined.
 */
import type { Config } from '../config/config.ts';
import type { Logger } from '../config/logger.ts';
import { startSyslogServer, type SyslogServer } from '../ingest/syslog-server.ts';
import type { LogIngestService } from '../services/log-ingest.service.ts';

export interface RunningSyslog {
  server: SyslogServer;
  close(): Promise<void>;
}

export async function startSyslog(
  cfg: Config['logs']['syslog'],
  ingest: LogIngestService,
  logger: Logger,
): Promise<RunningSyslog> {
  if (cfg.udpPort === undefined && cfg.tcpPort === undefined) {
    throw new Error(
      'logs.syslog.enabled is true but neither logs.syslog.udpPort nor logs.syslog.tcpPort is set',
    );
  }
  const target = { tenant: cfg.tenant, source: cfg.source };
  // Fail at start, not on the first message, when the tenant or source does not exist.
  await ingest.resolve(target);
  const receiver = ingest.continuous(target, 'syslog', { format: cfg.format });
  const log = logger.child({ component: 'syslog' });
  const server = await startSyslogServer({
    host: cfg.host,
    ...(cfg.udpPort !== undefined ? { udpPort: cfg.udpPort } : {}),
    ...(cfg.tcpPort !== undefined ? { tcpPort: cfg.tcpPort } : {}),
    maxMessageBytes: cfg.maxMessageBytes,
    batchSize: 5000,
    flushIntervalMs: 500,
    logger: log,
    onMessages: (batch) =>
      receiver.push(
        batch.map((m) => ({
          text: m.text,
          bytes: m.bytes,
          size: m.size,
          error: m.error,
          peer: m.peer,
        })),
      ),
  });
  return {
    server,
    async close() {
      await server.close();
      await receiver.close();
    },
  };
}
