import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { activeTechniques, parseAttackBundle, type AttackParseResult } from './stix.ts';

const DATA = resolve(import.meta.dirname, '../../../../shared/data/attack');
const have = existsSync(DATA);
if (!have) console.warn(`[intel/attack] ${DATA} is absent: the real ATT&CK bundle tests are skipped`);
const load = (f: string): AttackParseResult => parseAttackBundle(readFileSync(resolve(DATA, f), 'utf8'));

const ref = (id: string) => [
  { source_name: 'mitre-attack', external_id: id, url: `https://attack.mitre.org/x/${id}` },
];

describe('parseAttackBundle (synthetic)', () => {
  it('rejects malformed attack-patterns with reasons and keeps the rest', () => {
    const r = parseAttackBundle({
      type: 'bundle',
      spec_version: '2.0',
      objects: [
        { type: 'attack-pattern', id: 'attack-pattern--1', name: 'Good', external_references: ref('T1000') },
        { type: 'attack-pattern', id: 'attack-pattern--2', name: 'No ref', external_references: [] },
        {
          type: 'attack-pattern',
          id: 'attack-pattern--3',
          name: 'Bad id',
          external_references: ref('TA0002'),
        },
        { type: 'attack-pattern', id: 'attack-pattern--4', external_references: ref('T1001') },
        {
          type: 'attack-pattern',
          id: 'attack-pattern--5',
          name: 'Liar',
          x_mitre_is_subtechnique: false,
          external_references: ref('T1002.001'),
        },
        { type: 'attack-pattern', name: 'No id', external_references: ref('T1003') },
        {
          type: 'attack-pattern',
          id: 'attack-pattern--6',
          name: 'Bad date',
          modified: 'later',
          external_references: ref('T1004'),
        },
        { type: 'x-mitre-tactic', id: 'x-mitre-tactic--1' },
      ],
    });
    expect(r.specVersion).toBe('2.0');
    expect(r.techniques.map((t) => t.techniqueId)).toEqual(['T1000']);
    expect(r.rejections).toEqual([
      { stixId: 'attack-pattern--2', reason: 'no mitre-attack external reference with an external_id' },
      { stixId: 'attack-pattern--3', reason: 'external_id "TA0002" is not a technique id (T####[.###])' },
      { stixId: 'attack-pattern--4', reason: 'T1001 has no name' },
      { stixId: 'attack-pattern--5', reason: 'T1002.001: x_mitre_is_subtechnique=false contradicts the id' },
      { stixId: '(no id)', reason: 'attack-pattern without an id' },
      { stixId: 'attack-pattern--6', reason: 'T1004: modified "later" is not a timestamp' },
    ]);
    expect(r.read).toBe(7);
    expect(r.skipped).toEqual({ 'x-mitre-tactic': 1 });
    expect(parseAttackBundle('nope').rejections[0]?.reason).toMatch(/invalid JSON/);
    expect(parseAttackBundle({ type: 'indicator' }).rejections[0]?.reason).toMatch(/not a STIX bundle/);
  });

  it('resolves data sources from x_mitre_data_sources, data components and detection strategies', () => {
    const r = parseAttackBundle({
      type: 'bundle',
      objects: [
        {
          type: 'attack-pattern',
          spec_version: '2.1',
          id: 'attack-pattern--1',
          name: 'Sub',
          x_mitre_is_subtechnique: true,
          x_mitre_data_sources: ['Process: Process Creation'],
          kill_chain_phases: [
            { kill_chain_name: 'mitre-attack', phase_name: 'execution' },
            { kill_chain_name: 'lockheed', phase_name: 'exploitation' },
          ],
          external_references: ref('T1059.001'),
        },
        { type: 'x-mitre-data-source', id: 'x-mitre-data-source--1', name: 'Command' },
        {
          type: 'x-mitre-data-component',
          id: 'x-mitre-data-component--1',
          name: 'Command Execution',
          x_mitre_data_source_ref: 'x-mitre-data-source--1',
        },
        { type: 'x-mitre-data-component', id: 'x-mitre-data-component--2', name: 'Module Load' },
        {
          type: 'relationship',
          id: 'relationship--1',
          relationship_type: 'detects',
          source_ref: 'x-mitre-data-component--1',
          target_ref: 'attack-pattern--1',
        },
        {
          type: 'x-mitre-detection-strategy',
          id: 'x-mitre-detection-strategy--1',
          x_mitre_analytic_refs: ['x-mitre-analytic--1'],
        },
        {
          type: 'x-mitre-analytic',
          id: 'x-mitre-analytic--1',
          x_mitre_log_source_references: [{ x_mitre_data_component_ref: 'x-mitre-data-component--2' }],
        },
        {
          type: 'relationship',
          id: 'relationship--2',
          relationship_type: 'detects',
          source_ref: 'x-mitre-detection-strategy--1',
          target_ref: 'attack-pattern--1',
        },
      ],
    });
    expect(r.specVersion).toBe('2.1');
    expect(r.techniques[0]).toMatchObject({
      techniqueId: 'T1059.001',
      parentTechniqueId: 'T1059',
      isSubtechnique: true,
      tactics: ['execution'],
      dataSources: ['Command: Command Execution', 'Module Load', 'Process: Process Creation'],
    });
  });
});

