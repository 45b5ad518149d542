/**
 * How many free buffers a pool keeps for reuse: as many as were in use at once lately
 * (at least `min`).
 *
 * A fixed cap thrashes when the load keeps more buffers in flight than the cap: each
 * time the queue drains, the buffers past the cap are dropped, and when it fills again
 * they are allocated anew. Large external allocations are what V8 answers with full
 * mark-compacts of the event loop's heap ("Read buffers" in docs/architecture.md); at
 * 130 MB/s into the store, ~85 MB/s of them came from such drops (read slabs and WAL
 * entry buffers), and the event loop ran a mark-compact every 0.2–0.4 s. With this
 * limit, a steady load reuses what it needs. The pools trim their free lists to it
 * when a buffer is taken: a lighter load gives the rest back within two windows, while
 * a server that goes idle keeps them until its next read or entry.
 */
export class ReuseLimit {
  private inUse = 0;
  /** Most in use at once in this window and in the previous one. */
  private peak = 0;
  private lastPeak = 0;
  private windowStart: number;

  constructor(private readonly min: number, private readonly windowMs = 5_000, private readonly now: () => number = () => performance.now()) {
    this.windowStart = now();
  }

  /** One more is in use (taken from the free list or allocated). */
  taken(): void {
    this.inUse++;
    if (this.inUse > this.peak) this.peak = this.inUse;
  }

  /** One came back: whether a free list holding `free` may keep it. */
  returned(free: number): boolean {
    this.inUse = Math.max(0, this.inUse - 1);
    return free < this.limit();
  }

  /** The number of free ones to keep now (a free list longer than that may drop the rest). */
  limit(): number {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      // After more than one window without a call, the last one was as quiet as now.
      this.lastPeak = now - this.windowStart >= 2 * this.windowMs ? this.inUse : this.peak;
      this.peak = this.inUse;
      this.windowStart = now;
    }
    return Math.max(this.min, this.peak, this.lastPeak);
  }
}
