import { InvalidArgumentError } from 'commander';

/** Output helpers shared by commands: stdout carries results (tables or --json), stderr carries messages. */

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function println(line = ''): void {
  process.stdout.write(line + '\n');
}

/** A plain aligned table; `columns` picks and orders the keys. */
export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  const cell = (v: unknown) =>
    v === null || v === undefined
      ? ''
      : v instanceof Date
        ? v.toISOString()
        : typeof v === 'object'
          ? JSON.stringify(v)
          : String(v);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  println(line(columns.map((c) => c.toUpperCase())));
  for (const r of rows) println(line(columns.map((c) => cell(r[c]))));
}

/** Parse a positive integer option, or fail with a clear message naming the option. */
export function intOption(name: string, min = 1) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`--${name} must be an integer >= ${min}.`);
    return n;
  };
}
