/** `BENCH_SCALE=quick`: every benchmark once and tiny (the smoke test in `npm test`); `full` otherwise. */
export type BenchScale = 'quick' | 'full';

export const benchScale = (): BenchScale => (process.env.BENCH_SCALE === 'quick' ? 'quick' : 'full');

/** One figure of the suite's table: a median over `runs` runs, with their min and max. */
export interface BenchFigure {
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number;
  /** What bounds this figure (the saturating resource, the load on the machine, a budget that ran out). */
  limit?: string;
}

/** What a benchmark's `run()` answers; benchmarks that only print (ingress, pacing) answer nothing. */
export interface BenchResult {
  figures: BenchFigure[];
  notes?: string[];
}

/** A figure from several runs' values (median, min, max). */
export function figure(name: string, unit: string, values: number[], limit?: string): BenchFigure {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length === 0 ? NaN : s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { name, unit, median, min: s[0] ?? NaN, max: s.at(-1) ?? NaN, runs: s.length, ...(limit ? { limit } : {}) };
}
