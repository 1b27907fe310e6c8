/** Samples RSS every 50 ms while `fn` runs: the peak memory of a bench step. */
export async function withPeakRss<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; peak: number; start: number }> {
  const start = process.memoryUsage().rss;
  let peak = start;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    const result = await fn();
    return { result, peak: Math.max(peak, process.memoryUsage().rss), start };
  } finally {
    clearInterval(t);
  }
}
