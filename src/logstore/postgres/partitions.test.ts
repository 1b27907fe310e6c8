import { describe, expect, it } from 'vitest';
import { DAY_MS, dayOf, dayOfName, partitionName } from './partitions.ts';
import { arrayLiteral } from './event-encoding.ts';
import { planCost } from './console-sandbox.ts';

describe('partition names', () => {
  it('names a UTC day and reads it back', () => {
    const day = Date.parse('2024-02-29T00:00:00Z');
    expect(partitionName(day)).toBe('log_events_20240229');
    expect(dayOfName('log_events_20240229')).toBe(day);
    expect(dayOf(day + DAY_MS - 1)).toBe(day);
    expect(dayOf(day + DAY_MS)).toBe(day + DAY_MS);
  });

  it('does not take other names for partitions', () => {
    expect(dayOfName('log_events_default')).toBeUndefined();
    expect(dayOfName('log_events_20240230')).toBeUndefined();
    expect(dayOfName('x_log_events_20240229')).toBeUndefined();
  });
});

describe('arrayLiteral', () => {
  it('quotes every element and escapes quotes and backslashes', () => {
    expect(arrayLiteral(['a', 'b"c', 'd\\e', null, 3, '', 'NULL', '{,}'])).toBe(
      '{"a","b\\"c","d\\\\e",NULL,"3","","NULL","{,}"}',
    );
    expect(arrayLiteral([])).toBe('{}');
  });
});

describe('planCost', () => {
  it('adds the rows a function in FROM materialises before a LIMIT', () => {
    const plan = {
      'Node Type': 'Limit',
      'Total Cost': 0.5,
      Plans: [{ 'Node Type': 'Function Scan', 'Total Cost': 10_000, 'Plan Rows': 1e9 }],
    };
    expect(planCost(plan)).toBe(0.5 + 1e7);
    expect(planCost({ 'Node Type': 'Seq Scan', 'Total Cost': 42, 'Plan Rows': 1e6 })).toBe(42);
  });
});
