import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import { mappedCounterpart } from '../../src/domain/schemas/indicator.schema.ts';
import { IndicatorRepository } from '../../src/repositories/indicator.repository.ts';
import type { Tenant } from '../../src/repositories/tenant.repository.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

const HOUR = 3_600_000;
const past = () => new Date(Date.now() - HOUR);
const future = () => new Date(Date.now() + HOUR);
let seq = 0;
/** A source name unique to one test, so tests sharing a database do not see each other's rows. */
const feed = (name: string) => `${name}-${++seq}`;

describe.each(engines())('IndicatorRepository on %s', (engine) => {
  let t: TestDb;
  let repo: IndicatorRepository;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    t = await createTestDb(engine);
    repo = new IndicatorRepository(t.db);
    a = await makeTenant(t.db, 'Acme');
    b = await makeTenant(t.db, 'Beta');
  });
  afterAll(async () => t?.dispose());

  it('creates, reads, updates and deletes a private indicator', async () => {
    const i = await repo.create(a.id, {
      type: 'domain',
      value: 'Evil[.]Example.COM.',
      source: 'analyst',
      threatType: 'phishing',
      confidence: 0.8,
      tags: ['campaign-x'],
    });
    expect(i).toMatchObject({
      tenantId: a.id,
      type: 'domain',
      value: 'evil.example.com',
      status: 'active',
      confidence: 0.8,
      sightings: 0,
      tags: ['campaign-x'],
      metadata: {},
    });
    expect(await repo.get(a.id, i.id)).toEqual(i);

    const u = await repo.update(a.id, i.id, {
      confidence: 0.95,
      status: 'inactive',
      description: 'seen in mail',
    });
    expect(u).toMatchObject({
      confidence: 0.95,
      status: 'inactive',
      description: 'seen in mail',
      value: i.value,
    });
    expect(u.updatedAt.getTime()).toBeGreaterThanOrEqual(i.updatedAt.getTime());
    expect(await repo.update(a.id, i.id, {})).toEqual(u);

    await repo.delete(a.id, i.id);
    expect(await repo.get(a.id, i.id)).toBeUndefined();
    await expect(repo.delete(a.id, i.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.update(a.id, i.id, { confidence: 0.1 })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('normalises values by type', async () => {
    const src = feed('norm');
    const cases: [Parameters<IndicatorRepository['create']>[1]['type'], string, string][] = [
      ['ip', ' 2001:DB8:0:0::1 ', '2001:db8::1'],
      ['cidr', '203.0.113.77/24', '203.0.113.0/24'],
      ['cidr', '2001:db8:abcd:12::5/48', '2001:db8:abcd::/48'],
      ['cidr', '198.51.100.9', '198.51.100.9/32'],
      ['url', 'hxxps://bad[.]example/path?a=B', 'https://bad.example/path?a=B'],
      ['sha256', 'A'.repeat(64), 'a'.repeat(64)],
      ['email', 'Phish[@]Example.org', 'phish@example.org'],
    ];
    for (const [type, value, stored] of cases) {
      expect((await repo.create(a.id, { type, value, source: src })).value).toBe(stored);
    }
  });

  it('rejects bad input with the field named', async () => {
    const base = { type: 'ip', value: '192.0.2.1', source: 'analyst' } as const;
    const conf = repo.create(a.id, { ...base, confidence: 1.5 });
    await expect(conf).rejects.toBeInstanceOf(ValidationError);
    await expect(conf).rejects.toMatchObject({ issues: [{ path: 'confidence' }] });
    await expect(repo.create(a.id, { ...base, confidence: -0.1 })).rejects.toMatchObject({
      issues: [{ path: 'confidence' }],
    });
    await expect(repo.create(a.id, { ...base, value: '999.1.1.1' })).rejects.toMatchObject({
      issues: [{ path: 'value' }],
    });
    await expect(repo.create(a.id, { ...base, type: 'cidr', value: '10.0.0.0/33' })).rejects.toMatchObject({
      issues: [{ path: 'value' }],
    });
    await expect(repo.create(a.id, { ...base, type: 'md5', value: 'abc' })).rejects.toMatchObject({
      issues: [{ path: 'value' }],
    });
    // @ts-expect-error: not an indicator type
    await expect(repo.create(a.id, { ...base, type: 'vibe' })).rejects.toMatchObject({
      issues: [{ path: 'type' }],
    });
    await expect(repo.create(a.id, { ...base, source: '' })).rejects.toMatchObject({
      issues: [{ path: 'source' }],
    });
    const i = await repo.create(a.id, { ...base, source: feed('v') });
    await expect(repo.update(a.id, i.id, { confidence: 2 })).rejects.toMatchObject({
      issues: [{ path: 'confidence' }],
    });
    await expect(repo.list(a.id, { filters: { minConfidence: 3 } })).rejects.toMatchObject({
      issues: [{ path: 'minConfidence' }],
    });
  });

  it('maps a duplicate identity to a Conflict, per owner', async () => {
    const src = feed('dup');
    const ind = { type: 'domain', value: 'dup.example', source: src } as const;
    await repo.createGlobal(ind);
    await expect(repo.createGlobal({ ...ind, value: 'DUP.example' })).rejects.toBeInstanceOf(ConflictError);
    await repo.create(a.id, ind);
    await expect(repo.create(a.id, ind)).rejects.toBeInstanceOf(ConflictError);
    await expect(repo.create(b.id, ind)).resolves.toMatchObject({ tenantId: b.id });
  });

  it('shows global indicators to every tenant and private ones only to their owner', async () => {
    const src = feed('scope');
    const g = await repo.createGlobal({ type: 'domain', value: 'global.example', source: src });
    const pa = await repo.create(a.id, { type: 'domain', value: 'acme.example', source: src });
    const pb = await repo.create(b.id, { type: 'domain', value: 'beta.example', source: src });
    expect(g.tenantId).toBeNull();

    const listA = await repo.list(a.id, { filters: { source: src } });
    expect(listA.items.map((i) => i.value).sort()).toEqual(['acme.example', 'global.example']);
    expect(listA.total).toBe(2);
    const listB = await repo.list(b.id, { filters: { source: src } });
    expect(listB.items.map((i) => i.value).sort()).toEqual(['beta.example', 'global.example']);

    expect(await repo.get(a.id, g.id)).toMatchObject({ id: g.id });
    expect(await repo.get(b.id, g.id)).toMatchObject({ id: g.id });
    expect(await repo.get(b.id, pa.id)).toBeUndefined();
    expect(await repo.get(a.id, pb.id)).toBeUndefined();

    // no tenant changes another's private indicator, nor a global one
    await expect(repo.update(b.id, pa.id, { status: 'inactive' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.delete(b.id, pa.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.recordSighting(b.id, pa.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.update(a.id, g.id, { confidence: 0 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.delete(a.id, g.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await repo.get(a.id, pa.id)).toMatchObject({ status: 'active', sightings: 0 });
    expect(await repo.get(b.id, g.id)).toMatchObject({ confidence: null });

    // a tenant's lookup never returns another tenant's private indicator
    expect((await repo.lookup(b.id, ['acme.example', 'global.example'])).map((i) => i.id)).toEqual([g.id]);
  });

  it('lists with filters, expiry and pagination totals', async () => {
    const src = feed('list');
    for (let i = 0; i < 5; i++) {
      await repo.create(a.id, {
        type: i % 2 ? 'domain' : 'ip',
        value: i % 2 ? `host${i}.example` : `192.0.2.${i}`,
        source: src,
        threatType: i < 2 ? 'c2' : 'malware',
        confidence: i / 5,
      });
    }
    await repo.create(a.id, { type: 'domain', value: 'old.example', source: src, expiresAt: past() });
    await repo.create(a.id, { type: 'domain', value: 'gone.example', source: src, status: 'expired' });
    await repo.create(a.id, { type: 'domain', value: 'later.example', source: src, expiresAt: future() });

    const all = await repo.list(a.id, { filters: { source: src }, limit: 2, sort: 'value' });
    expect(all.total).toBe(6);
    expect(all.items.map((i) => i.value)).toEqual(['192.0.2.0', '192.0.2.2']);
    const last = await repo.list(a.id, { filters: { source: src }, limit: 2, offset: 4, sort: 'value' });
    expect(last.items.map((i) => i.value)).toEqual(['host3.example', 'later.example']);

    const withExpired = await repo.list(a.id, { filters: { source: src, includeExpired: true } });
    expect(withExpired.total).toBe(8);
    expect((await repo.list(a.id, { filters: { source: src, type: 'ip' } })).total).toBe(3);
    expect((await repo.list(a.id, { filters: { source: src, threatType: 'c2' } })).total).toBe(2);
    const confident = await repo.list(a.id, { filters: { source: src, minConfidence: 0.6 } });
    expect(confident.items.map((i) => i.value).sort()).toEqual(['192.0.2.4', 'host3.example']);
    expect((await repo.list(a.id, { filters: { source: src, q: 'HOST' } })).total).toBe(2);
    expect((await repo.list(a.id, { filters: { source: src, q: '_' } })).total).toBe(0);
    expect(
      (
        await repo.list(a.id, { filters: { source: src, status: 'expired', includeExpired: true } })
      ).items.map((i) => i.value),
    ).toEqual(['gone.example']);
    await expect(repo.list(a.id, { sort: 'metadata' })).rejects.toMatchObject({ issues: [{ path: 'sort' }] });
  });

  it('looks up exact values and IPs inside CIDR indicators, only when live', async () => {
    const src = feed('lookup');
    // fresh tenants: no private rows of other tests
    const a = await makeTenant(t.db);
    const b = await makeTenant(t.db);
    const net = await repo.createGlobal({
      type: 'cidr',
      value: '203.0.113.0/24',
      source: src,
      threatType: 'scanner',
    });
    const net6 = await repo.create(a.id, { type: 'cidr', value: '2001:db8:beef::/48', source: src });
    const ip = await repo.createGlobal({ type: 'ip', value: '198.51.100.7', source: src });
    const dom = await repo.create(a.id, { type: 'domain', value: 'c2.example', source: src });
    const hash = await repo.createGlobal({
      type: 'md5',
      value: 'D41D8CD98F00B204E9800998ECF8427E',
      source: src,
    });
    await repo.createGlobal({ type: 'cidr', value: '203.0.113.0/25', source: src, status: 'inactive' });
    await repo.createGlobal({ type: 'cidr', value: '203.0.112.0/23', source: src, expiresAt: past() });
    await repo.createGlobal({ type: 'ip', value: '198.51.100.8', source: src, status: 'expired' });
    await repo.create(b.id, { type: 'domain', value: 'c2.example', source: src });

    const hits = await repo.lookup(a.id, [
      '203.0.113.7',
      '198.51.100.7',
      '198.51.100.8',
      'C2.Example',
      'd41d8cd98f00b204e9800998ecf8427e',
      '2001:DB8:BEEF:0:0:0:0:1',
      'not-an-ip',
    ]);
    expect(hits.map((i) => i.id).sort()).toEqual([net.id, net6.id, ip.id, dom.id, hash.id].sort());

    // a CIDR matches only addresses inside it
    expect(await repo.lookup(a.id, ['203.0.114.1', '198.51.100.70'])).toEqual([]);
    expect((await repo.lookup(a.id, ['203.0.113.255'])).map((i) => i.id)).toEqual([net.id]);
    // tenant B sees the global CIDR but not A's private IPv6 network
    expect((await repo.lookup(b.id, ['2001:db8:beef::1', '203.0.113.1'])).map((i) => i.id)).toEqual([net.id]);
    // the value may equal a CIDR indicator itself
    expect((await repo.lookup(a.id, ['203.0.113.0/24'])).map((i) => i.id)).toEqual([net.id]);
    expect(await repo.lookup(a.id, [])).toEqual([]);
    await expect(repo.lookup(a.id, Array<string>(5001).fill('x'))).rejects.toBeInstanceOf(ValidationError);
  });

  it('looks up an IPv4 address and its IPv4-mapped IPv6 form as one address, as ioc_match does', async () => {
    const src = feed('mapped');
    const a = await makeTenant(t.db);
    const v4 = await repo.createGlobal({ type: 'ip', value: '100.64.2.1', source: src });
    const mapped = await repo.createGlobal({ type: 'ip', value: '::ffff:100.64.2.2', source: src });
    const net4 = await repo.createGlobal({ type: 'cidr', value: '198.19.5.0/24', source: src });
    const mappedNet = await repo.createGlobal({ type: 'cidr', value: '::ffff:198.18.7.0/120', source: src });
    const ids = async (value: string) => (await repo.lookup(a.id, [value])).map((i) => i.id).sort();
    expect(await ids('::ffff:100.64.2.1')).toEqual([v4.id]);
    expect(await ids('::FFFF:6440:201')).toEqual([v4.id]);
    expect(await ids('100.64.2.2')).toEqual([mapped.id]);
    expect(await ids('::ffff:198.19.5.9')).toEqual([net4.id]);
    expect(await ids('198.18.7.99')).toEqual([mappedNet.id]);
    // Neighbours stay out.
    expect(await ids('100.64.2.3')).toEqual([]);
    expect(await ids('::ffff:198.18.8.1')).toEqual([]);
    expect(await ids('2001:db8::6440:201')).toEqual([]);
    expect(mappedCounterpart('10.0.0.255')).toBe('::ffff:a00:ff');
    expect(mappedCounterpart('::ffff:a00:ff')).toBe('10.0.0.255');
    expect(mappedCounterpart('::ffff:0:5')).toBe('0.0.0.5');
    expect(mappedCounterpart('2001:db8::1')).toBeUndefined();
  });

  it('records sightings on own and global indicators', async () => {
    const src = feed('sight');
    const g = await repo.createGlobal({ type: 'ip', value: '192.0.2.200', source: src });
    const own = await repo.create(a.id, { type: 'ip', value: '192.0.2.201', source: src });
    const s1 = await repo.recordSighting(a.id, own.id);
    const s2 = await repo.recordSighting(a.id, own.id);
    expect(s1.sightings).toBe(1);
    expect(s2.sightings).toBe(2);
    expect(s2.lastSeen).toBeInstanceOf(Date);
    expect((await repo.recordSighting(b.id, g.id)).sightings).toBe(1);
    await expect(repo.recordSighting(a.id, uuidv7())).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.recordSighting(a.id, 'x')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('upserts a feed batch: counts inserts and updates, keeps first_seen, collects bad rows', async () => {
    const src = feed('feed');
    const day1 = new Date('2025-01-01T00:00:00Z');
    const day2 = new Date('2025-01-02T00:00:00Z');
    const first = await repo.upsertGlobal([
      {
        type: 'url',
        value: 'http://a.example/x',
        source: src,
        confidence: 0.5,
        firstSeen: day1,
        lastSeen: day1,
      },
      { type: 'domain', value: 'b.example', source: src, threatType: 'c2', tags: ['x'], lastSeen: day1 },
      { type: 'ip', value: 'nonsense', source: src },
      { type: 'domain', value: 'B.example', source: src, threatType: 'c2', tags: ['x'], lastSeen: day1 },
    ]);
    expect(first).toMatchObject({ inserted: 2, updated: 0, duplicates: 1, failed: 1 });
    expect(first.errors).toEqual([
      expect.objectContaining({ index: 2, issues: [expect.objectContaining({ path: 'value' })] }),
    ]);

    const second = await repo.upsertGlobal([
      {
        type: 'url',
        value: 'http://a.example/x',
        source: src,
        confidence: 0.9,
        threatType: 'malware',
        firstSeen: day2,
        lastSeen: day2,
        expiresAt: future(),
      },
      { type: 'domain', value: 'b.example', source: src, tags: ['y'], lastSeen: day1 },
      { type: 'domain', value: 'new.example', source: src },
    ]);
    expect(second).toMatchObject({ inserted: 1, updated: 2, duplicates: 0, failed: 0, errors: [] });

    const rows = await repo.list(a.id, { filters: { source: src }, sort: 'value' });
    expect(rows.total).toBe(3);
    const url = rows.items.find((i) => i.type === 'url')!;
    expect(url).toMatchObject({ confidence: 0.9, threatType: 'malware', tenantId: null });
    expect(url.firstSeen).toEqual(day1);
    expect(url.lastSeen).toEqual(day2);
    expect(url.expiresAt).not.toBeNull();
    const dom = rows.items.find((i) => i.value === 'b.example')!;
    expect(dom.threatType).toBe('c2'); // not erased by a batch that did not say
    expect(dom.tags).toEqual(['x', 'y']);
    expect(await repo.upsertGlobal([])).toMatchObject({ inserted: 0, updated: 0 });
  });

  it('reactivates an expired global indicator when a feed publishes it again', async () => {
    const src = feed('revive');
    await repo.upsertGlobal([{ type: 'domain', value: 'revive.example', source: src, expiresAt: past() }]);
    expect(await repo.expireDue()).toBeGreaterThanOrEqual(1);
    expect((await repo.lookup(a.id, ['revive.example'])).length).toBe(0);
    await repo.upsertGlobal([{ type: 'domain', value: 'revive.example', source: src, expiresAt: future() }]);
    expect((await repo.lookup(a.id, ['revive.example'])).map((i) => i.status)).toEqual(['active']);
  });

  it('expires the indicators whose expiry passed, and only those', async () => {
    const src = feed('expire');
    const due = await repo.create(a.id, {
      type: 'domain',
      value: 'due.example',
      source: src,
      expiresAt: past(),
    });
    const notYet = await repo.create(a.id, {
      type: 'domain',
      value: 'notyet.example',
      source: src,
      expiresAt: future(),
    });
    const never = await repo.createGlobal({ type: 'domain', value: 'never.example', source: src });
    const n = await repo.expireDue(new Date());
    expect(n).toBeGreaterThanOrEqual(1);
    expect((await repo.get(a.id, due.id))?.status).toBe('expired');
    expect((await repo.get(a.id, notYet.id))?.status).toBe('active');
    expect((await repo.get(a.id, never.id))?.status).toBe('active');
    expect(await repo.expireDue(new Date())).toBe(0);
    // with a later clock, the other one is due too
    expect(await repo.expireDue(new Date(Date.now() + 2 * HOUR))).toBeGreaterThanOrEqual(1);
    expect((await repo.get(a.id, notYet.id))?.status).toBe('expired');
  });

  it('answers NotFound for unknown and malformed ids', async () => {
    expect(await repo.get(a.id, uuidv7())).toBeUndefined();
    expect(await repo.get(a.id, 'nope')).toBeUndefined();
    await expect(repo.update(a.id, 'nope', { confidence: 0.1 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.delete(a.id, uuidv7())).rejects.toBeInstanceOf(NotFoundError);
  });
});
