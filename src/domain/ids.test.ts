import { describe, expect, it } from 'vitest';
import { isUuid, uuidv7 } from './ids.ts';

describe('isUuid', () => {
  it('accepts the 8-4-4-4-12 hex form in either case', () => {
    expect(isUuid('0190a000-0000-7000-8000-00000000abcd')).toBe(true);
    expect(isUuid('0190A000-0000-7000-8000-00000000ABCD')).toBe(true);
    expect(isUuid(uuidv7())).toBe(true);
  });

  it('refuses other lengths, misplaced dashes and characters next to the hex ranges', () => {
    const ok = '0190a000-0000-7000-8000-00000000abcd';
    expect(isUuid(ok.slice(1))).toBe(false);
    expect(isUuid(`${ok}0`)).toBe(false);
    expect(isUuid(ok.replace(/-/g, ''))).toBe(false);
    expect(isUuid('0190a0000-000-7000-8000-00000000abcd')).toBe(false);
    for (const c of ['/', ':', '@', 'G', '`', 'g', '-', ' ', 'é']) {
      expect(isUuid(`${c}${ok.slice(1)}`), c).toBe(false);
      expect(isUuid(`${ok.slice(0, 35)}${c}`), c).toBe(false);
    }
    expect(isUuid(undefined as unknown as string)).toBe(false);
  });
});
