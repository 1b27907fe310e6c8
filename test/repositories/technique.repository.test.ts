import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import { TechniqueRepository } from '../../src/repositories/technique.repository.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';

describe.each(engines())('TechniqueRepository on %s', (engine) => {
  let t: TestDb;
  let repo: TechniqueRepository;

  beforeAll(async () => {
    t = await createTestDb(engine);
    repo = new TechniqueRepository(t.db);
    const rows = [
      {
        techniqueId: 'T1059',
        name: 'Command and Scripting Interpreter',
        tactics: ['execution'],
        platforms: ['Windows', 'Linux', 'macOS'],
      },
      { techniqueId: 'T1059.001', name: 'PowerShell', tactics: ['execution'], platforms: ['Windows'] },
      { techniqueId: 'T1059.004', name: 'Unix Shell', tactics: ['execution'], platforms: ['Linux', 'macOS'] },
      {
        techniqueId: 'T1059.002',
        name: 'AppleScript (old)',
        tactics: ['execution'],
        platforms: ['macOS'],
        deprecated: true,
      },
      {
        techniqueId: 'T1562',
        name: 'Impair Defenses',
        tactics: ['defense-evasion'],
        platforms: ['Windows', 'Linux'],
      },
      {
        techniqueId: 'T1562.001',
        name: 'Disable or Modify Tools',
        tactics: ['defense-evasion'],
        platforms: ['Windows'],
      },
      {
        techniqueId: 'T1089',
        name: 'Disabling Security Tools',
        tactics: ['defense-evasion'],
        platforms: ['Windows'],
        revoked: true,
      },
    ];
    for (const r of rows) await repo.upsert(r);
  });
  afterAll(async () => t?.dispose());

  it('upserts by ATT&CK id, deriving the sub-technique fields', async () => {
    const first = await repo.upsert({
      techniqueId: 't1003.001',
      name: 'LSASS Memory',
      tactics: ['credential-access'],
    });
    expect(first.inserted).toBe(true);
    expect(first.row).toMatchObject({
      techniqueId: 'T1003.001',
      isSubtechnique: true,
      parentTechniqueId: 'T1003',
      tactics: ['credential-access'],
      revoked: false,
    });
    const again = await repo.upsert({ techniqueId: 'T1003.001', name: 'LSASS Memory', version: '1.2' });
    expect(again.inserted).toBe(false);
    expect(again.row).toMatchObject({ id: first.row.id, version: '1.2', tactics: ['credential-access'] });
    expect(await repo.getByTechniqueId('t1003.001')).toMatchObject({ id: first.row.id });
    expect(await repo.get(first.row.id)).toMatchObject({ techniqueId: 'T1003.001' });
    expect((await repo.list({ filters: { q: 'LSASS' } })).total).toBe(1);
    expect(await repo.get(uuidv7())).toBeUndefined();
    expect(await repo.get('x')).toBeUndefined();
    expect(await repo.getByTechniqueId('T9999')).toBeUndefined();
    expect(await repo.getByTechniqueId('bogus')).toBeUndefined();
  });

  it('rejects bad input with the field named', async () => {
    const bad = repo.upsert({ techniqueId: 'X1059', name: 'x' });
    await expect(bad).rejects.toBeInstanceOf(ValidationError);
    await expect(bad).rejects.toMatchObject({ issues: [{ path: 'techniqueId' }] });
    await expect(repo.upsert({ techniqueId: 'T1059', name: '' })).rejects.toMatchObject({
      issues: [{ path: 'name' }],
    });
    await expect(
      repo.upsert({ techniqueId: 'T1059.001', name: 'x', parentTechniqueId: 'T1000' }),
    ).rejects.toMatchObject({
      issues: [{ path: 'parentTechniqueId' }],
    });
    await expect(
      repo.upsert({ techniqueId: 'T1059', name: 'x', isSubtechnique: true }),
    ).rejects.toMatchObject({
      issues: [{ path: 'isSubtechnique' }],
    });
    expect((await repo.getByTechniqueId('T1059'))?.name).toBe('Command and Scripting Interpreter');
  });

  it('lists current techniques by id, with filters and pagination totals', async () => {
    const ids = async (filters: Parameters<TechniqueRepository['list']>[0]) =>
      (await repo.list(filters)).items.map((x) => x.techniqueId);
    const page = await repo.list({ limit: 2, filters: { tactic: 'execution' } });
    expect(page.total).toBe(3); // the deprecated T1059.002 is hidden
    expect(page.items.map((x) => x.techniqueId)).toEqual(['T1059', 'T1059.001']);
    expect(await ids({ limit: 2, offset: 2, filters: { tactic: 'execution' } })).toEqual(['T1059.004']);
    expect(await ids({ filters: { tactic: 'execution', includeRevoked: true } })).toEqual([
      'T1059',
      'T1059.001',
      'T1059.002',
      'T1059.004',
    ]);
    expect(await ids({ filters: { tactic: 'defense-evasion', includeRevoked: 'true' } })).toEqual([
      'T1089',
      'T1562',
      'T1562.001',
    ]);
    expect(await ids({ filters: { platform: 'macOS' } })).toEqual(['T1059', 'T1059.004']);
    expect(await ids({ filters: { platform: 'Linux', isSubtechnique: false } })).toEqual(['T1059', 'T1562']);
    expect(await ids({ filters: { q: 'shell' } })).toEqual(['T1059.001', 'T1059.004']);
    expect(await ids({ filters: { q: 't1562' } })).toEqual(['T1562', 'T1562.001']);
    expect(await ids({ filters: { tactic: 'exec' } })).toEqual([]);
    expect(await ids({ sort: '-name', limit: 1, filters: { tactic: 'execution' } })).toEqual(['T1059.004']);
    await expect(repo.list({ sort: 'tactics' })).rejects.toMatchObject({ issues: [{ path: 'sort' }] });
  });

  it('lists the sub-techniques of a technique', async () => {
    expect((await repo.listSubtechniques('T1059')).map((x) => x.techniqueId)).toEqual([
      'T1059.001',
      'T1059.004',
    ]);
    expect(
      (await repo.listSubtechniques('t1059', { includeRevoked: true })).map((x) => x.techniqueId),
    ).toEqual(['T1059.001', 'T1059.002', 'T1059.004']);
    expect(await repo.listSubtechniques('T1089')).toEqual([]);
    expect(await repo.listSubtechniques('nonsense')).toEqual([]);
  });
});
