/**
 * The syslog receiver: UDP (RFC 5426) and TCP (RFC 6587), pure networking: messages in, batches handed to
 * `onMessages`. No store, no parsing (the pipeline parses and stores what it is given).
 *
 * - UDP: one datagram is one message. A trailing LF, CRLF or NUL (added by some senders) is dropped.
 * - TCP: framing is detected per message. Octet counting (`MSG-LEN SP SYSLOG-MSG`) when the message starts with
 *   a length (1-9 digits, no leading zero), a space and `<` (every syslog message starts with its `<PRI>`,
 *   which keeps a text line such as `2005 Dec 04 ...` from being read as a length); otherwise non-transparent
 *   framing: the message ends at LF (a CR before it is dropped) or NUL. Empty messages are skipped.
 * - A message larger than `maxMessageBytes` is handed on once with `error: 'oversized'` and its first
 *   `maxMessageBytes` bytes; framing resynchronises after it (by its count, or at the next LF/NUL). A connection
 *   never holds more than `maxMessageBytes` (+1) bytes of a message plus the chunk being read.
 * - Bytes that are not UTF-8 give `error: 'invalid_utf8'` (text null) with the raw bytes.
 * - Back-pressure: while `onMessages` is running, TCP connections that deliver data are paused (TCP flow
 *   control then slows the senders) and resumed when it returns. UDP cannot be paused: beyond
 *   `maxPendingMessages` waiting messages, datagrams are dropped and counted (`stats().droppedUdp`).
 * - Bad clients: garbage is framed as messages like anything else (the parser rejects it into quarantine); an
 *   abrupt close loses only its incomplete octet-counted frame (logged); a partial frame that stays incomplete
 *   for `frameTimeoutMs` (slowloris) and a connection silent for `idleTimeoutMs` are closed.
 * - Batching: messages are handed on when `batchSize` are waiting or `flushIntervalMs` after the first one;
 *   while a batch is being handled the next accumulates. `close()` stops listening, closes connections (a final
 *   LF-less message is kept), and resolves once every received message has been handed on.
 *
 * A failing `onMessages` is logged and its batch dropped (counted in `stats().failedMessages`): the receiver
 * keeps running; retrying is the callee's business.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv4, isIPv6, type AddressInfo, type Server, type Socket } from 'node:net';
import { isUtf8 } from 'node:buffer';

export type SyslogTransport = 'udp' | 'tcp';
export type SyslogMessageError = 'invalid_utf8' | 'oversized';

export interface SyslogMessage {
  /** The message decoded as UTF-8; null when `error` is set. */
  text: string | null;
  /** Raw message bytes (the first maxMessageBytes of an oversized one). */
  bytes: Buffer;
  /** Real size of the message in bytes. */
  size: number;
  /** The sender's address (no port). */
  peer: string;
  transport: SyslogTransport;
  receivedAt: Date;
  error: SyslogMessageError | null;
}

export interface SyslogLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SyslogServerOptions {
  /** Unset: no UDP listener. 0: a free port. */
  udpPort?: number;
  /** Unset: no TCP listener. 0: a free port. */
  tcpPort?: number;
  host: string;
  maxMessageBytes: number;
  onMessages(batch: SyslogMessage[]): Promise<void>;
  batchSize: number;
  flushIntervalMs: number;
  /** Close a TCP connection silent this long (default 10 minutes; 0 disables). */
  idleTimeoutMs?: number;
  /** Close a TCP connection whose current message stays incomplete this long (default 30 s; 0 disables). */
  frameTimeoutMs?: number;
  /** Default 1024. */
  maxConnections?: number;
  /** UDP messages waiting beyond this are dropped (default 16 * batchSize). */
  maxPendingMessages?: number;
  logger?: SyslogLogger;
}

export interface SyslogServerStats {
  received: number;
  droppedUdp: number;
  failedMessages: number;
  connections: number;
}

export interface SyslogServer {
  udpAddress: AddressInfo | null;
  tcpAddress: AddressInfo | null;
  stats(): SyslogServerStats;
  close(): Promise<void>;
}

/** A framed message before it gets its peer and time. */
export interface RawSyslogMessage {
  bytes: Buffer;
  size: number;
  error: SyslogMessageError | null;
}

