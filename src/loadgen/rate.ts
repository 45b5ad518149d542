/**
 * Token bucket of one connection (its share of --rate). Tokens are added per tick
 * (lazily, from the elapsed time, whenever someone asks), and the connection takes
 * up to a whole chunk's worth at once, so the cost is per chunk, not per message.
 */
export class TokenBucket {
  private tokens = 0;
  private last: number;
  private readonly burst: number;

  /**
   * @param rate messages per second (> 0)
   * @param tickMs refill granularity; also bounds the burst (rate × 2 ticks, at least 1)
   */
  constructor(readonly rate: number, readonly tickMs = 10) {
    if (!(rate > 0)) throw new RangeError(`rate must be > 0, got ${rate}`);
    this.burst = Math.max(1, (rate * tickMs * 2) / 1000);
    this.last = performance.now();
  }

  private refill(): void {
    const now = performance.now();
    const dt = now - this.last;
    if (dt >= this.tickMs || this.tokens < 1) {
      this.tokens = Math.min(this.burst, this.tokens + (dt * this.rate) / 1000);
      this.last = now;
    }
  }

  /** Takes up to `max` whole tokens, and none unless at least `min` are there; returns how many were taken (maybe 0). */
  take(max: number, min = 1): number {
    this.refill();
    if (this.tokens < Math.min(min, max)) return 0;
    const n = Math.min(max, Math.floor(this.tokens));
    if (n > 0) this.tokens -= n;
    return n;
  }

  /** Gives back tokens taken but not used. */
  giveBack(n: number): void {
    this.tokens += n;
  }

  /** Milliseconds until at least `min` tokens are available (≥ 1, ≤ tickMs). */
  waitMs(min = 1): number {
    const missing = min - this.tokens;
    if (missing <= 0) return 1;
    return Math.min(this.tickMs, Math.max(1, Math.ceil((missing * 1000) / this.rate)));
  }
}
