/**
 * The bounded queue between the edge and the outputs, in bytes, with two watermarks.
 *
 *   listeners ──push()──► [ batch | batch | … ] ──drain loop──► outputs (all of them)
 *                          └ queuedBytes ┘
 *   queuedBytes ≥ high watermark → state 'paused': push() returns false, stream
 *       listeners stop reading (TCP flow control pushes back on senders), offer()
 *       refuses datagrams (counted drops).
 *   queuedBytes ≤ low watermark → 'resume' is emitted and paused sockets read again.
 *
 * A batch's bytes stay counted until every output has written it, so the bound
 * covers what the outputs hold too. Over the bound by at most one read per
 * connection: a stream read already done cannot be refused, only the next one.
 */
import { EventEmitter } from 'node:events';
import type { FrameBatch } from './batch.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';

export interface Output {
  readonly name: string;
  /**
   * Writes the batches; the queue frees their bytes when this resolves. Batches are
   * parsed (RecordBatch) when some output needs records (`needsRecords`), else frames
   * with their listener's format (the store parses in its worker). Throwing means
   * "retry later". An output must not keep references to batch buffers afterwards:
   * pooled read memory is reused once every output is done with it.
   */
  write(batches: FrameBatch[]): Promise<void> | void;
  /** Writes and syncs everything it holds, then releases its resources. */
  close(): Promise<void>;
  /**
   * True for an output that calls each batch's `ack` itself once the batch is durable
   * (the store). Without one, a batch is acknowledged when every output has written it.
   */
  readonly acks?: boolean;
  /** True for an output that reads parsed records (the NDJSON output): listeners then parse on the event loop. */
  readonly needsRecords?: boolean;
}

export interface PipelineOptions {
  highWatermark: number;
  lowWatermark: number;
  /** Most bytes handed to the outputs in one write() (a few MiB keeps syscalls big and latency low). */
  maxWriteBytes?: number;
}

/** Backoff after an output fails, doubling to this cap; the batch stays queued meanwhile. */
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 5_000;

export class Pipeline extends EventEmitter {
  private queue: FrameBatch[] = [];
  private head = 0;
  private bytes = 0;
  private over = false;
  private wake: (() => void) | null = null;
  private closing = false;
  private readonly loop: Promise<void>;
  private readonly maxWriteBytes: number;
  /** Some output acknowledges batches itself (the store): release() does not. */
  private readonly acking: boolean;

  constructor(
    private readonly opts: PipelineOptions,
    private readonly outputs: Output[],
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    super();
    this.maxWriteBytes = opts.maxWriteBytes ?? 4 * 1024 * 1024;
    this.acking = outputs.some((o) => o.acks === true);
    this.loop = this.run();
  }

  get queuedBytes(): number {
    return this.bytes;
  }

  /** True while over the high watermark (until back under the low one). */
  get paused(): boolean {
    return this.over;
  }

  /**
   * Enqueues a batch that has already been read from a stream socket. Always accepted;
   * returns false when the caller should pause its socket until 'resume'.
   */
  push(batch: FrameBatch): boolean {
    this.enqueue(batch);
    if (!this.over && this.bytes >= this.opts.highWatermark) {
      this.over = true;
      this.metrics.pauses.inc();
      this.emit('pause');
    }
    return !this.over;
  }

  /** For datagrams: enqueues unless over the high watermark; false means the caller drops it. */
  offer(batch: FrameBatch): boolean {
    if (this.over) return false;
    this.push(batch);
    return true;
  }

  private enqueue(batch: FrameBatch): void {
    this.queue.push(batch);
    this.bytes += batch.retained;
    if (this.wake) {
      const w = this.wake;
      this.wake = null;
      w();
    }
  }

  private take(): FrameBatch[] {
    const out: FrameBatch[] = [];
    let size = 0;
    while (this.head < this.queue.length && (out.length === 0 || size < this.maxWriteBytes)) {
      const b = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as FrameBatch;
      out.push(b);
      size += b.retained;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  private release(batches: FrameBatch[]): void {
    const ack = !this.acking;
    for (const b of batches) {
      this.bytes -= b.retained;
      b.hold?.release();
      if (ack) b.ack?.();
    }
    if (this.over && this.bytes <= this.opts.lowWatermark) {
      this.over = false;
      this.emit('resume');
    }
  }

  private async run(): Promise<void> {
    let retryMs = RETRY_MIN_MS;
    for (;;) {
      if (this.head === this.queue.length) {
        if (this.closing) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      const batches = this.take();
      // Each output gets every batch; one that fails is retried alone so the others are not written twice.
      let pending = this.outputs.slice();
      while (pending.length > 0) {
        // async wrapper: an output that throws synchronously is a rejection, not a crash of the loop.
        const results = await Promise.allSettled(pending.map(async (o) => o.write(batches)));
        const failed: Output[] = [];
        results.forEach((r, i) => {
          if (r.status === 'rejected') {
            const o = pending[i]!;
            failed.push(o);
            this.metrics.outputErrors.inc({ output: o.name });
            this.log.error('output write failed; retrying, records stay queued', {
              output: o.name, error: (r.reason as Error)?.message ?? String(r.reason), retry_ms: retryMs,
            });
          }
        });
        pending = failed;
        if (pending.length > 0) {
          await new Promise((r) => setTimeout(r, retryMs));
          retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
        } else retryMs = RETRY_MIN_MS;
      }
      this.release(batches);
    }
  }

  /** Resolves once everything queued so far has been written by every output. */
  async drain(): Promise<void> {
    while (this.bytes > 0 || this.head < this.queue.length) await new Promise((r) => setTimeout(r, 5));
  }

  /** Writes what is queued, then closes (flushes and syncs) every output. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.wake) {
      const w = this.wake;
      this.wake = null;
      w();
    }
    await this.loop;
    for (const o of this.outputs) await o.close();
  }

  /** Refreshes the queue gauges; called on each /metrics scrape. */
  observe(): void {
    this.metrics.queueBytes.set(this.bytes);
    this.metrics.queueBatches.set(this.queue.length - this.head);
  }
}