const EMPTY = Buffer.alloc(0);
const LF = 10;
const CR = 13;
const NUL = 0;
const SP = 32;
const LT = 0x3c;
const MAX_LENGTH_DIGITS = 9;

function decode(bytes: Buffer, size: number, oversized: boolean): RawSyslogMessage {
  if (oversized) return { bytes, size, error: 'oversized' };
  return { bytes, size, error: isUtf8(bytes) ? null : 'invalid_utf8' };
}

function trimTrailer(b: Buffer): Buffer {
  let n = b.length;
  while (n > 0 && (b[n - 1] === LF || b[n - 1] === CR || b[n - 1] === NUL)) n--;
  return n === b.length ? b : b.subarray(0, n);
}

/** One UDP datagram as a message (null when empty). */
export function datagramMessage(datagram: Buffer, maxMessageBytes: number): RawSyslogMessage | null {
  const b = trimTrailer(datagram);
  if (b.length === 0) return null;
  if (b.length > maxMessageBytes) return decode(b.subarray(0, maxMessageBytes), b.length, true);
  return decode(b, b.length, false);
}

/**
 * RFC 6587 framing of one TCP connection's byte stream, octet counting or non-transparent, decided per message.
 * Pure: `push` chunks, `end` at connection close.
 */
export class TcpSyslogFramer {
  #max: number;
  #buf: Buffer = EMPTY;
  /** Octet-counted oversized message: bytes still to skip. */
  #skip = 0;
  /** Non-transparent oversized message: its kept head and size so far, until its terminator. */
  #over: { head: Buffer; size: number } | null = null;
  /** Position of the next NUL in the current buffer (Infinity: none), so NUL searches stay linear. */
  #nextNul = -1;

  constructor(maxMessageBytes: number) {
    this.#max = maxMessageBytes;
  }

  /** Bytes of an incomplete message held (or being skipped). */
  get hasPartial(): boolean {
    return this.#buf.length > 0 || this.#skip > 0 || this.#over !== null;
  }

