/**
 * Per-token rate limiting: a token bucket per key (capacity = burst, refilled continuously at
 * `refillPerSecond`). Time comes from the `now` given, so tests need no fake timers. Buckets that are full
 * again are forgotten, so memory follows the number of recently active tokens.
 */

export interface RateLimitOptions {
  /** Requests allowed in a burst. */
  readonly capacity: number;
  /** Sustained requests per second. */
  readonly refillPerSecond: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { capacity: 100, refillPerSecond: 50 };

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBucketLimiter {
  readonly #options: RateLimitOptions;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimitOptions, now: () => number = Date.now) {
    if (!(options.capacity >= 1) || !(options.refillPerSecond > 0)) throw new RangeError('rate limit: capacity >= 1 and refillPerSecond > 0');
    this.#options = options;
    this.#now = now;
  }

  /** Takes one request from `key`'s bucket: 0 when allowed, else the seconds to wait (>= 1) before retrying. */
  take(key: string): number {
    const now = this.#now();
    const { capacity, refillPerSecond } = this.#options;
    const b = this.#buckets.get(key) ?? { tokens: capacity, at: now };
    b.tokens = Math.min(capacity, b.tokens + (Math.max(0, now - b.at) / 1000) * refillPerSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      this.#buckets.set(key, b);
      this.#sweep(now);
      return 0;
    }
    this.#buckets.set(key, b);
    return Math.max(1, Math.ceil((1 - b.tokens) / refillPerSecond));
  }

  #sweep(now: number): void {
    if (this.#buckets.size < 1024) return;
    const { capacity, refillPerSecond } = this.#options;
    for (const [k, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) / 1000) * refillPerSecond >= capacity) this.#buckets.delete(k);
    }
  }
}
