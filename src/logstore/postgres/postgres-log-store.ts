/**
 * The PostgreSQL log store (`logs.store: postgres`): events in the partitioned `log_events` table of the
 * relational database (migration 0009), on PostgreSQL or PGlite.
 *
 * - Reads and writes run in `db.tenant(tenantId, ...)`: as `vigil_app`, under row-level security, with the
 *   tenant's id in the transaction. Partition DDL runs on the owner connection before the append needs it.
 * - append: one statement per batch with array parameters (`unnest`), deduplicated on (tenant, timestamp, id);
 *   seq comes from the tenant's `log_seq` row, locked first, so a tenant's appends commit in seq order.
 * - console: a lexical check (console-guard.ts), then the user's SELECT runs as `vigil_log_reader` in a
 *   read-only transaction with a statement timeout (console-sandbox.ts).
 */
import type { Database, DrizzleTx } from '../../db/client.ts';
import { UnavailableError, ValidationError } from '../../domain/errors.ts';
import { isUuid } from '../../domain/ids.ts';
import type {
  AppendBatch,
  AppendResult,
  ConsoleResult,
  HistogramBucket,
  LogEventRow,
  LogPage,
  LogQuery,
  QuarantineRow,
  StreamCheckpoint,
  TopValue,
} from '../../domain/log-event.ts';
import { encodeCursor } from '../cursor.ts';
import type { ConsoleOptions, LogStore } from '../log-store.ts';
import {
  boundQuarantineRaw,
  checkConsoleOptions,
  checkHistogramInterval,
  checkQuarantineListing,
  checkReadSince,
  checkRecentMinutes,
  checkTenantId,
  checkTopLimit,
  escapeLike,
  planLogQuery,
  resolveField,
  type FieldRef,
  type LogQueryPlan,
} from '../query-plan.ts';
import {
  checkDetectOptions,
  errorReason,
  type DetectionRuleInput,
  type DetectOptions,
  type DetectResult,
} from '../detect.ts';
import { compilePredicate, defaultFieldSql } from '../../sigma/backends/index.ts';
import { checkConsoleSql } from './console-guard.ts';
import { ConsoleSandbox } from './console-sandbox.ts';
import { connOf, pgText, toBytes, toDate, toNullableNumber, toNumber, type Conn } from './driver.ts';
import { PartitionManager } from './partitions.ts';
import { encodePostgresEvents } from './event-encoding.ts';
import { expectEncoding, type EncodedAppendBatch } from '../encoding.ts';

/** The columns of LogEventRow, as stored and as the console's `logs` shows them. */
const EVENT_COLUMNS = `tenant_id, id, seq, "timestamp", raw, appname, file, host, hostname, message, procid,
  source_type, normalized, metadata, ingestion_time, source_id, original`;

interface EventRecord {
  tenant_id: string;
  id: string;
  seq: unknown;
  timestamp: unknown;
  raw: string;
  appname: string | null;
  file: string | null;
  host: string | null;
  hostname: string | null;
  message: string | null;
  procid: unknown;
  source_type: string;
  normalized: Record<string, unknown> | null;
  metadata: Record<string, unknown> | null;
  ingestion_time: unknown;
  source_id: string | null;
  original: unknown;
}

function toEventRow(r: EventRecord): LogEventRow {
  return {
    tenantId: r.tenant_id,
    id: r.id,
    seq: toNumber(r.seq),
    timestamp: toDate(r.timestamp),
    raw: r.raw,
    appname: r.appname,
    file: r.file,
    host: r.host,
    hostname: r.hostname,
    message: r.message,
    procid: toNullableNumber(r.procid),
    sourceType: r.source_type,
    normalized: r.normalized ?? {},
    metadata: r.metadata ?? {},
    sourceId: r.source_id,
    original: r.original ?? null,
    ingestionTime: toDate(r.ingestion_time),
  };
}

function bad(path: string, message: string): ValidationError {
  return new ValidationError(`invalid ${path}: ${message}`, [{ path, message }]);
}

/** Builds a WHERE clause with numbered parameters. */
class Where {
  readonly params: unknown[] = [];
  readonly parts: string[] = [];