  push(chunk: Buffer): RawSyslogMessage[] {
    const out: RawSyslogMessage[] = [];
    const buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const n = buf.length;
    this.#nextNul = -1;
    let i = 0;
    while (i < n) {
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, n - i);
        this.#skip -= take;
        i += take;
        continue;
      }
      if (this.#over !== null) {
        const t = this.#terminator(buf, i);
        const over = this.#over;
        if (t < 0) {
          over.size += n - i;
          i = n;
          break;
        }
        over.size += t - i;
        if (buf[t - 1] === CR && t > i) over.size -= 1;
        out.push(decode(over.head, over.size, true));
        this.#over = null;
        i = t + 1;
        continue;
      }
      const c = buf[i]!;
      if (c >= 0x31 && c <= 0x39) {
        let j = i + 1;
        while (j < n && j - i <= MAX_LENGTH_DIGITS && buf[j]! >= 0x30 && buf[j]! <= 0x39) j++;
        if (j - i <= MAX_LENGTH_DIGITS) {
          if (j >= n || (buf[j] === SP && j + 1 >= n)) break; // need the bytes after the digits to decide
          if (buf[j] === SP && buf[j + 1] === LT) {
            const len = Number(buf.toString('latin1', i, j));
            const start = j + 1;
            if (len > this.#max) {
              if (n - start < this.#max) break;
              out.push(decode(Buffer.from(buf.subarray(start, start + this.#max)), len, true));
              i = start + this.#max;
              this.#skip = len - this.#max;
              continue;
            }
            if (n - start < len) break;
            const msg = trimTrailer(buf.subarray(start, start + len));
            if (msg.length > 0) out.push(decode(msg, msg.length, false));
            i = start + len;
            continue;
          }
        }
      }
      const t = this.#terminator(buf, i);
      if (t < 0) {
        if (n - i > this.#max + 1) {
          this.#over = { head: Buffer.from(buf.subarray(i, i + this.#max)), size: n - i };
          i = n;
        }
        break;
      }
      let e = t;
      if (e > i && buf[e - 1] === CR) e--;
      if (e - i > this.#max) out.push(decode(Buffer.from(buf.subarray(i, i + this.#max)), e - i, true));
      else if (e > i) out.push(decode(buf.subarray(i, e), e - i, false));
      i = t + 1;
    }
    // Keep the incomplete message; copy it so a small remainder does not pin a large chunk.
    this.#buf = i >= n ? EMPTY : Buffer.from(buf.subarray(i));
    return out;
  }

  /** The connection ended: a final message without terminator counts; an incomplete counted frame is lost. */
  end(): { messages: RawSyslogMessage[]; lostBytes: number } {
    const messages: RawSyslogMessage[] = [];
    let lostBytes = 0;
    if (this.#over !== null) {
      messages.push(decode(this.#over.head, this.#over.size, true));
      this.#over = null;
    } else if (this.#skip > 0) {
      this.#skip = 0;
    } else if (this.#buf.length > 0) {
      const b = this.#buf;
      const m = /^[1-9][0-9]{0,8} </.exec(b.toString('latin1', 0, Math.min(b.length, 12)));
      if (m) lostBytes = b.length;
      else {
        const msg = trimTrailer(b);
        if (msg.length > this.#max) messages.push(decode(msg.subarray(0, this.#max), msg.length, true));
        else if (msg.length > 0) messages.push(decode(msg, msg.length, false));
      }
    }
    this.#buf = EMPTY;
    return { messages, lostBytes };
  }

  /** Index of the next LF or NUL at or after `from`, or -1. */
  #terminator(buf: Buffer, from: number): number {
    const lf = buf.indexOf(LF, from);
    if (this.#nextNul < from) {
      const z = buf.indexOf(NUL, from);
      this.#nextNul = z < 0 ? Infinity : z;
    }
    const z = this.#nextNul;
    return z !== Infinity && (lf < 0 || z < lf) ? z : lf;
  }
}

function address(raw: string | undefined): string {
  if (!raw) return 'unknown';
  return raw.startsWith('::ffff:') && isIPv4(raw.slice(7)) ? raw.slice(7) : raw;
}

/** Starts the listeners asked for (only those with a port), resolves once they are bound. */
export async function startSyslogServer(options: SyslogServerOptions): Promise<SyslogServer> {
  const {
    host,
    maxMessageBytes,
    onMessages,
    batchSize,
    flushIntervalMs,
    logger,
    idleTimeoutMs = 10 * 60_000,
    frameTimeoutMs = 30_000,
    maxConnections = 1024,
  } = options;
  if (!(maxMessageBytes >= 1) || !(batchSize >= 1) || !(flushIntervalMs >= 0)) {
    throw new RangeError('syslog: maxMessageBytes and batchSize must be >= 1, flushIntervalMs >= 0');
  }
  const maxPending = options.maxPendingMessages ?? batchSize * 16;
  const stats: SyslogServerStats = { received: 0, droppedUdp: 0, failedMessages: 0, connections: 0 };

  let pending: SyslogMessage[] = [];
  let timer: NodeJS.Timeout | null = null;
  let flushing: Promise<void> | null = null;
  let closing = false;
  const paused = new Set<Socket>();

  const drain = async () => {
    while (pending.length > 0) {
      const batch = pending.length <= batchSize ? pending : pending.slice(0, batchSize);
      pending = batch === pending ? [] : pending.slice(batchSize);
      try {
        await onMessages(batch);
      } catch (err) {
        stats.failedMessages += batch.length;
        logger?.error({ err, messages: batch.length }, 'syslog: onMessages failed; batch dropped');
      }
    }
  };
  const kick = () => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (flushing || pending.length === 0) return;
    flushing = drain().finally(() => {
      flushing = null;
      for (const s of paused) if (!s.destroyed) s.resume();
      paused.clear();
      if (pending.length > 0) kick();
    });
  };
  const enqueue = (m: RawSyslogMessage, peer: string, transport: SyslogTransport, receivedAt: Date) => {
    stats.received += 1;
    pending.push({
      text: m.error === null ? m.bytes.toString('utf8') : null,
      bytes: m.bytes,
      size: m.size,
      peer,
      transport,
      receivedAt,
      error: m.error,
    });
    if (pending.length >= batchSize) kick();
    else if (timer === null && flushing === null) {
      timer = setTimeout(kick, flushIntervalMs);
      timer.unref();
    }
  };

  // UDP
  let udp: UdpSocket | null = null;
  let udpAddress: AddressInfo | null = null;
  if (options.udpPort !== undefined) {
    const sock = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    udp = sock;
    sock.on('message', (datagram, rinfo) => {
      const m = datagramMessage(datagram, maxMessageBytes);
      if (m === null || closing) return;
      if (pending.length >= maxPending) {
        stats.droppedUdp += 1;
        if (stats.droppedUdp === 1 || stats.droppedUdp % 10_000 === 0) {
          logger?.warn({ dropped: stats.droppedUdp }, 'syslog: UDP messages dropped (receiver saturated)');
        }
        return;
      }
      enqueue(m, address(rinfo.address), 'udp', new Date());
    });
    sock.on('error', (err) => logger?.error({ err }, 'syslog: UDP socket error'));
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(options.udpPort, host, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    udpAddress = sock.address();
  }

  // TCP
  let tcp: Server | null = null;
  let tcpAddress: AddressInfo | null = null;
  const connections = new Map<Socket, { framer: TcpSyslogFramer; peer: string; partialSince: number }>();
  const finishConnection = (socket: Socket) => {
    const conn = connections.get(socket);
    if (!conn) return;
    connections.delete(socket);
    paused.delete(socket);
    stats.connections = connections.size;
    const { messages, lostBytes } = conn.framer.end();
    const now = new Date();
    for (const m of messages) enqueue(m, conn.peer, 'tcp', now);
    if (lostBytes > 0)
      logger?.warn({ peer: conn.peer, lostBytes }, 'syslog: connection closed inside a counted frame');
  };
  let sweeper: NodeJS.Timeout | null = null;
  if (options.tcpPort !== undefined) {
    const server = createServer({ allowHalfOpen: false }, (socket) => {
      if (closing) {
        socket.destroy();
        return;
      }
      const conn = {
        framer: new TcpSyslogFramer(maxMessageBytes),
        peer: address(socket.remoteAddress),
        partialSince: 0,
      };
      connections.set(socket, conn);
      stats.connections = connections.size;
      if (idleTimeoutMs > 0) {
        socket.setTimeout(idleTimeoutMs, () => {
          logger?.info({ peer: conn.peer }, 'syslog: idle connection closed');
          socket.destroy();
        });
      }
      socket.on('data', (chunk: Buffer) => {
        const now = new Date();
        for (const m of conn.framer.push(chunk)) enqueue(m, conn.peer, 'tcp', now);
        conn.partialSince = conn.framer.hasPartial ? conn.partialSince || Date.now() : 0;
        if (flushing !== null && !closing) {
          socket.pause();
          paused.add(socket);
        }
      });
      socket.on('end', () => finishConnection(socket));
      socket.on('close', () => finishConnection(socket));
      socket.on('error', (err) => {
        logger?.warn({ err, peer: conn.peer }, 'syslog: connection error');
      });
    });
    server.maxConnections = maxConnections;
    server.on('error', (err) => logger?.error({ err }, 'syslog: TCP server error'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.tcpPort, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    tcp = server;
    tcpAddress = server.address() as AddressInfo;
    if (frameTimeoutMs > 0) {
      sweeper = setInterval(
        () => {
          const limit = Date.now() - frameTimeoutMs;
          for (const [socket, conn] of connections) {
            if (conn.partialSince > 0 && conn.partialSince <= limit) {
              logger?.warn({ peer: conn.peer }, 'syslog: incomplete message timed out; connection closed');
              connections.delete(socket);
              stats.connections = connections.size;
              socket.destroy();
            }
          }
        },
        Math.max(10, Math.min(1000, Math.floor(frameTimeoutMs / 4))),
      );
      sweeper.unref();
    }
  }

  logger?.info({ udp: udpAddress, tcp: tcpAddress }, 'syslog receiver listening');

  return {
    udpAddress,
    tcpAddress,
    stats: () => ({ ...stats }),
    async close() {
      if (closing) return;
      closing = true;
      if (sweeper) clearInterval(sweeper);
      const closed: Promise<void>[] = [];
      if (udp) {
        const sock = udp;
        closed.push(new Promise((resolve) => sock.close(() => resolve())));
      }
      if (tcp) {
        const server = tcp;
        closed.push(new Promise((resolve) => server.close(() => resolve())));
        for (const socket of [...connections.keys()]) {
          finishConnection(socket);
          socket.destroy();
        }
      }
      await Promise.all(closed);
      kick();
      while (flushing) await flushing;
    },
  };
}
