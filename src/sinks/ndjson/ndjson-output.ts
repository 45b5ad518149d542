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
 * A crash can leave a partial last line; the next open ends it with a newline so the
 * records that follow start on a line of their own. reopen() (SIGHUP) starts a new
 * file at the same path after log rotation moved the old one away.
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
  /** write, sync, reopen and close run one at a time, in call order. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly fsyncIntervalMs: number,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.name = `ndjson:${path}`;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => {});
    return p;
  }

  async open(): Promise<void> {
    await this.openFile();
    this.timer = setInterval(() => void this.sync(), this.fsyncIntervalMs);
    this.timer.unref();
  }

  private async openFile(): Promise<void> {
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      // Not O_APPEND: Linux ignores pwrite's offset under O_APPEND. We append at the end
      // ourselves so that a failed write is retried at the same offset, never duplicated.
      const fh = await open(this.path, constants.O_RDWR | constants.O_CREAT, 0o644);
      this.fh = fh;
      this.position = (await fh.stat()).size;
      if (this.position > 0) {
        const last = Buffer.alloc(1);
        await fh.read(last, 0, 1, this.position - 1);
        if (last[0] !== 0x0a) {
          await fh.write(Buffer.from('\n'), 0, 1, this.position);
          this.position++;
          this.log.warn('NDJSON output ended with a partial line (an earlier crash?); ended it with a newline', { output: this.name });
        }
      }
    } catch (err) {
      throw new RinglogError('RL_OUTPUT_FAILED', `cannot open NDJSON output ${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Syncs and closes the current file, then opens the path again (a new file if it was moved away). */
  reopen(): Promise<void> {
    return this.serial(async () => {
      await this.syncNow();
      await this.fh?.close();
      this.fh = null;
      await this.openFile();
    });
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

  write(batches: FrameBatch[]): Promise<void> {
    return this.serial(() => this.writeNow(batches));
  }

  private async writeNow(batches: FrameBatch[]): Promise<void> {
    const fh = this.fh;
    if (!fh) throw new RinglogError('RL_OUTPUT_FAILED', `NDJSON output ${this.path} is not open`);
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

  /** fdatasync when something was written since the last one. */
  sync(): Promise<void> {
    return this.serial(() => this.syncNow());
  }

  private async syncNow(): Promise<void> {
    if (!this.dirty || !this.fh) return;
    this.dirty = false;
    try {
      await this.fh.datasync();
    } catch (err) {
      this.dirty = true;
      this.metrics.outputErrors.inc({ output: this.name });
      this.log.error('NDJSON output fdatasync failed', { output: this.name, error: (err as Error).message });
    }
  }

  close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return this.serial(async () => {
      await this.syncNow();
      await this.fh?.close();
      this.fh = null;
    });
  }
}