  /** Add a parameter, return its placeholder. */
  p(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  add(part: string): this {
    this.parts.push(part);
    return this;
  }

  get sql(): string {
    return this.parts.length ? `where ${this.parts.join(' and ')}` : '';
  }
}

/** The SQL of a field's value as text (top values) or typed (filters). */
function fieldSql(ref: FieldRef, w: Where, asText: boolean): string {
  if (ref.kind === 'normalized') return `(normalized #>> ${w.p(ref.path)}::text[])`;
  return asText && ref.valueType !== 'text' ? `(${ref.column})::text` : ref.column;
}

function planWhere(tenantId: string, plan: LogQueryPlan): Where {
  const w = new Where();
  w.add(`tenant_id = ${w.p(tenantId)}`);
  if (plan.from) w.add(`"timestamp" >= ${w.p(plan.from.toISOString())}::timestamptz`);
  if (plan.to) w.add(`"timestamp" < ${w.p(plan.to.toISOString())}::timestamptz`);
  for (const f of plan.filters) {
    const ref = f.ref;
    if (ref.kind === 'normalized') {
      const field = fieldSql(ref, w, true);
      w.add(`${field} = any(${w.p(f.values.map(String))}::text[])`);
    } else {
      const cast = ref.valueType === 'uuid' ? 'uuid[]' : ref.valueType === 'integer' ? 'bigint[]' : 'text[]';
      const values = ref.valueType === 'integer' ? f.values.map(Number) : f.values.map(String);
      w.add(`${ref.column} = any(${w.p(values)}::${cast})`);
    }
  }
  if (plan.text) {
    const pattern = w.p(`%${escapeLike(plan.text)}%`);
    // As the DuckDB store: the raw record, and the decoded message of structured records only (a text
    // line's message is a piece of its raw line).
    w.add(
      `(raw ilike ${pattern} escape '\\' or (source_type in ('json', 'windows_event', 'csv', 'cef') ` +
        `and message ilike ${pattern} escape '\\'))`,
    );
  }
  return w;
}

export class PostgresLogStore implements LogStore {
  readonly kind = 'postgres' as const;
  readonly partitions: PartitionManager;
  readonly sandbox: ConsoleSandbox;

  constructor(
    private readonly db: Database,
    opts: {
      /** How long partition DDL waits for the table before the events go to the DEFAULT partition. */
      partitionLockTimeoutMs?: number;
    } = {},
  ) {
    this.partitions = new PartitionManager(db, opts.partitionLockTimeoutMs);
    this.sandbox = new ConsoleSandbox(db);
  }

  /** The tables come from migration 0009: check they are there. */
  async init(): Promise<void> {
    const [row] = await this.db.query<{ ok: boolean }>(`select to_regclass('log_events') is not null as ok`);
    if (!row?.ok) {
      throw new UnavailableError('the log_events table is missing: run `vigil db migrate` (migration 0009)');
    }
  }

  async close(): Promise<void> {
    // The relational database belongs to the container, which closes it.
  }

  /** Run `fn` on the tenant's transaction, as the driver connection. */
  async #tenant<T>(tenantId: string, fn: (c: Conn, tx: DrizzleTx) => Promise<T>): Promise<T> {
    return this.db.tenant(tenantId, (tx) => fn(connOf(tx, this.db.engine), tx));
  }

  // -------------------------------------------------------------------------------------------------------
  // Writes

  readonly eventEncoding = 'postgres' as const;
  /** Larger batches measured slower (bench:ingest: 58,620 events/s at 20,000, 51,327 at 122,880). */
  readonly preferredBatchSize = 20_000;

  async append(batch: AppendBatch): Promise<AppendResult> {
    const tenantId = checkTenantId(batch.tenantId);
    return this.appendEncoded({ ...batch, events: encodePostgresEvents(tenantId, batch.events ?? []) });
  }

