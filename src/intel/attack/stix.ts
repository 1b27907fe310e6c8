/**
 * MITRE ATT&CK STIX bundles (2.0 as assembled from mitre/cti, 2.1 as published by attack-stix-data) into
 * technique records shaped like the `techniques` table. Pure: JSON in, records and explained rejections out.
 *
 * Data sources, by ATT&CK spec version (the newest available wins, and all are merged):
 * - `x_mitre_data_sources` on the technique (spec < 2.1, strings like `Process: Process Creation`);
 * - data components that `detects` the technique (spec 2.1 .. 3.2): `<data source name>: <component name>`;
 * - detection strategies that `detects` the technique (spec 3.3, ATT&CK v18): their analytics'
 *   `x_mitre_log_source_references` name data components, reported the same way (component name alone when
 *   the component no longer points to a data source).
 */

export interface TechniqueRecord {
  /** T1059 or T1059.001 (ICS: T0800; mobile: T1404). */
  techniqueId: string;
  stixId: string;
  name: string;
  description?: string;
  /** Tactic short names from kill_chain_phases of the ATT&CK kill chains (`execution`, ...). */
  tactics: string[];
  platforms: string[];
  dataSources: string[];
  isSubtechnique: boolean;
  parentTechniqueId?: string;
  url?: string;
  revoked: boolean;
  deprecated: boolean;
  /** x_mitre_version. */
  version?: string;
  modifiedAt?: Date;
  /** x_mitre_domains: enterprise-attack, ics-attack, mobile-attack. */
  domains: string[];
}

export interface AttackRejection {
  stixId: string;
  reason: string;
}

export interface AttackParseResult {
  /** `2.0` or `2.1` (from the bundle or the objects). */
  specVersion: string;
  techniques: TechniqueRecord[];
  rejections: AttackRejection[];
  /** Objects that are not attack-patterns, by type. */
  skipped: Record<string, number>;
  /** attack-patterns read: techniques + rejections. */
  read: number;
}

const ATTACK_SOURCES = new Set(['mitre-attack', 'mitre-ics-attack', 'mitre-mobile-attack']);
const ATTACK_KILL_CHAINS = new Set(['mitre-attack', 'mitre-ics-attack', 'mitre-mobile-attack']);
const TECHNIQUE_ID = /^T\d{4}(\.\d{3})?$/;

type Obj = Record<string, unknown>;
const str = (x: unknown): string | undefined => (typeof x === 'string' && x !== '' ? x : undefined);
const strings = (x: unknown): string[] =>
  Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : [];
const objs = (x: unknown): Obj[] =>
  Array.isArray(x) ? x.filter((o): o is Obj => !!o && typeof o === 'object') : [];

function mitreRef(o: Obj): Obj | undefined {
  return objs(o.external_references).find(
    (r) => ATTACK_SOURCES.has(String(r.source_name)) && str(r.external_id),
  );
}

