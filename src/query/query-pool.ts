/**
 * The query workers of a server (query-worker.ts): a fixed number of threads, one job
 * each at a time, a bounded wait queue (past it: RL_QUERY_BUSY, which the HTTP API
 * answers with 429), a time limit per job, and cancellation when the client goes
 * away. A worker that does not stop within a grace period after its deadline (a
 * regular expression that backtracks for minutes, say) is terminated and replaced.
 */
import { Worker } from 'node:worker_threads';
import { RinglogError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Job, JobResult } from './jobs.js';
import type { FromQueryWorker, ToQueryWorker, WorkerInit } from './query-worker.js';

export interface QueryPoolOptions {
  dataDir: string;
  workers: number;
  /** Jobs waiting for a worker, at most. */
  maxQueued: number;
  /** A job's time limit, from when a worker starts it. */
  timeLimitMs: number;
}

/** Receives a search's NDJSON chunks; a promise holds the worker until it settles (the client took the bytes). */
export type RowsSink = (data: string, count: number) => void | Promise<void>;

/** After the deadline, how long a worker may take to notice before it is terminated. */
const KILL_GRACE_MS = 2_000;

interface Task {
  id: number;
  job: Job;
  sink: RowsSink;
  resolve(r: JobResult): void;
  reject(e: Error): void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
  slot: Slot | null;
}

interface Slot {
  worker: Worker;
  cancel: Int32Array;
  task: Task | null;
  killTimer: NodeJS.Timeout | null;
}

export class QueryPool {
  private slots: Slot[] = [];
  private queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  /** Shared with every worker: 1 while ingestion is under pressure (setPressure). */
  private readonly pressure = new Int32Array(new SharedArrayBuffer(4));
  /** Jobs running or queued now. */
  get active(): number {
    return this.queue.length + this.slots.filter((s) => s.task !== null).length;
  }

  constructor(private readonly opts: QueryPoolOptions, private readonly log?: Logger) {}

  /** Runs a job on a worker. Rejects with RL_QUERY_BUSY when the queue is full, RL_QUERY_TIMEOUT, RL_QUERY_CANCELLED (signal aborted). */
  run(job: Job, sink: RowsSink, signal?: AbortSignal): Promise<JobResult> {
    if (this.closed) return Promise.reject(new RinglogError('RL_QUERY_BUSY', 'the server is shutting down'));
    if (signal?.aborted) return Promise.reject(cancelled());
    const idle = this.idleSlot();
    if (idle === null && this.queue.length >= this.opts.maxQueued) {
      return Promise.reject(new RinglogError('RL_QUERY_BUSY', `too many queries at once (${this.opts.workers} running, ${this.queue.length} waiting); try again shortly`));
    }
    return new Promise<JobResult>((resolve, reject) => {
      const task: Task = { id: this.nextId++, job, sink, resolve, reject, signal, slot: null, onAbort: () => this.abort(task) };
      signal?.addEventListener('abort', task.onAbort, { once: true });
      if (idle !== null) this.start(idle, task);
      else this.queue.push(task);
    });
  }

  private idleSlot(): Slot | null {
    for (const s of this.slots) if (s.task === null) return s;
    if (this.slots.length < this.opts.workers) return this.spawn();
    return null;
  }

  private spawn(): Slot {
    const sab = new SharedArrayBuffer(4);
    const init: WorkerInit = { dataDir: this.opts.dataDir, cancel: sab, pressure: this.pressure.buffer as SharedArrayBuffer };
    const worker = new Worker(new URL('./query-worker.js', import.meta.url), { workerData: init, name: 'ringlog-query' });
    worker.unref();
    const slot: Slot = { worker, cancel: new Int32Array(sab), task: null, killTimer: null };
    worker.on('message', (m: FromQueryWorker) => this.onMessage(slot, m));
    worker.on('error', (err) => this.log?.error('query worker failed', { error: err.message }));
    worker.on('exit', () => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      const t = slot.task;
      slot.task = null;
      if (slot.killTimer) clearTimeout(slot.killTimer);
      if (t !== null) {
        this.finish(t, this.closed
          ? new RinglogError('RL_QUERY_CANCELLED', 'the server is shutting down')
          : new RinglogError('RL_QUERY_TIMEOUT', `the query ran past its time limit (${Math.round(this.opts.timeLimitMs / 1000)} s) and its worker was stopped`));
      }
      if (!this.closed) this.pump();
    });
    this.slots.push(slot);
    return slot;
  }

  private start(slot: Slot, task: Task): void {
    slot.task = task;
    task.slot = slot;
    Atomics.store(slot.cancel, 0, 0);
    const deadline = Date.now() + this.opts.timeLimitMs;
    slot.killTimer = setTimeout(() => void slot.worker.terminate(), this.opts.timeLimitMs + KILL_GRACE_MS);
    slot.killTimer.unref();
    slot.worker.postMessage({ type: 'run', id: task.id, job: task.job, deadline } satisfies ToQueryWorker);
  }

  private onMessage(slot: Slot, m: FromQueryWorker): void {
    if (m.type === 'warning') {
      this.log?.warn('query', { warning: m.message });
      return;
    }
    const task = slot.task;
    if (task === null || task.id !== m.id) return; // a late message of a cancelled job
    switch (m.type) {
      case 'rows': {
        const p = task.sink(m.data, m.count);
        const more = () => {
          if (slot.task === task) slot.worker.postMessage({ type: 'more', id: task.id } satisfies ToQueryWorker);
        };
        if (p instanceof Promise) p.then(more, () => this.abort(task));
        else more();
        return;
      }
      case 'done':
        this.release(slot);
        this.finish(task, null, m.result);
        return;
      case 'error':
        this.release(slot);
        this.finish(task, m.code === 'cancelled' ? cancelled() : m.code === 'internal' ? new Error(m.message) : new RinglogError(m.code as 'RL_QUERY_INVALID', m.message));
    }
  }

  private release(slot: Slot): void {
    if (slot.killTimer) clearTimeout(slot.killTimer);
    slot.killTimer = null;
    slot.task = null;
    this.pump();
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.idleSlot();
      if (slot === null) return;
      this.start(slot, this.queue.shift()!);
    }
  }

  private finish(task: Task, err: Error | null, result?: JobResult): void {
    task.signal?.removeEventListener('abort', task.onAbort);
    if (err !== null) task.reject(err);
    else task.resolve(result!);
  }

  /** The client went away: a queued task leaves the queue; a running one is told to stop. */
  private abort(task: Task): void {
    const i = this.queue.indexOf(task);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.finish(task, cancelled());
      return;
    }
    const slot = task.slot;
    if (slot !== null && slot.task === task) {
      Atomics.store(slot.cancel, 0, 1);
      // A worker waiting for credit sees the flag when woken.
      slot.worker.postMessage({ type: 'more', id: task.id } satisfies ToQueryWorker);
    }
  }

  /**
   * Tells the workers whether ingestion is under pressure (the store's backlog or the
   * pipeline's queue is filling): while it is, each works at most a quarter of the
   * time (query-worker.ts), so that queries cannot slow ingestion down much.
   */
  setPressure(on: boolean): void {
    const v = on ? 1 : 0;
    if (Atomics.load(this.pressure, 0) === v) return;
    Atomics.store(this.pressure, 0, v);
    if (!on) Atomics.notify(this.pressure, 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) this.finish(t, cancelled());
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots = [];
  }
}

function cancelled(): RinglogError {
  return new RinglogError('RL_QUERY_CANCELLED', 'the query was cancelled (the client went away)');
}
