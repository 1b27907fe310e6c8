/**
 * The syslog receiver end to end: UDP datagrams and TCP (octet-counted and newline-framed) messages on
 * 127.0.0.1 reach the configured tenant's log store; a bad message is quarantined, the rest stored.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/config/logger.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { startSyslog, type RunningSyslog } from '../../src/jobs/syslog.job.ts';
import type { Tenant } from '../../src/repositories/tenant.repository.ts';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

describe('syslog receiver into the log store', () => {
  let t: TestDb;
  let c: Container;
  let dir: string;
  let tenant: Tenant;
  let syslog: RunningSyslog;

  beforeAll(async () => {
    t = await createTestDb('pglite');
    dir = mkdtempSync(join(tmpdir(), 'vigil-syslog-'));
    tenant = await makeTenant(t.db, 'Syslog');
    const config = loadConfig({
      env: {
        LOG_LEVEL: 'silent',
        VIGIL_DATA_DIR: dir,
        VIGIL__LOGS__SYSLOG__ENABLED: 'true',
        VIGIL__LOGS__SYSLOG__HOST: '127.0.0.1',
        VIGIL__LOGS__SYSLOG__UDP_PORT: '0',
        VIGIL__LOGS__SYSLOG__TCP_PORT: '0',
        VIGIL__LOGS__SYSLOG__TENANT: tenant.slug,
        VIGIL__LOGS__SYSLOG__MAX_MESSAGE_BYTES: '1024',
      },
    });
    c = await createContainer(config, createLogger(config), t.db);
    syslog = await startSyslog(config.logs.syslog, c.services.logIngest, c.logger);
  });
  afterAll(async () => {
    await syslog?.close();
    if (c) await (await c.logStore()).close();
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start for a tenant that does not exist', async () => {
    await expect(
      startSyslog({ ...c.config.logs.syslog, tenant: 'no-such-tenant' }, c.services.logIngest, c.logger),
    ).rejects.toThrow(/tenant no-such-tenant not found/);
  });

  it('stores UDP and TCP messages, quarantines an oversized one', async () => {
    const udp = syslog.server.udpAddress!;
    const tcp = syslog.server.tcpAddress!;
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) =>
      sock.send(
        Buffer.from(
          '<34>1 2026-11-30T09:01:00Z fw1 sshd 77 - - Failed password for root from 203.0.113.9 port 4242 ssh2',
        ),
        udp.port,
        '127.0.0.1',
        (e) => (e ? reject(e) : resolve()),
      ),
    );
    sock.close();
    const framed = '<13>1 2026-11-30T09:02:00Z fw2 app 1 - - octet counted';
    const big = 'x'.repeat(2000);
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(tcp.port, '127.0.0.1', () =>
        s.end(
          `${Buffer.byteLength(framed)} ${framed}<13>Nov 30 09:02:01 fw2 app[1]: newline framed\n<13>${big}\n<13>Nov 30 09:02:02 fw2 app[1]: after the big one\n`,
        ),
      );
      s.on('close', () => resolve());
      s.on('error', reject);
    });
    const store = await c.logStore();
    for (let i = 0; i < 100 && (await store.count(tenant.id)) < 4; i++)
      await new Promise((r) => setTimeout(r, 50));
    const page = await store.fetchLogs(tenant.id, { limit: 10 });
    expect(page.items.map((e) => e.message).sort()).toEqual([
      'Failed password for root from 203.0.113.9 port 4242 ssh2',
      'after the big one',
      'newline framed',
      'octet counted',
    ]);
    expect(page.items.every((e) => e.hostname === '127.0.0.1')).toBe(true);
    const udpEvent = page.items.find((e) => e.host === 'fw1')!;
    expect(udpEvent.normalized).toMatchObject({ src_ip: '203.0.113.9', user: 'root', outcome: 'failure' });
    const q = await store.listQuarantine(tenant.id);
    expect(q.items.map((i) => i.reason)).toEqual(['oversized']);
  });
});