describe.skipIf(!have)('real ATT&CK bundles (shared/data/attack)', () => {
  it('Enterprise v18.1 (STIX 2.0): 835 attack-patterns, 216 + 475 active', () => {
    const r = load('enterprise-attack_v18.1_stix2.0_assembled_from_mitre-cti.json');
    expect(r.specVersion).toBe('2.0');
    expect([r.read, r.techniques.length, r.rejections.length]).toEqual([835, 835, 0]);
    const t = r.techniques;
    expect(t.filter((x) => x.isSubtechnique)).toHaveLength(479);
    expect(t.filter((x) => x.revoked)).toHaveLength(132);
    expect(t.filter((x) => x.deprecated)).toHaveLength(12);
    const active = activeTechniques(t);
    expect(active.filter((x) => !x.isSubtechnique)).toHaveLength(216);
    expect(active.filter((x) => x.isSubtechnique)).toHaveLength(475);
    expect(new Set(t.map((x) => x.techniqueId)).size).toBe(t.length); // technique_id is unique
    // every active sub-technique's parent is an active technique of the bundle
    const activeIds = new Set(active.map((x) => x.techniqueId));
    for (const s of active.filter((x) => x.isSubtechnique))
      expect(activeIds.has(s.parentTechniqueId ?? '')).toBe(true);
    expect(active.every((x) => x.tactics.length > 0)).toBe(true);
    expect(r.skipped.relationship).toBe(20048);

    const ps = t.find((x) => x.techniqueId === 'T1059.001');
    expect(ps).toMatchObject({
      stixId: 'attack-pattern--970a3432-3237-47ad-bcca-7d8cbb217736',
      name: 'PowerShell',
      isSubtechnique: true,
      parentTechniqueId: 'T1059',
      tactics: ['execution'],
      platforms: ['Windows'],
      url: 'https://attack.mitre.org/techniques/T1059/001',
      revoked: false,
      deprecated: false,
      version: '1.5',
      domains: ['enterprise-attack'],
    });
    expect(ps?.modifiedAt?.toISOString()).toBe('2025-10-24T17:49:07.660Z');
    // ATT&CK v18 has no x_mitre_data_sources: they come through detection strategies -> analytics -> components
    expect(ps?.dataSources).toEqual([
      'Command Execution',
      'Module Load',
      'Process Creation',
      'Process Metadata',
    ]);
    const parent = t.find((x) => x.techniqueId === 'T1059');
    expect(parent).toMatchObject({ name: 'Command and Scripting Interpreter', isSubtechnique: false });
    expect(parent?.parentTechniqueId).toBeUndefined();
    expect(active.filter((x) => x.dataSources.length > 0)).toHaveLength(650);
    // multi-tactic technique
    expect(t.find((x) => x.techniqueId === 'T1078')?.tactics).toEqual([
      'defense-evasion',
      'persistence',
      'privilege-escalation',
      'initial-access',
    ]);
  });

  it('ICS v18.1 (STIX 2.1): 95 techniques, no sub-techniques, 12 deprecated', () => {
    const r = load('ics-attack_v18.1_stix2.1.json');
    expect(r.specVersion).toBe('2.1');
    expect([r.techniques.length, r.rejections.length]).toEqual([95, 0]);
    expect(r.techniques.filter((x) => x.isSubtechnique)).toHaveLength(0);
    expect(r.techniques.filter((x) => x.deprecated)).toHaveLength(12);
    expect(r.techniques.filter((x) => x.revoked)).toHaveLength(0);
    expect(r.techniques.every((x) => /^T0\d{3}$/.test(x.techniqueId))).toBe(true);
  });

  it('Mobile v17.1 (STIX 2.1): 188 techniques, data sources through data components', () => {
    const r = load('mobile-attack_v17.1_stix2.1.json');
    expect([r.techniques.length, r.rejections.length]).toEqual([188, 0]);
    const t = r.techniques;
    expect([
      t.filter((x) => x.isSubtechnique).length,
      t.filter((x) => x.revoked).length,
      t.filter((x) => x.deprecated).length,
      activeTechniques(t).length,
    ]).toEqual([46, 53, 14, 121]);
    expect(t.find((x) => x.techniqueId === 'T1626')?.dataSources).toEqual([
      'Application Vetting: Permissions Requests',
      'User Interface: Permissions Request',
    ]);
  });
});