  async appendEncoded(batch: EncodedAppendBatch): Promise<AppendResult> {
    const tenantId = checkTenantId(batch.tenantId);
    const events = expectEncoding(batch, 'postgres', tenantId);
    const quarantine = batch.quarantine ?? [];
    for (const [i, q] of quarantine.entries()) {
      if (q.tenantId?.toLowerCase() !== tenantId)
        throw bad(`quarantine.${i}.tenantId`, 'must be the batch tenant');
      if (typeof q.id !== 'string' || !isUuid(q.id)) throw bad(`quarantine.${i}.id`, 'must be a UUID');
      for (const k of ['runId', 'sourceId'] as const) {
        const v = q[k];
        if (v != null && !isUuid(v)) throw bad(`quarantine.${i}.${k}`, 'must be a UUID');
      }
    }
    const cp = batch.checkpoint;
    if (cp && cp.tenantId?.toLowerCase() !== tenantId)
      throw bad('checkpoint.tenantId', 'must be the batch tenant');

    if (events.count > 0) await this.partitions.ensure(events.days);

    return this.#tenant(tenantId, async (c) => {
      let inserted = 0;
      let lastSeq = 0;
      if (events.count > 0) {
        // Lock the tenant's counter row first: until this transaction ends, another append of the tenant
        // waits here, so seqs are handed out in commit order and without gaps.
        const [counter] = await c.query<{ last_seq: unknown }>(
          `insert into log_seq (tenant_id) values ($1)
             on conflict (tenant_id) do update set last_seq = log_seq.last_seq
           returning last_seq`,
          [tenantId],
        );
        const base = toNumber(counter?.last_seq);
        const [res] = await c.query<{ inserted: number; last_seq: unknown }>(INSERT_EVENTS, [
          tenantId,
          ...events.columns,
          events.json,
          base,
          new Date(events.minMs).toISOString(),
          new Date(events.maxMs).toISOString(),
        ]);
        inserted = res?.inserted ?? 0;
        lastSeq = inserted > 0 ? toNumber(res?.last_seq) : 0;
        if (inserted > 0) {
          await c.query('update log_seq set last_seq = $2 where tenant_id = $1', [tenantId, lastSeq]);
        }
      }
      if (quarantine.length) {
        await c.query(INSERT_QUARANTINE, [
          tenantId,
          quarantine.map((q) => q.id),
          quarantine.map((q) => q.runId ?? null),
          quarantine.map((q) => q.sourceId ?? null),
          quarantine.map((q) => pgText(q.input ?? null)),
          quarantine.map((q) => q.position ?? null),
          quarantine.map((q) => q.line ?? null),
          quarantine.map((q) => pgText(q.reason)),
          quarantine.map((q) => Buffer.from(boundQuarantineRaw(q.raw ?? new Uint8Array())).toString('hex')),
          quarantine.map((q) => q.rawSize ?? q.raw?.byteLength ?? 0),
        ]);
      }
      if (cp) {
        await c.query(
          `insert into ingest_checkpoints (tenant_id, stream_key, "offset", records, path, first_seen, chain,
                                           head_hash, updated_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, now())
           on conflict (tenant_id, stream_key) do update
             set "offset" = excluded."offset", records = excluded.records, path = excluded.path,
                 first_seen = excluded.first_seen, chain = excluded.chain, head_hash = excluded.head_hash,
                 updated_at = now()`,
          [
            tenantId,
            cp.streamKey,
            cp.offset,
            cp.records,
            pgText(cp.path ?? null),
            cp.firstSeen.toISOString(),
            cp.chain ?? null,
            cp.headHash ?? null,
          ],
        );
      }
      return { inserted, duplicates: events.given - inserted, quarantined: quarantine.length, lastSeq };
    });
  }

  async purge(tenantId: string, before: Date): Promise<{ events: number; quarantined: number }> {
    const id = checkTenantId(tenantId);
    if (!(before instanceof Date) || Number.isNaN(before.getTime()))
      throw bad('before', 'must be a valid date');
    return this.#tenant(id, async (c) => {
      const [e] = await c.query<{ n: number }>(
        `with d as (delete from log_events where tenant_id = $1 and "timestamp" < $2 returning 1)
         select count(*)::int as n from d`,
        [id, before.toISOString()],
      );
      const [q] = await c.query<{ n: number }>(
        `with d as (delete from log_quarantine where tenant_id = $1 and received_at < $2 returning 1)
         select count(*)::int as n from d`,
        [id, before.toISOString()],
      );
      return { events: e?.n ?? 0, quarantined: q?.n ?? 0 };
    });
  }

  /** Drop whole daily partitions past the longest retention of all tenants (see PartitionManager). */
  async dropExpiredPartitions(now: Date = new Date()): Promise<{ cutoff: Date | null; dropped: string[] }> {
    return this.partitions.dropExpired(now);
  }

  // -------------------------------------------------------------------------------------------------------
  // Reads

  async fetchLogs(tenantId: string, query: LogQuery = {}): Promise<LogPage> {
    const id = checkTenantId(tenantId);
    const plan = planLogQuery(query, true);
    return this.#page(id, plan);
  }

  async fetchRecent(
    tenantId: string,
    minutes: number,
    query: Omit<LogQuery, 'from' | 'to'> = {},
  ): Promise<LogPage> {
    const id = checkTenantId(tenantId);
    const m = checkRecentMinutes(minutes);
    const plan = planLogQuery({ ...query, from: new Date(Date.now() - m * 60_000), to: undefined }, true);
    return this.#page(id, plan);
  }

  async #page(tenantId: string, plan: LogQueryPlan): Promise<LogPage> {
    const w = planWhere(tenantId, plan);
    if (plan.cursor) {
      w.add(
        `("timestamp", id) < (${w.p(plan.cursor.timestamp.toISOString())}::timestamptz, ${w.p(plan.cursor.id)}::uuid)`,
      );
    }
    const rows = await this.#tenant(tenantId, (c) =>
      c.query<EventRecord>(
        `select ${EVENT_COLUMNS} from log_events ${w.sql}
          order by "timestamp" desc, id desc limit ${w.p(plan.limit + 1)}`,
        w.params,
      ),
    );
    const items = rows.slice(0, plan.limit).map(toEventRow);
    const last = items.at(-1);
    const nextCursor =
      rows.length > plan.limit && last ? encodeCursor({ timestamp: last.timestamp, id: last.id }) : null;
    return { items, nextCursor };
  }

  async count(tenantId: string, query: Omit<LogQuery, 'limit' | 'cursor'> = {}): Promise<number> {
    const id = checkTenantId(tenantId);
    const w = planWhere(id, planLogQuery(query, false));
    const [row] = await this.#tenant(id, (c) =>
      c.query<{ n: unknown }>(`select count(*) as n from log_events ${w.sql}`, w.params),
    );
    return toNumber(row?.n);
  }

  async topValues(
    tenantId: string,
    field: string,
    query: Omit<LogQuery, 'limit' | 'cursor'> = {},
    limit?: number,
  ): Promise<TopValue[]> {
    const id = checkTenantId(tenantId);
    const ref = resolveField(field, 'field');
    const n = checkTopLimit(limit);
    const w = planWhere(id, planLogQuery(query, false));
    const value = fieldSql(ref, w, true);
    const rows = await this.#tenant(id, (c) =>
      c.query<{ value: string | null; count: unknown }>(
        `select value, count from (
           select ${value} as value, count(*) as count from log_events ${w.sql} group by 1) as v
          order by count desc, value collate "C" asc nulls last limit ${w.p(n)}`,
        w.params,
      ),
    );
    return rows.map((r) => ({ value: r.value, count: toNumber(r.count) }));
  }

  async histogram(
    tenantId: string,
    intervalSeconds: number,
    query: Omit<LogQuery, 'limit' | 'cursor'> = {},
  ): Promise<HistogramBucket[]> {
    const id = checkTenantId(tenantId);
    const interval = checkHistogramInterval(intervalSeconds);
    const w = planWhere(id, planLogQuery(query, false));
    const i = w.p(interval);
    const rows = await this.#tenant(id, (c) =>
      c.query<{ start_ms: unknown; count: unknown }>(
        `select (floor(extract(epoch from "timestamp") / ${i}::int) * ${i}::int * 1000)::float8 as start_ms,
                count(*) as count
           from log_events ${w.sql} group by 1 order by 1`,
        w.params,
      ),
    );
    return rows.map((r) => ({ start: new Date(toNumber(r.start_ms)), count: toNumber(r.count) }));
  }

  /**
   * One statement per rule over the seq range, each in its own tenant transaction (so a rule that fails at
   * run time, e.g. on a statement timeout, leaves the others running), with the rule's values as parameters.
   */
  async detect(
    tenantId: string,
    rules: readonly DetectionRuleInput[],
    opts: DetectOptions,
  ): Promise<DetectResult> {
    const id = checkTenantId(tenantId);
    const o = checkDetectOptions(opts);
    const started = performance.now();
    const result: DetectResult = { scanned: 0, matches: new Map(), errors: new Map(), elapsedMs: 0 };
    const range = [id, o.afterSeq, o.uptoSeq];
    const [row] = await this.#tenant(id, (c) =>
      c.query<{ n: unknown }>(
        'select count(*) as n from log_events where tenant_id = $1 and seq > $2 and seq <= $3',
        range,
      ),
    );
    result.scanned = toNumber(row?.n);
    for (const rule of rules) {
      let frag: { sql: string; params: unknown[] };
      let extra: string;
      try {
        frag = compilePredicate(rule.node, 'postgres', { paramOffset: range.length });
        // Requested fields come back as columns x0, x1, ... in the order the rule gave them.
        extra = (rule.fields ?? [])
          .map((f, i) => `, ${defaultFieldSql(f.ref, 'postgres')} as x${i}`)
          .join('');
      } catch (e) {
        result.errors.set(rule.key, errorReason(e));
        continue;
      }
      if (result.scanned === 0) continue;
      try {
        const rows = await this.#tenant(id, (c) =>
          c.query<Record<string, unknown>>(
            `select id::text as id, seq, "timestamp", host, hostname, normalized ->> 'src_ip' as src_ip,
               normalized ->> 'dst_ip' as dst_ip, normalized ->> 'user' as usr, source_id::text as source_id,
               count(*) over () as total${extra}
             from log_events
             where tenant_id = $1 and seq > $2 and seq <= $3 and (${frag.sql})
             order by seq limit ${o.maxMatchesPerRule}`,
            [...range, ...frag.params],
          ),
        );
        if (rows.length === 0) continue;
        result.matches.set(rule.key, {
          count: toNumber(rows[0]!.total),
          events: rows.map((r) => ({
            id: String(r.id),
            seq: toNumber(r.seq),
            timestamp: toDate(r.timestamp),
            host: pgText(r.host as string | null),
            hostname: pgText(r.hostname as string | null),
            srcIp: pgText(r.src_ip as string | null),
            dstIp: pgText(r.dst_ip as string | null),
            user: pgText(r.usr as string | null),
            sourceId: r.source_id === null ? null : String(r.source_id),
            ...(rule.fields?.length
              ? {
                  fields: Object.fromEntries(
                    rule.fields.map((f, i) => [f.name, r[`x${i}`] == null ? null : String(r[`x${i}`])]),
                  ),
                }
              : {}),
          })),
        });
      } catch (e) {
        result.errors.set(rule.key, errorReason(e));
      }
    }
    return { ...result, elapsedMs: performance.now() - started };
  }

  async readSince(tenantId: string, afterSeq: number, limit: number): Promise<LogEventRow[]> {
    const id = checkTenantId(tenantId);
    checkReadSince(afterSeq, limit);
    const rows = await this.#tenant(id, (c) =>
      c.query<EventRecord>(
        `select ${EVENT_COLUMNS} from log_events where tenant_id = $1 and seq > $2 order by seq limit $3`,
        [id, afterSeq, limit],
      ),
    );
    return rows.map(toEventRow);
  }

  async maxSeq(tenantId: string): Promise<number> {
    const id = checkTenantId(tenantId);
    const [row] = await this.#tenant(id, (c) =>
      c.query<{ n: unknown }>('select coalesce(max(seq), 0) as n from log_events where tenant_id = $1', [id]),
    );
    return toNumber(row?.n);
  }

  async getCheckpoint(tenantId: string, streamKey: string): Promise<StreamCheckpoint | undefined> {
    const id = checkTenantId(tenantId);
    if (typeof streamKey !== 'string' || streamKey.length === 0)
      throw bad('streamKey', 'must be a non-empty string');
    const [row] = await this.#tenant(id, (c) =>
      c.query<{
        tenant_id: string;
        stream_key: string;
        offset: unknown;
        records: unknown;
        path: string | null;
        first_seen: unknown;
        chain: string | null;
        head_hash: string | null;
        updated_at: unknown;
      }>(
        `select tenant_id, stream_key, "offset", records, path, first_seen, chain, head_hash, updated_at
           from ingest_checkpoints where tenant_id = $1 and stream_key = $2`,
        [id, streamKey],
      ),
    );
    if (!row) return undefined;
    return {
      tenantId: row.tenant_id,
      streamKey: row.stream_key,
      offset: toNumber(row.offset),
      records: toNumber(row.records),
      path: row.path,
      firstSeen: toDate(row.first_seen),
      chain: row.chain,
      headHash: row.head_hash,
      updatedAt: toDate(row.updated_at),
    };
  }

  async listQuarantine(
    tenantId: string,
    opts: { runId?: string; limit?: number; offset?: number } = {},
  ): Promise<{ items: QuarantineRow[]; total: number }> {
    const id = checkTenantId(tenantId);
    const { limit, offset } = checkQuarantineListing(opts);
    if (opts.runId !== undefined && (typeof opts.runId !== 'string' || !isUuid(opts.runId))) {
      throw bad('runId', 'must be a UUID');
    }
    const w = new Where();
    w.add(`tenant_id = ${w.p(id)}`);
    if (opts.runId !== undefined) w.add(`run_id = ${w.p(opts.runId)}`);
    return this.#tenant(id, async (c) => {
      const [total] = await c.query<{ n: unknown }>(
        `select count(*) as n from log_quarantine ${w.sql}`,
        w.params,
      );
      const rows = await c.query<{
        tenant_id: string;
        id: string;
        run_id: string | null;
        source_id: string | null;
        input: string | null;
        position: unknown;
        line: unknown;
        reason: string;
        raw: unknown;
        raw_size: unknown;
        received_at: unknown;
      }>(
        `select tenant_id, id, run_id, source_id, input, "position", line, reason, raw, raw_size, received_at
           from log_quarantine ${w.sql}
          order by received_at desc, id desc limit ${w.p(limit)} offset ${w.p(offset)}`,
        w.params,
      );
      return {
        total: toNumber(total?.n),
        items: rows.map((r) => ({
          tenantId: r.tenant_id,
          id: r.id,
          runId: r.run_id,
          sourceId: r.source_id,
          input: r.input,
          position: toNullableNumber(r.position),
          line: toNullableNumber(r.line),
          reason: r.reason,
          raw: toBytes(r.raw),
          rawSize: toNumber(r.raw_size),
          receivedAt: toDate(r.received_at),
        })),
      };
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // The console

  /**
   * seed 002's execute_query, sandboxed. The lexical check (console-guard.ts) comes first, for clear
   * refusals; then the database layers of console-sandbox.ts, which hold on their own (the tests run the
   * attacks through them without the lexical check).
   */
  async console(tenantId: string, sql: string, opts: ConsoleOptions = {}): Promise<ConsoleResult> {
    const id = checkTenantId(tenantId);
    const options = checkConsoleOptions(opts);
    const query = checkConsoleSql(sql);
    return this.sandbox.run(id, query, options);
  }
}

