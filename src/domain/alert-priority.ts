/**
 * An alert's priority_score in 0..1: how soon an analyst should look. Reproducible: the same inputs always
 * give the same score, and every input is stored on the alert or its rule (docs/detection.md).
 *
 *   score = clamp01( S x (0.5 + 0.5 x (1 - F))  +  0.15 x I  +  0.10 x K  +  A )
 *
 *   S  severity of the rule: critical 0.9, high 0.7, medium 0.5, low 0.3, info 0.1
 *   F  the rule's false-positive rate in 0..1 (rules.false_positive_rate; 0.3 when unknown): a noisy rule's
 *      alert counts for up to half as much as a precise one's
 *   I  1 when an entity of the alert (source or destination IP, user, host) is an active threat indicator
 *   K  1 when the rule detects the exploitation of a CVE (tag cve.YYYY-NNNN) that CISA KEV lists as
 *      exploited in the wild
 *   A  criticality of the asset the events came from (their source): critical +0.10, high +0.05,
 *      medium 0, low -0.05; 0 when unknown
 */
import type { AssetCriticality, Severity } from './enums.ts';

export const SEVERITY_WEIGHT: Record<Severity, number> = {
  critical: 0.9,
  high: 0.7,
  medium: 0.5,
  low: 0.3,
  info: 0.1,
};

export const ASSET_WEIGHT: Record<AssetCriticality, number> = {
  critical: 0.1,
  high: 0.05,
  medium: 0,
  low: -0.05,
};

export const DEFAULT_FALSE_POSITIVE_RATE = 0.3;

export interface PriorityInputs {
  severity: Severity;
  falsePositiveRate: number | null;
  indicatorHit: boolean;
  kevHit: boolean;
  assetCriticality: AssetCriticality | null;
}

export function priorityScore(p: PriorityInputs): number {
  const f = Math.min(1, Math.max(0, p.falsePositiveRate ?? DEFAULT_FALSE_POSITIVE_RATE));
  const raw =
    SEVERITY_WEIGHT[p.severity] * (0.5 + 0.5 * (1 - f)) +
    (p.indicatorHit ? 0.15 : 0) +
    (p.kevHit ? 0.1 : 0) +
    (p.assetCriticality ? ASSET_WEIGHT[p.assetCriticality] : 0);
  // Rounded so the stored value is exactly reproducible (no floating-point noise in the 16th digit).
  return Math.round(Math.min(1, Math.max(0, raw)) * 10_000) / 10_000;
}
