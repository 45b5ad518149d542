/**
 * The buffers the event loop encodes WAL entries into (store.ts). The store worker gives
 * each back once it has consumed its entry, and the next entries reuse them: a fresh
 * buffer is a large external allocation, which V8 answers with full mark-compacts of
 * the event loop's heap (src/pipeline/reuse-limit.ts).
 *
 * Sizes come in classes, four per doubling from 64 KiB (a buffer is at most ~19% larger
 * than what its entry asked for, ~26% just above 64 KiB, where sizes are rounded up to
 * 16 KiB), so that a free buffer fits the next entry of about its size: entries are a
 * read or two under a light load and up to the pipeline's 4 MiB per write under a heavy
 * one. Per class, as many free buffers are kept as were in use at once lately
 * (ReuseLimit; trimmed when a buffer is taken), and never more than `maxPending` + 16 MiB
 * of them in all: the entries in flight are bounded by store.maxPending, so a load that
 * keeps that much in flight refills it from the free ones. The store counts whole
 * buffers against store.maxPending, so the rounding makes it hold up to ~19% fewer
 * entry bytes than its size.
 */
import { ReuseLimit } from '../pipeline/reuse-limit.js';

const CLASS_MIN = 64 * 1024;
const KEPT_EXTRA = 16 * 1024 * 1024;

/** The size class for an entry of at most `bound` bytes. */
export function entryClass(bound: number): number {
  return bound <= CLASS_MIN ? 0 : Math.ceil(4 * Math.log2(bound / CLASS_MIN));
}

/** The size of class c's buffers: its largest bound, rounded up to 16 KiB. */
export function entryClassBytes(c: number): number {
  return Math.ceil((CLASS_MIN * 2 ** (c / 4)) / 16_384) * 16_384;
}

/** The class whose buffers are `bytes` long, or -1 (rounding can put a class's size just past its bounds). */
function classOfSize(bytes: number): number {
  let c = entryClass(bytes);
  if (entryClassBytes(c) !== bytes) c--;
  return c >= 0 && entryClassBytes(c) === bytes ? c : -1;
}

export class EntryBuffers {
  private readonly classes = new Map<number, { free: ArrayBuffer[]; keep: ReuseLimit }>();
  /** Bytes of the free buffers kept. */
  freeBytes = 0;
  /** Buffers allocated so far (for tests). */
  allocated = 0;

  constructor(private readonly maxPending: number) {}

  /** A buffer of at least `bound` bytes: a free one of its class (or the next one up), else a new one. */
  take(bound: number): Buffer {
    this.trim();
    const c = entryClass(bound);
    for (let k = c; k <= c + 1; k++) {
      const cls = this.classes.get(k);
      const ab = cls?.free.pop();
      if (ab === undefined) continue;
      cls!.keep.taken();
      this.freeBytes -= ab.byteLength;
      return Buffer.from(ab, 0, ab.byteLength);
    }
    this.classOf(c).keep.taken();
    this.allocated++;
    return Buffer.allocUnsafeSlow(entryClassBytes(c));
  }

  /** A consumed entry's buffer, back (transferred from the worker): kept for reuse or left to the GC. */
  give(ab: ArrayBuffer | undefined): void {
    if (ab === undefined) return;
    const c = classOfSize(ab.byteLength);
    if (c < 0) return; // not one of ours
    const cls = this.classOf(c);
    if (!cls.keep.returned(cls.free.length)) return;
    if (this.freeBytes + ab.byteLength > this.maxPending + KEPT_EXTRA) return;
    cls.free.push(ab);
    this.freeBytes += ab.byteLength;
  }

  /** Drops the free buffers past what each class needed lately. */
  private trim(): void {
    for (const cls of this.classes.values()) {
      const limit = cls.keep.limit();
      while (cls.free.length > limit) this.freeBytes -= cls.free.pop()!.byteLength;
    }
  }

  private classOf(c: number): { free: ArrayBuffer[]; keep: ReuseLimit } {
    let cls = this.classes.get(c);
    if (cls === undefined) this.classes.set(c, (cls = { free: [], keep: new ReuseLimit(1) }));
    return cls;
  }
}
