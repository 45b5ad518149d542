/**
 * A batch of frames as it travels from a listener to the outputs: one buffer, a
 * flat array of [start, end) offsets, optional per-frame flags. Frames are views of
 * the bytes the socket delivered (no copy, no string per message); the batch keeps
 * the chunk alive until every output has written it.
 *
 *   buf:      |<134>1 ... msg A\n<134>1 ... msg B\r\n<13>... msg C\n|
 *   offsets:  [ 0, 41,   42, 85,   87, 120 ]        (frame i = buf[offsets[2i], offsets[2i+1]))
 */
import type { FrameSink } from '../protocols/framing/framer.js';

export type Transport = 'tcp' | 'tls' | 'udp' | 'unix' | 'unix-dgram';

/** Where a batch came from; shared by all its frames unless `peers` is set. */
export interface Source {
  listener: string;
  transport: Transport;
  /** `ip:port`, `[ipv6]:port`, or the socket path for Unix sockets. */
  peer: string;
}

export interface FrameBatch {
  buf: Buffer;
  /** 2 × count entries: start, end of each frame in `buf`. */
  offsets: Uint32Array;
  /** Per-frame flags (FRAME_TRUNCATED…), or null when no frame has any. */
  flags: Uint8Array | null;
  count: number;
  /** Sum of frame lengths: what the queue accounts for. */
  bytes: number;
  /** Receive time, ms since the epoch with µs fraction. */
  received: number;
  source: Source;
  /** Per-frame peers for batches that coalesce datagrams from several senders. */
  peers: string[] | null;
}

/** Wall clock in ms with sub-ms precision, monotonic within the process. */
const ORIGIN = performance.timeOrigin;
export function nowMs(): number {
  return ORIGIN + performance.now();
}

/**
 * Collects the frames one read produces into batches, starting a new batch whenever
 * the frame's buffer changes (a frame assembled across reads lives in its own buffer).
 * `emit` is a bound FrameSink to hand to a framer; `flush` hands the batches on.
 */
export class BatchBuilder {
  private buf: Buffer | null = null;
  private scratch = new Uint32Array(2048);
  private flagScratch: Uint8Array | null = null;
  private count = 0;
  private bytes = 0;
  private received = 0;
  readonly emit: FrameSink;

  constructor(
    private readonly source: Source,
    private readonly deliver: (batch: FrameBatch) => void,
  ) {
    this.emit = (buf, start, end, flags) => this.add(buf, start, end, flags);
  }

  /** Marks the receive time for the frames that follow (one clock read per chunk). */
  stamp(received: number): void {
    this.received = received;
  }

  add(buf: Buffer, start: number, end: number, flags: number): void {
    if (buf !== this.buf) {
      if (this.count > 0) this.flush();
      this.buf = buf;
    }
    const i = this.count * 2;
    if (i === this.scratch.length) {
      const next = new Uint32Array(this.scratch.length * 2);
      next.set(this.scratch);
      this.scratch = next;
    }
    this.scratch[i] = start;
    this.scratch[i + 1] = end;
    if (flags !== 0) {
      if (this.flagScratch === null || this.flagScratch.length < this.scratch.length / 2) {
        const f = new Uint8Array(this.scratch.length / 2);
        if (this.flagScratch) f.set(this.flagScratch);
        this.flagScratch = f;
      }
      this.flagScratch[this.count] = flags;
    }
    this.count++;
    this.bytes += end - start;
  }

  flush(): void {
    if (this.count === 0) return;
    const n = this.count;
    const batch: FrameBatch = {
      buf: this.buf!,
      offsets: this.scratch.slice(0, n * 2),
      flags: this.flagScratch ? this.flagScratch.slice(0, n) : null,
      count: n,
      bytes: this.bytes,
      received: this.received,
      source: this.source,
      peers: null,
    };
    this.flagScratch = null; // flags are rare: the next flagged frame allocates afresh
    this.buf = null;
    this.count = 0;
    this.bytes = 0;
    this.deliver(batch);
  }
}
