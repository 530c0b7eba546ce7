// A tiny mergeable quantile sketch for chart buckets: thousands of buckets each need a p50 and
// a p99, and an HDR histogram per bucket would cost tens of KB; log-spaced bins cost a few entries.

/** Bin growth factor: values in one bin differ by at most 1 %, so a quantile is within ±0.5 %. */
const GAMMA = 1.01;
const LOG_GAMMA = Math.log(GAMMA);
/** Values below this (ms) share bin 0, reported as 0 (below a microsecond). */
const FLOOR_MS = 0.001;

/**
 * Log-binned histogram of non-negative values (ms): bin k >= 1 holds [FLOOR·γ^(k-1), FLOOR·γ^k),
 * reported as its geometric middle clamped to the exact min and max seen. Counts may be
 * fractional (weights). Merging two sketches is exact (bin-wise sums).
 */
export class QuantileSketch {
  readonly #bins = new Map<number, number>();
  #count = 0;
  #min = Infinity;
  #max = -Infinity;

  get count(): number {
    return this.#count;
  }

  add(valueMs: number, weight = 1): void {
    if (!Number.isFinite(valueMs) || !(weight > 0)) return;
    const v = Math.max(0, valueMs);
    const bin = v < FLOOR_MS ? 0 : 1 + Math.floor(Math.log(v / FLOOR_MS) / LOG_GAMMA);
    this.#bins.set(bin, (this.#bins.get(bin) ?? 0) + weight);
    this.#count += weight;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  merge(other: QuantileSketch): void {
    for (const [bin, n] of other.#bins) this.#bins.set(bin, (this.#bins.get(bin) ?? 0) + n);
    this.#count += other.#count;
    if (other.#min < this.#min) this.#min = other.#min;
    if (other.#max > this.#max) this.#max = other.#max;
  }

  /** Values at the given quantiles in [0, 1] (one sort for all); null when empty. */
  quantiles(qs: readonly number[]): (number | null)[] {
    if (this.#count <= 0) return qs.map(() => null);
    const bins = [...this.#bins].sort((a, b) => a[0] - b[0]);
    return qs.map((q) => {
      if (q >= 1) return this.#max;
      if (q <= 0) return this.#min;
      // The value at rank ceil(q · count) (q · count with fractional weights): the smallest
      // bin whose cumulative count reaches it.
      const exact = q * this.#count;
      const rank = Number.isInteger(this.#count) ? Math.ceil(exact - 1e-9) : exact;
      let seen = 0;
      for (const [bin, n] of bins) {
        seen += n;
        if (seen >= rank) return this.#clamp(bin === 0 ? 0 : FLOOR_MS * GAMMA ** (bin - 0.5));
      }
      return this.#max;
    });
  }

  #clamp(v: number): number {
    return Math.min(this.#max, Math.max(this.#min, v));
  }
}