/** Parse one ATT&CK bundle, or a bare array of STIX objects (text or parsed JSON). */
export function parseAttackBundle(json: string | unknown): AttackParseResult {
  let doc: unknown = json;
  if (typeof json === 'string') {
    try {
      doc = JSON.parse(json);
    } catch (e) {
      return {
        specVersion: 'unknown',
        techniques: [],
        rejections: [{ stixId: 'file', reason: `invalid JSON: ${(e as Error).message}` }],
        skipped: {},
        read: 0,
      };
    }
  }
  // A bare array of STIX objects (as ATT&CK's own samples ship) is read as the objects of a bundle.
  const bundle = (Array.isArray(doc) ? { type: 'bundle', objects: doc } : doc) as Obj;
  if (!bundle || bundle.type !== 'bundle' || !Array.isArray(bundle.objects)) {
    return {
      specVersion: 'unknown',
      techniques: [],
      rejections: [{ stixId: 'file', reason: 'not a STIX bundle (type "bundle" with an objects array)' }],
      skipped: {},
      read: 0,
    };
  }
  const all = objs(bundle.objects);
  const specVersion =
    str(bundle.spec_version) ?? str(all.find((o) => str(o.spec_version))?.spec_version) ?? 'unknown';
  const byId = new Map<string, Obj>();
  for (const o of all) if (str(o.id)) byId.set(o.id as string, o);

  // Data sources reachable from each attack-pattern through `detects` relationships.
  const componentLabel = (dcId: string): string | undefined => {
    const dc = byId.get(dcId);
    const name = dc && str(dc.name);
    if (!name) return undefined;
    const ds = byId.get(String(dc.x_mitre_data_source_ref ?? ''));
    const dsName = ds && str(ds.name);
    return dsName ? `${dsName}: ${name}` : name;
  };
  const detected = new Map<string, Set<string>>();
  for (const r of all) {
    if (r.type !== 'relationship' || r.relationship_type !== 'detects' || r.revoked === true) continue;
    const target = str(r.target_ref);
    const src = byId.get(String(r.source_ref ?? ''));
    if (!target || !src || src.revoked === true || src.x_mitre_deprecated === true) continue;
    const labels: string[] = [];
    if (src.type === 'x-mitre-data-component') {
      const l = componentLabel(src.id as string);
      if (l) labels.push(l);
    } else if (src.type === 'x-mitre-detection-strategy') {
      for (const anId of strings(src.x_mitre_analytic_refs)) {
        const an = byId.get(anId);
        if (!an || an.revoked === true || an.x_mitre_deprecated === true) continue;
        for (const ls of objs(an.x_mitre_log_source_references)) {
          const l = componentLabel(String(ls.x_mitre_data_component_ref ?? ''));
          if (l) labels.push(l);
        }
      }
    }
    const set = detected.get(target) ?? new Set<string>();
    for (const l of labels) set.add(l);
    detected.set(target, set);
  }

  const techniques: TechniqueRecord[] = [];
  const rejections: AttackRejection[] = [];
  const skipped: Record<string, number> = {};
  for (const o of all) {
    const type = str(o.type) ?? '(no type)';
    if (type !== 'attack-pattern') {
      skipped[type] = (skipped[type] ?? 0) + 1;
      continue;
    }
    const stixId = str(o.id);
    if (!stixId) {
      rejections.push({ stixId: '(no id)', reason: 'attack-pattern without an id' });
      continue;
    }
    const ref = mitreRef(o);
    const techniqueId = ref && str(ref.external_id);
    if (!techniqueId) {
      rejections.push({ stixId, reason: 'no mitre-attack external reference with an external_id' });
      continue;
    }
    if (!TECHNIQUE_ID.test(techniqueId)) {
      rejections.push({ stixId, reason: `external_id "${techniqueId}" is not a technique id (T####[.###])` });
      continue;
    }
    const name = str(o.name);
    if (!name) {
      rejections.push({ stixId, reason: `${techniqueId} has no name` });
      continue;
    }
    const dotted = techniqueId.includes('.');
    if (typeof o.x_mitre_is_subtechnique === 'boolean' && o.x_mitre_is_subtechnique !== dotted) {
      rejections.push({
        stixId,
        reason: `${techniqueId}: x_mitre_is_subtechnique=${o.x_mitre_is_subtechnique} contradicts the id`,
      });
      continue;
    }
    const modified = str(o.modified);
    const modifiedAt = modified ? new Date(modified) : undefined;
    if (modifiedAt && Number.isNaN(modifiedAt.getTime())) {
      rejections.push({ stixId, reason: `${techniqueId}: modified "${modified}" is not a timestamp` });
      continue;
    }
    const tactics = [
      ...new Set(
        objs(o.kill_chain_phases)
          .filter((k) => ATTACK_KILL_CHAINS.has(String(k.kill_chain_name)))
          .map((k) => str(k.phase_name))
          .filter((p): p is string => p !== undefined),
      ),
    ];
    const dataSources = [
      ...new Set([...strings(o.x_mitre_data_sources), ...(detected.get(stixId) ?? [])]),
    ].sort();
    const rec: TechniqueRecord = {
      techniqueId,
      stixId,
      name,
      tactics,
      platforms: strings(o.x_mitre_platforms),
      dataSources,
      isSubtechnique: dotted,
      revoked: o.revoked === true,
      deprecated: o.x_mitre_deprecated === true,
      domains: strings(o.x_mitre_domains),
    };
    const description = str(o.description);
    if (description) rec.description = description;
    if (dotted) rec.parentTechniqueId = techniqueId.split('.')[0];
    const url = str(ref.url);
    if (url) rec.url = url;
    const version = str(o.x_mitre_version);
    if (version) rec.version = version;
    if (modifiedAt) rec.modifiedAt = modifiedAt;
    techniques.push(rec);
  }
  return { specVersion, techniques, rejections, skipped, read: techniques.length + rejections.length };
}

/** Techniques that are neither revoked nor deprecated (what an ATT&CK navigator shows). */
export function activeTechniques(techniques: TechniqueRecord[]): TechniqueRecord[] {
  return techniques.filter((t) => !t.revoked && !t.deprecated);
}
