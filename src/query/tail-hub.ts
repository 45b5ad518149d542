/**
 * Live tail (GET /api/v1/tail, docs/api.md): Server-Sent Events of the records that
 * match a query, from the moment of subscribing. The matching runs on the tail worker
 * (tail-worker.ts), started with the first subscriber and stopped after the last.
 *
 * Each subscriber has a bound on the bytes waiting in its socket (`bufferBytes`).
 * Past it, its records are dropped and counted; once the socket has drained, the
 * subscriber gets `event: missed` with the count before the next record. Memory per
 * subscriber stays bounded however slowly it reads.
 *
 * Events: `ready` once the subscription is live; a plain `message` per record (data:
 * the record's JSON); `missed` ({"count":N}, with "entries":M when M WAL entries could
 * not be read at all, their records unknown); a comment line every 15 s keeps proxies
 * from closing an idle stream.
 */
import type http from 'node:http';
import { Worker } from 'node:worker_threads';
import type { Node } from './ast.js';
import type { Metrics } from '../metrics/metrics.js';
import { RateLimitedLog, type Logger } from '../log.js';
import type { FromTailWorker, TailWorkerInit, ToTailWorker } from './tail-worker.js';

export interface TailOptions {
  storeRoot: string;
  maxSubscribers: number;
  /** Bytes a subscriber's socket may hold unsent before records for it are dropped. */
  bufferBytes: number;
  /** How often the worker looks for new WAL entries. */
  pollMs: number;
}

interface Subscriber {
  id: number;
  res: http.ServerResponse;
  missed: number;
  /** WAL entries the tail thread could not read since this subscriber was last told (records not known). */
  missedEntries: number;
}

const HEARTBEAT_MS = 15_000;
const MISSED_CHECK_MS = 250;

export class TailHub {
  private worker: Worker | null = null;
  private subs = new Map<number, Subscriber>();
  private nextId = 1;
  private heartbeat: NodeJS.Timeout | null = null;

  /** At most a few lines a minute when a tail far behind keeps losing WAL files (each rotation would say so). */
  private readonly lossLog: RateLimitedLog | null;

  constructor(private readonly opts: TailOptions, private readonly metrics: Metrics, private readonly log?: Logger) {
    this.lossLog = log ? new RateLimitedLog(log, 3, 60_000) : null;
  }

  get size(): number {
    return this.subs.size;
  }

  /** False when the subscriber limit is reached (the caller answers 429). */
  subscribe(root: Node, res: http.ServerResponse): boolean {
    if (this.subs.size >= this.opts.maxSubscribers) return false;
    const sub: Subscriber = { id: this.nextId++, res, missed: 0, missedEntries: 0 };
    this.subs.set(sub.id, sub);
    this.metrics.tailSubscribers.set(this.subs.size);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    res.on('close', () => this.unsubscribe(sub.id));
    this.ensureWorker().postMessage({ type: 'subscribe', id: sub.id, root } satisfies ToTailWorker);
    return true;
  }

  private unsubscribe(id: number): void {
    if (!this.subs.delete(id)) return;
    this.metrics.tailSubscribers.set(this.subs.size);
    this.worker?.postMessage({ type: 'unsubscribe', id } satisfies ToTailWorker);
    if (this.subs.size === 0) this.stopWorker();
  }

  private ensureWorker(): Worker {
    if (this.worker !== null) return this.worker;
    const init: TailWorkerInit = { storeRoot: this.opts.storeRoot, pollMs: this.opts.pollMs };
    const w = new Worker(new URL('./tail-worker.js', import.meta.url), { workerData: init, name: 'ringlog-tail' });
    w.unref();
    w.on('message', (m: FromTailWorker) => this.onMessage(m));
    w.on('error', (err) => this.log?.error('tail worker failed', { error: err.message }));
    w.on('exit', () => {
      if (this.worker !== w) return;
      this.worker = null;
      // It died with subscribers: they end, and reconnect (EventSource does) to a new worker.
      for (const s of [...this.subs.values()]) s.res.end();
    });
    this.worker = w;
    let ticks = 0;
    this.heartbeat = setInterval(() => {
      // A subscriber that missed records hears of it soon after its socket drains, even if nothing new matches.
      const beat = ++ticks % (HEARTBEAT_MS / MISSED_CHECK_MS) === 0;
      for (const s of this.subs.values()) {
        this.tellMissed(s);
        if (beat && s.res.writableLength === 0) s.res.write(': keepalive\n\n');
      }
    }, MISSED_CHECK_MS);
    this.heartbeat.unref();
    return w;
  }

  private stopWorker(): void {
    const w = this.worker;
    this.worker = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    void w?.terminate();
  }

  private onMessage(m: FromTailWorker): void {
    switch (m.type) {
      case 'subscribed': {
        const s = this.subs.get(m.id);
        s?.res.write('event: ready\ndata: {}\n\n');
        return;
      }
      case 'error':
        this.log?.warn('tail: reading the WAL failed', { error: m.message });
        return;
      case 'records': {
        if (m.skipped > 0) for (const s of this.subs.values()) s.missed += m.skipped;
        if (m.lostEntries > 0) {
          this.lossLog?.warn('lost', 'tail: WAL entries could not be read (jumped over by a tail two or more WAL files behind, recycled or deleted before the tail read them, or damaged); subscribers are told', { entries: m.lostEntries });
          for (const s of this.subs.values()) s.missedEntries += m.lostEntries;
        }
        const by = new Map(m.items.map((it) => [it.id, it]));
        for (const s of this.subs.values()) {
          const it = by.get(s.id);
          this.tellMissed(s);
          if (it === undefined) continue;
          // One SSE event per record ("data: <json>\n\n"), as many as fit in the room left.
          let lines = it.data.slice(0, -1).split('\n');
          const room = this.opts.bufferBytes - s.res.writableLength;
          if (it.data.length + 8 * lines.length > room) {
            let used = 0;
            let k = 0;
            while (k < lines.length && used + lines[k]!.length + 8 <= room) used += lines[k++]!.length + 8;
            s.missed += lines.length - k;
            lines = lines.slice(0, k);
          }
          if (lines.length === 0) continue;
          s.res.write('data: ' + lines.join('\n\ndata: ') + '\n\n');
          this.metrics.tailRecords.inc(lines.length);
        }
      }
    }
  }

  /** Sends a subscriber that had records dropped the count, once its socket has room again. */
  private tellMissed(s: Subscriber): void {
    if ((s.missed === 0 && s.missedEntries === 0) || s.res.writableLength > this.opts.bufferBytes) return;
    const entries = s.missedEntries > 0 ? `,"entries":${s.missedEntries}` : '';
    s.res.write(`event: missed\ndata: {"count":${s.missed}${entries}}\n\n`);
    this.metrics.tailMissed.inc(s.missed);
    this.metrics.tailMissedEntries.inc(s.missedEntries);
    s.missed = 0;
    s.missedEntries = 0;
  }

  close(): void {
    for (const s of [...this.subs.values()]) s.res.end();
    this.subs.clear();
    this.stopWorker();
  }
}
