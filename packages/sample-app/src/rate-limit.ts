// Load shedding per app instance: a token bucket of `burst` tokens refilled at `perSecond`. A
// request takes one token or is shed at once (429 with Retry-After), so an overloaded instance
// answers fast instead of queueing work its dependencies cannot take.

export interface RateLimit {
  /** Tokens added per second (the sustained rate). */
  readonly perSecond: number;
  /** Bucket size: requests that may arrive at once after a quiet spell. */
  readonly burst: number;
}

export type Admission = { readonly admitted: true } | { readonly admitted: false; readonly retryAfterMs: number };

export class TokenBucket {
  readonly perSecond: number;
  readonly burst: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  /** `now` in milliseconds (default performance.now), injectable for tests. */
  constructor(limit: RateLimit, now: () => number = () => performance.now()) {
    this.perSecond = limit.perSecond;
    this.burst = limit.burst;
    this.#now = now;
    this.#tokens = limit.burst;
    this.#at = now();
  }

  /** Takes a token if there is one; otherwise says how long until there is. */
  take(): Admission {
    const now = this.#now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.perSecond);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return { admitted: true };
    }
    return { admitted: false, retryAfterMs: Math.max(1, Math.ceil(((1 - this.#tokens) / this.perSecond) * 1000)) };
  }
}
