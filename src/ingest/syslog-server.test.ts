import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  datagramMessage,
  startSyslogServer,
  TcpSyslogFramer,
  type SyslogMessage,
  type SyslogServer,
  type SyslogServerOptions,
} from './syslog-server.ts';

const HOST = '127.0.0.1';
const servers: SyslogServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(opts: Partial<SyslogServerOptions> = {}) {
  const received: SyslogMessage[] = [];
  const batches: number[] = [];
  const server = await startSyslogServer({
    udpPort: 0,
    tcpPort: 0,
    host: HOST,
    maxMessageBytes: 1024,
    batchSize: 100,
    flushIntervalMs: 20,
    onMessages: async (batch) => {
      batches.push(batch.length);
      received.push(...batch);
    },
    ...opts,
  });
  servers.push(server);
  return { server, received, batches };
}

async function until(cond: () => boolean, ms = 5000) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function tcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, HOST, () => resolve(s));
    s.once('error', reject);
  });
}
const write = (s: Socket, data: string | Buffer) => new Promise<void>((r) => s.write(data, () => r()));
const end = (s: Socket) => new Promise<void>((r) => s.end(() => r()));
const texts = (ms: SyslogMessage[]) => ms.map((m) => m.text ?? `<${m.error}>`);
const octet = (msg: string) => `${Buffer.byteLength(msg)} ${msg}`;

describe('TcpSyslogFramer', () => {
  const frame = (chunks: (string | Buffer)[], max = 64) => {
    const f = new TcpSyslogFramer(max);
    const out = chunks.flatMap((c) => f.push(Buffer.from(c)));
    out.push(...f.end().messages);
    return out.map((m) => (m.error ? `<${m.error}:${m.size}>` : m.bytes.toString()));
  };

  it('octet counting and non-transparent framing, detected per message', () => {
    expect(frame([`${octet('<34>1 a\nb')}${octet('<13>x')}plain line\r\n<14>z\0<15>w\n`])).toEqual([
      '<34>1 a\nb',
      '<13>x',
      'plain line',
      '<14>z',
      '<15>w',
    ]);
  });

  it('does not take a text line starting with a number for a length', () => {
    expect(frame(['2005 Dec 04 sshd ok\n172.16.5.10 6705: x\n'])).toEqual([
      '2005 Dec 04 sshd ok',
      '172.16.5.10 6705: x',
    ]);
  });

  it('gives the same messages however the stream is split', () => {
    const input = Buffer.from(`${octet('<34>1 héllo')}line one\r\n\n${octet('<1>2')}<2>tail\0x`);
    const whole = frame([input]);
    for (let i = 0; i <= input.length; i++)
      expect(frame([input.subarray(0, i), input.subarray(i)])).toEqual(whole);
    expect(frame([...input].map((b) => Buffer.from([b])))).toEqual(whole);
    expect(whole).toEqual(['<34>1 héllo', 'line one', '<1>2', '<2>tail', 'x']);
  });

  it('oversized messages are reported once and framing resynchronises', () => {
    const big = `<1>${'a'.repeat(100)}`;
    expect(frame([`${octet(big)}${octet('<2>ok')}${big}\nnext\n`], 64)).toEqual([
      '<oversized:103>',
      '<2>ok',
      '<oversized:103>',
      'next',
    ]);
    // Split into small chunks: the framer holds at most max+1 bytes of a message.
    const f = new TcpSyslogFramer(64);
    const out = [];
    for (let i = 0; i < 1000; i++) out.push(...f.push(Buffer.alloc(50, 0x62)));
    out.push(...f.push(Buffer.from('\nafter\n')));
    expect(out.map((m) => [m.error, m.size, m.bytes.length])).toEqual([
      ['oversized', 50_000, 64],
      [null, 5, 5],
    ]);
  });

  it('an incomplete counted frame at close is lost and reported; a final unterminated line is kept', () => {
    const f = new TcpSyslogFramer(64);
    expect(f.push(Buffer.from('20 <1>abc'))).toEqual([]);
    expect(f.end()).toEqual({ messages: [], lostBytes: 9 });
    expect(frame(['<1>last words'])).toEqual(['<1>last words']);
  });

  it('datagrams: trailing newline dropped, empty ignored, oversized cut', () => {
    expect(datagramMessage(Buffer.from('<1>x\r\n'), 10)?.bytes.toString()).toBe('<1>x');
    expect(datagramMessage(Buffer.from('\n'), 10)).toBeNull();
    expect(datagramMessage(Buffer.from('<1>0123456789'), 10)).toMatchObject({ size: 13, error: 'oversized' });
    expect(datagramMessage(Buffer.from([0x3c, 0x31, 0x3e, 0xff]), 10)?.error).toBe('invalid_utf8');
  });
});

