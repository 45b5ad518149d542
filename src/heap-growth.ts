/**
 * How far V8 lets the old generation grow before its next full (mark-compact) GC, for
 * `ringlog serve` (config `runtime.heapGrowthPercent`).
 *
 * Why it is set: under steady ingestion the event loop keeps a small old generation
 * (~16 MiB live) and a 16 MiB young generation. V8 picks its growing factor from how
 * much of the time goes to GC, and starts marking early whenever the room left under
 * the limit is smaller than what the young generation could promote. With a factor
 * near 1.4 that room (~23 MiB) stays below that bound, so marking restarts as soon as
 * it ends: a mark-compact every ~0.2 s, each holding the event loop for 5-15 ms of
 * finalization and incremental steps, while concurrent marking takes CPU from the
 * store worker on small machines. 300% (a factor of 4, the most V8 itself ever picks)
 * leaves ~64 MiB of room at that size: full GCs become rare and the young
 * generation's cheap scavenges do the work. The cost is memory: a heap may reach four
 * times what its last full GC kept before the next one.
 * docs/benchmarks.md ("Heap growth", 2026-12-03) has the measurement.
 *
 * The flag is read by every heap (event loop and workers) each time it recomputes its
 * limits, so setting it at start-up, before any worker exists, covers them all.
 */
import { setFlagsFromString } from 'node:v8';

/** Sets V8's heap growing factor to 1 + percent/100; 0 leaves V8's adaptive factor. */
export function setHeapGrowth(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0) throw new RangeError(`heap growth must be a whole number ≥ 0, not ${percent}`);
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
