/**
 * Appends records to a file as NDJSON, one object per line:
 *
 *   {"received":"2026-11-22T10:00:00.123456Z","source":{"transport":"tcp","listener":"tcp","peer":"127.0.0.1:40312"},"message":"<134>1 …"}
 *
 * plus `"truncated":true` for frames cut at the maximum frame size. Each write() of the
 * pipeline becomes one positional write of the whole formatted buffer (no write per
 * record); fdatasync runs every `fsyncInterval` ms when something was written, and at close.
 * A write that fails (ENOSPC…) throws, so the pipeline keeps the batch queued and retries;
 * the bytes of a partly failed write are overwritten by the retry, never duplicated.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { constants, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FrameBatch } from '../../pipeline/batch.js';
import type { Output } from '../../pipeline/pipeline.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { Logger } from '../../log.js';
import { FRAME_TRUNCATED } from '../../protocols/framing/framer.js';
import { maxEscapedLength, writeJsonStringBody } from './json-escape.js';
import { RinglogError } from '../../errors.js';

const TAIL = Buffer.from('"}\n');
const TAIL_TRUNCATED = Buffer.from('","truncated":true}\n');

/** ISO 8601 with microseconds: JSON consumers and `date -d` both take it. */
function isoMicros(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.floor((ms - whole) * 1000);
  const iso = new Date(whole).toISOString(); // 2026-11-22T10:00:00.123Z
  return `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

export class NdjsonOutput implements Output {
  readonly name: string;
  private fh: FileHandle | null = null;
  private position = 0;
  private buf = Buffer.allocUnsafe(4 * 1024 * 1024);
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly fsyncIntervalMs: number,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.name = `ndjson:${path}`;
  }

  async open(): Promise<void> {
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      // Not O_APPEND: Linux ignores pwrite's offset under O_APPEND. We append at the end
      // ourselves so that a failed write is retried at the same offset, never duplicated.
      this.fh = await open(this.path, constants.O_WRONLY | constants.O_CREAT, 0o644);
      this.position = (await this.fh.stat()).size;
    } catch (err) {
      throw new RinglogError('RL_OUTPUT_FAILED', `cannot open NDJSON output ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    this.timer = setInterval(() => void this.sync(), this.fsyncIntervalMs);
    this.timer.unref();
  }

  /** Formats the batches into one buffer (grown when needed). */
  private format(batches: FrameBatch[]): number {
    // Record heads: one per batch, or one per record for batches that coalesce several senders.
    const heads = batches.map((b) => {
      const src = `{"received":"${isoMicros(b.received)}","source":{"transport":"${b.source.transport}","listener":${JSON.stringify(b.source.listener)},"peer":`;
      return b.peers
        ? b.peers.map((p) => Buffer.from(`${src}${JSON.stringify(p)}},"message":"`))
        : Buffer.from(`${src}${JSON.stringify(b.source.peer)}},"message":"`);
    });
    let need = 0;
    batches.forEach((b, j) => {
      const h = heads[j]!;
      const headBytes = Array.isArray(h) ? h.reduce((n, x) => n + x.length, 0) : h.length * b.count;
      need += maxEscapedLength(b.bytes) + headBytes + b.count * TAIL_TRUNCATED.length;
    });
    if (this.buf.length < need) this.buf = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    const out = this.buf;
    let o = 0;
    batches.forEach((b, j) => {
      const h = heads[j]!;
      const { offsets, flags, buf } = b;
      for (let i = 0; i < b.count; i++) {
        o += (Array.isArray(h) ? h[i]! : h).copy(out, o);
        o = writeJsonStringBody(out, o, buf, offsets[2 * i]!, offsets[2 * i + 1]!);
        o += (flags !== null && (flags[i]! & FRAME_TRUNCATED) !== 0 ? TAIL_TRUNCATED : TAIL).copy(out, o);
      }
    });
    return o;
  }

  async write(batches: FrameBatch[]): Promise<void> {
    const fh = this.fh;
    if (!fh) throw new Error('NDJSON output is not open');
    const len = this.format(batches);
    let done = 0;
    while (done < len) {
      const { bytesWritten } = await fh.write(this.buf, done, len - done, this.position + done);
      done += bytesWritten;
    }
    this.position += len;
    this.dirty = true;
    let records = 0;
    for (const b of batches) records += b.count;
    this.metrics.outputRecords.inc({ output: this.name }, records);
    this.metrics.outputBytes.inc({ output: this.name }, len);
    this.metrics.outputLastWrite.set({ output: this.name }, Date.now() / 1000);
    const now = performance.timeOrigin + performance.now();
    this.metrics.outputLatency.observe({ output: this.name }, (now - batches[0]!.received) / 1000);
  }

  /** fdatasync when something was written since the last one; serialised. */
  sync(): Promise<void> {
    this.syncing = this.syncing.then(async () => {
      if (!this.dirty || !this.fh) return;
      this.dirty = false;
      try {
        await this.fh.datasync();
      } catch (err) {
        this.dirty = true;
        this.metrics.outputErrors.inc({ output: this.name });
        this.log.error('NDJSON output fdatasync failed', { output: this.name, error: (err as Error).message });
      }
    });
    return this.syncing;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sync();
    await this.fh?.close();
    this.fh = null;
  }
}