describe('startSyslogServer (real sockets on 127.0.0.1)', () => {
  it('receives UDP datagrams, one message each', async () => {
    const { server, received } = await start();
    const sock = createSocket('udp4');
    const msgs = [
      '<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - hi',
      '<13>Feb  5 17:32:18 host app: x\n',
    ];
    for (const m of msgs)
      await new Promise<void>((r) => sock.send(m, server.udpAddress!.port, HOST, () => r()));
    await until(() => received.length === 2);
    sock.close();
    expect(texts(received).sort()).toEqual([msgs[0], msgs[1]!.trimEnd()].sort());
    expect(received[0]).toMatchObject({ transport: 'udp', peer: '127.0.0.1', error: null });
    expect(received[0]!.receivedAt).toBeInstanceOf(Date);
  });

  it('TCP octet counting, including a message split across writes', async () => {
    const { server, received } = await start();
    const s = await tcp(server.tcpAddress!.port);
    const m1 = '<34>1 - host app - - - first';
    const m2 = '<34>1 - host app - - - second, with a newline\ninside';
    const wire = octet(m1) + octet(m2);
    await write(s, wire.slice(0, 10));
    await new Promise((r) => setTimeout(r, 30));
    await write(s, wire.slice(10, 40));
    await new Promise((r) => setTimeout(r, 30));
    await write(s, wire.slice(40));
    await until(() => received.length === 2);
    await end(s);
    expect(texts(received)).toEqual([m1, m2]);
    expect(received.every((m) => m.transport === 'tcp' && m.peer === '127.0.0.1')).toBe(true);
  });

  it('TCP LF framing (CRLF and NUL tolerated), mixed with octet counting on one connection', async () => {
    const { server, received } = await start();
    const s = await tcp(server.tcpAddress!.port);
    await write(s, `<1>one\r\n${octet('<2>two')}<3>three\0<4>four\n\n`);
    await end(s);
    await until(() => received.length === 4);
    expect(texts(received)).toEqual(['<1>one', '<2>two', '<3>three', '<4>four']);
  });

  it('oversized and invalid UTF-8 messages are handed on with their error and raw bytes', async () => {
    const { server, received } = await start({ maxMessageBytes: 256 });
    const s = await tcp(server.tcpAddress!.port);
    await write(s, `<1>${'x'.repeat(1000)}\n`);
    await write(
      s,
      Buffer.concat([Buffer.from('<2>bad '), Buffer.from([0xc3, 0x28]), Buffer.from('\n<3>fine\n')]),
    );
    await end(s);
    const udp = createSocket('udp4');
    await new Promise<void>((r) =>
      udp.send(Buffer.alloc(2000, 0x79), server.udpAddress!.port, HOST, () => r()),
    );
    udp.close();
    await until(() => received.length === 4);
    const tcpMsgs = received.filter((m) => m.transport === 'tcp');
    expect(tcpMsgs.map((m) => [m.error, m.size, m.bytes.length, m.text])).toEqual([
      ['oversized', 1003, 256, null],
      ['invalid_utf8', 9, 9, null],
      [null, 7, 7, '<3>fine'],
    ]);
    expect(received.find((m) => m.transport === 'udp')).toMatchObject({ error: 'oversized', size: 2000 });
  });

  it('many connections at once, batched by batchSize', async () => {
    const { server, received, batches } = await start({ batchSize: 50, flushIntervalMs: 1000 });
    const conns = await Promise.all(Array.from({ length: 20 }, () => tcp(server.tcpAddress!.port)));
    await Promise.all(
      conns.map(async (s, c) => {
        for (let i = 0; i < 25; i++) await write(s, c % 2 ? `<1>c${c} m${i}\n` : octet(`<1>c${c} m${i}`));
        await end(s);
      }),
    );
    await until(() => received.length === 500);
    expect(new Set(texts(received)).size).toBe(500);
    expect(Math.max(...batches)).toBeLessThanOrEqual(50);
    expect(batches.filter((b) => b === 50).length).toBeGreaterThanOrEqual(9);
  });

  it('pauses TCP connections while onMessages is pending (back-pressure) and loses nothing', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const got: string[] = [];
    const server = await startSyslogServer({
      tcpPort: 0,
      host: HOST,
      maxMessageBytes: 1024,
      batchSize: 100,
      flushIntervalMs: 5,
      onMessages: async (batch) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 20));
        got.push(...batch.map((m) => m.text!));
        inFlight--;
      },
    });
    servers.push(server);
    const s = await tcp(server.tcpAddress!.port);
    const n = 5000;
    let wire = '';
    for (let i = 0; i < n; i++) wire += `<1>message number ${i}\n`;
    await write(s, wire);
    await end(s);
    await until(() => got.length === n, 20_000);
    expect(maxInFlight).toBe(1);
    expect(got[n - 1]).toBe(`<1>message number ${n - 1}`);
    expect(server.udpAddress).toBeNull();
  });

  it('flushes on flushIntervalMs, and close() hands on what is pending', async () => {
    const { server, received } = await start({ batchSize: 1000, flushIntervalMs: 30 });
    const s = await tcp(server.tcpAddress!.port);
    await write(s, '<1>a\n');
    await until(() => received.length === 1);
    const { server: server2, received: received2 } = await start({
      batchSize: 1000,
      flushIntervalMs: 60_000,
    });
    const s2 = await tcp(server2.tcpAddress!.port);
    await write(s2, '<1>b\n<1>c\n<1>unterminated');
    await new Promise((r) => setTimeout(r, 50));
    expect(received2).toHaveLength(0);
    await server2.close();
    expect(texts(received2)).toEqual(['<1>b', '<1>c', '<1>unterminated']);
    s.destroy();
    s2.destroy();
  });

  it('survives bad clients: garbage, abrupt close, slowloris partial frames', async () => {
    const warnings: string[] = [];
    const logger = {
      info: () => {},
      warn: (_: object, msg?: string) => void warnings.push(msg ?? ''),
      error: () => {},
    };
    const { server, received } = await start({ frameTimeoutMs: 100, logger });
    const port = server.tcpAddress!.port;
    const g = await tcp(port);
    await write(g, Buffer.from([0, 1, 2, 0xff, 10, 0x39, 0x39, 0x39, 0x39, 0x20, 0x3c]));
    g.destroy(); // abrupt close inside a counted frame
    const slow = await tcp(port);
    const closed = new Promise<void>((r) => slow.on('close', () => r()));
    await write(slow, '<1>never finis');
    await closed; // closed by the server after frameTimeoutMs
    expect(warnings.some((w) => w.includes('timed out'))).toBe(true);
    const ok = await tcp(port);
    await write(ok, '<1>still fine\n');
    await end(ok);
    await until(() => texts(received).includes('<1>still fine'));
    expect(texts(received)).not.toContain('<1>never finis');
    expect(server.stats().connections).toBe(0);
  });
});
