/**
 * Appends records to a file as NDJSON, one object per line, in the record's JSON
 * form (src/record/record-json.ts, docs/record.md):
 *
 *   {"timestamp":"2026-11-22T10:00:00.123456789Z","received":"…","host":"web-1","app":"nginx",…,"message":"…","source":{…}}
 *
 * Each write() of the pipeline becomes one positional write of the whole formatted buffer (no write per
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
import { parsed } from '../../record/record-batch.js';
import type { FrameBatch } from '../../pipeline/batch.js';
import { RecordJsonWriter } from '../../record/record-json.js';
import type { Output } from '../../pipeline/pipeline.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { Logger } from '../../log.js';
import { RinglogError } from '../../errors.js';

export class NdjsonOutput implements Output {
  readonly name: string;
  readonly needsRecords = true;
  private fh: FileHandle | null = null;
  private position = 0;
  private readonly json = new RecordJsonWriter();
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

  write(batches: FrameBatch[]): Promise<void> {
    return this.serial(() => this.writeNow(batches));
  }

  private async writeNow(frames: FrameBatch[]): Promise<void> {
    const batches = frames.map(parsed);
    const fh = this.fh;
    if (!fh) throw new RinglogError('RL_OUTPUT_FAILED', `NDJSON output ${this.path} is not open`);
    const out = this.json.render(batches);
    const len = out.length;
    let done = 0;
    while (done < len) {
      const { bytesWritten } = await fh.write(out, done, len - done, this.position + done);
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
