/**
 * Where stream reads land. Left to itself, Node allocates a fresh 64 KiB buffer for
 * every socket read; at 500 MB/s that is 8,000 external allocations a second, and V8
 * answers the external-memory pressure with a full mark-compact every few dozen
 * megabytes. Measured here: that alone cost ~80 ns of the server's CPU per 128-byte
 * message, twice what reading and framing cost (docs/architecture.md, "Read buffers").
 *
 * Instead every plain TCP and Unix stream socket reads into one shared buffer
 * (net.Socket's `onread` option), and each read is copied at once into a slab from
 * a small pool. Frames are views of the slab; batches hold a reference; when the
 * pipeline has handed a batch to every output it releases it, and a slab whose
 * batches are all released goes back to the pool. No garbage per read.
 *
 *   socket ─read()─► shared 64 KiB ─memcpy─► slab [ read A | read B | read C |  free  ]
 *                                                   ▲ batch    ▲ batch    ▲ batch
 *
 * Reads are handled one at a time on the event loop and copied before the callback
 * returns, so one shared read buffer serves every connection (an idle connection
 * holds no read memory at all).
 */

import { ReuseLimit } from '../pipeline/reuse-limit.js';

/** Largest single read: libuv asks for 64 KiB per read of a stream socket. */
export const READ_BYTES = 64 * 1024;
/** Slab size: sixteen full reads; big enough that switching slabs is rare. */
export const SLAB_BYTES = 1024 * 1024;
/**
 * Free slabs kept for reuse once the queue has drained: as many as were in use at once
 * lately, at least this many (ReuseLimit); more are left to the GC.
 */
const MIN_FREE_SLABS = 16;

export class Slab {
  readonly buf = Buffer.allocUnsafeSlow(SLAB_BYTES);
  /** Batches not yet released, plus one while it is the pool's current slab. */
  refs = 1;

  constructor(private readonly pool: SlabPool) {}

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (--this.refs === 0) this.pool.recycle(this);
  }
}

export class SlabPool {
  /** The buffer every socket reads into; its contents live only until the read callback returns. */
  readonly readBuffer = Buffer.allocUnsafeSlow(READ_BYTES);
  private current: Slab;
  private used = 0;
  private readonly free: Slab[] = [];
  private readonly keep = new ReuseLimit(MIN_FREE_SLABS);
  /** Slabs allocated so far (for tests and metrics). */
  allocated = 1;

  constructor() {
    this.current = new Slab(this);
    this.keep.taken();
  }

  /**
   * Copies the first `n` bytes of the read buffer into the current slab and returns
   * where they are; `slab` must be retained by whoever keeps views of the region.
   */
  copyIn(n: number): { slab: Slab; start: number } {
    if (this.used + n > SLAB_BYTES) this.next();
    const slab = this.current;
    const start = this.used;
    this.readBuffer.copy(slab.buf, start, 0, n);
    this.used += n;
    return { slab, start };
  }

  private next(): void {
    const old = this.current;
    this.current = this.free.pop() ?? (this.allocated++, new Slab(this));
    this.keep.taken();
    // Past what the load needed lately: left to the GC.
    const limit = this.keep.limit();
    if (this.free.length > limit) this.free.length = limit;
    this.current.refs = 1;
    this.used = 0;
    old.release(); // the pool's own reference
  }

  recycle(slab: Slab): void {
    if (slab === this.current) return;
    if (this.keep.returned(this.free.length)) this.free.push(slab);
  }

  get freeSlabs(): number {
    return this.free.length;
  }
}
