/**
 * Samples RSS every 50 ms while `fn` runs: the peak memory of a bench step, and the peak of each quarter of
 * its run (a plateau in the later quarters shows memory bounded whatever the input's length).
 */
export async function withPeakRss<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; peak: number; start: number; quarters: number[] }> {
  const start = process.memoryUsage().rss;
  const t0 = performance.now();
  const samples: [number, number][] = [];
  const sample = () => samples.push([performance.now() - t0, process.memoryUsage().rss]);
  const t = setInterval(sample, 50);
  try {
    const result = await fn();
    sample();
    const total = performance.now() - t0;
    const quarters = [0, 1, 2, 3].map((q) =>
      samples
        .filter(([at]) => at >= (q * total) / 4 && at <= ((q + 1) * total) / 4)
        .reduce((m, [, rss]) => Math.max(m, rss), 0),
    );
    return { result, peak: samples.reduce((m, [, rss]) => Math.max(m, rss), start), start, quarters };
  } finally {
    clearInterval(t);
  }
}
