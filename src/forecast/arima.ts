/**
 * ARIMA(p,1,0) without drift, small enough to refit every minute: the series is differenced once,
 * an AR(p) model is fitted to the differences by least squares (the normal equations, p×p, solved
 * by Gaussian elimination with a little ridge so a flat series cannot make them singular), and the
 * forecast iterates the AR recursion on the differences and sums them back onto the last level.
 *
 * No constant term: a drift fitted on a few hours would be extrapolated across the rest of the day
 * as a straight line, and the day's shape is the seasonal profile's job (seasonal.ts). A fit whose
 * coefficients are not clearly stable (sum of |φ| ≥ 1) is shrunk until it is, so a noisy fit decays
 * toward "the level stays where it is" instead of oscillating without bound.
 *
 * Cost: O(n·p²) to fit and O(h·p) to forecast; for 4 days of 15-minute steps (384 points) and p = 5
 * that is about ten thousand multiply-adds.
 */

export const AR_ORDER = 5;

export interface ArModel {
  /** φ1..φp: the difference at t is Σ φi · difference at t-i. */
  coefficients: number[];
}

/** Differences of a series (length n-1). */
export function difference(series: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < series.length; i++) out.push(series[i]! - series[i - 1]!);
  return out;
}

/** Solves A·x = b (A square) by Gaussian elimination with partial pivoting; undefined if singular. */
export function solve(a: number[][], b: number[]): number[] | undefined {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(m[row]![col]!) > Math.abs(m[pivot]![col]!)) pivot = row;
    if (Math.abs(m[pivot]![col]!) < 1e-12) return undefined;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    for (let row = col + 1; row < n; row++) {
      const factor = m[row]![col]! / m[col]![col]!;
      for (let k = col; k <= n; k++) m[row]![k]! -= factor * m[col]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let row = n - 1; row >= 0; row--) {
    let sum = m[row]![n]!;
    for (let k = row + 1; k < n; k++) sum -= m[row]![k]! * x[k]!;
    x[row] = sum / m[row]![row]!;
  }
  return x;
}

/**
 * AR(p) on `series` (already differenced) by least squares: minimises Σ (y_t − Σ φi y_{t−i})².
 * Fewer points than needed for a sensible fit (3p) gives φ = 0 (a random walk on the levels).
 */
export function fitAr(series: readonly number[], order = AR_ORDER): ArModel {
  const n = series.length;
  if (n < 3 * order) return { coefficients: new Array<number>(order).fill(0) };
  const xtx = Array.from({ length: order }, () => new Array<number>(order).fill(0));
  const xty = new Array<number>(order).fill(0);
  let energy = 0;
  for (let t = order; t < n; t++) {
    const y = series[t]!;
    energy += y * y;
    for (let i = 0; i < order; i++) {
      const xi = series[t - 1 - i]!;
      xty[i]! += xi * y;
      for (let j = 0; j < order; j++) xtx[i]![j]! += xi * series[t - 1 - j]!;
    }
  }
  // Ridge: a thousandth of the mean energy per equation keeps a flat series solvable.
  const ridge = Math.max(1e-9, (energy / Math.max(1, n - order)) * 1e-3);
  for (let i = 0; i < order; i++) xtx[i]![i]! += ridge;
  const coefficients = solve(xtx, xty) ?? new Array<number>(order).fill(0);
  return { coefficients: stabilised(coefficients) };
}

/** Shrinks φ until Σ|φi| < 1: a sufficient condition for the AR recursion to decay. */
function stabilised(coefficients: number[]): number[] {
  const mass = coefficients.reduce((sum, c) => sum + Math.abs(c), 0);
  if (!Number.isFinite(mass)) return coefficients.map(() => 0);
  if (mass < 0.98) return coefficients;
  return coefficients.map((c) => (c * 0.98) / mass);
}

/**
 * ARIMA(p,1,0) forecast of the next `steps` levels after `levels`. Shorter series than p+2 points
 * forecast the last level (or 0 for none).
 */
export function forecastArima(levels: readonly number[], steps: number, order = AR_ORDER): number[] {
  if (levels.length === 0) return new Array<number>(steps).fill(0);
  const last = levels[levels.length - 1]!;
  if (levels.length < order + 2) return new Array<number>(steps).fill(last);
  const diffs = difference(levels);
  const { coefficients } = fitAr(diffs, order);
  const recent = diffs.slice(-order);
  const out: number[] = [];
  let level = last;
  for (let h = 0; h < steps; h++) {
    let next = 0;
    for (let i = 0; i < order; i++) next += coefficients[i]! * (recent[recent.length - 1 - i] ?? 0);
    recent.push(next);
    level += next;
    out.push(level);
  }
  return out;
}