/**
 * One statement per batch (parameters: see PostgresEncodedEvents.columns). Ids already stored in the batch's
 * time range are left out (the pipeline gives a re-ingested event the same id and time; a hashed NOT IN, one
 * index range scan whatever the batch size); the rest are numbered base + 1, base + 2, ... in batch order.
 * Times travel as epoch milliseconds (exact integer arithmetic on the way to timestamptz): parsing ISO text
 * with timestamptz_in cost the server 1 to 3 µs of CPU per event (paired runs), of the 15 to 20 an append takes.
 * Repeated ids within the batch were dropped by the encoder; ON CONFLICT is the safety net.
 */
const INSERT_EVENTS = `
with u as (
  select *
    from rows from (unnest($2::uuid[]), unnest($3::bigint[]), unnest($4::text[]), unnest($5::text[]),
                    unnest($6::text[]), unnest($7::text[]), unnest($8::text[]), unnest($9::text[]),
                    unnest($10::bigint[]), unnest($11::text[]), unnest($12::uuid[]), jsonb_array_elements($13::jsonb))
         with ordinality
         as u(id, ms, raw, appname, file, host, hostname, message, procid, source_type, source_id, j, n)
), fresh as (
  select u.*, row_number() over (order by u.n) as k
    from u
   where u.id not in (select e.id from log_events e
                       where e.tenant_id = $1::uuid and e."timestamp" >= $15::timestamptz
                         and e."timestamp" <= $16::timestamptz)
), ins as (
  insert into log_events (tenant_id, id, seq, "timestamp", raw, appname, file, host, hostname, message, procid,
                          source_type, normalized, metadata, source_id, original)
  select $1::uuid, f.id, $14::bigint + f.k, timestamptz 'epoch' + f.ms * interval '1 millisecond', f.raw,
         f.appname, f.file, f.host, f.hostname, f.message,
         f.procid, f.source_type, coalesce(f.j->0, '{}'::jsonb), coalesce(f.j->1, '{}'::jsonb), f.source_id,
         nullif(f.j->2, 'null'::jsonb)
    from fresh f
  on conflict do nothing
  returning seq
)
select count(*)::int as inserted, coalesce(max(seq), 0) as last_seq from ins`;

const INSERT_QUARANTINE = `
insert into log_quarantine (tenant_id, id, run_id, source_id, input, "position", line, reason, raw, raw_size)
select $1::uuid, u.id, u.run_id, u.source_id, u.input, u.position, u.line, u.reason, decode(u.raw_hex, 'hex'),
       u.raw_size
  from unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::bigint[], $7::bigint[], $8::text[], $9::text[],
              $10::bigint[]) as u(id, run_id, source_id, input, position, line, reason, raw_hex, raw_size)
on conflict (tenant_id, id) do nothing`;
