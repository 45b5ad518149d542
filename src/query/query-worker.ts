/**
 * A query worker thread (query-pool.ts starts them): runs one job at a time against
 * the store, read-only, at a lower priority than the event loop and the store worker,
 * so that searching never stalls ingestion (docs/query.md, "How a query runs").
 *
 * Messages: the pool sends `run` and `more`; the worker answers with `rows` (a chunk
 * of NDJSON lines), then `done` or `error`. At most two chunks are in flight: the
 * worker waits for a `more` before reading further, so a slow HTTP client slows the
 * scan instead of filling memory. The pool stops a job by setting the shared cancel
 * flag (read between blocks); a job past its deadline stops itself the same way.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RinglogError } from '../errors.js';
import { recordToJson } from '../record/record-json.js';
import { StoreReader } from '../store/store-reader.js';
import { lowerThreadPriority, nameThread } from '../thread-priority.js';
import { runJob, type Job } from './jobs.js';

export interface WorkerInit {
  dataDir: string;
  /** Int32Array(1) over it: 1 = stop the running job. */
  cancel: SharedArrayBuffer;
  /** Int32Array(1) over it, shared by all workers: 1 while ingestion is under pressure (query-pool.ts). */
  pressure: SharedArrayBuffer;
}

export type ToQueryWorker = { type: 'run'; id: number; job: Job; deadline: number } | { type: 'more'; id: number };

export type FromQueryWorker =
  | { type: 'rows'; id: number; data: string; count: number }
  | { type: 'done'; id: number; result: Awaited<ReturnType<typeof runJob>> }
  | { type: 'error'; id: number; code: string; message: string }
  | { type: 'warning'; message: string };

/** Thrown inside a job when the pool cancelled it. */
class Cancelled extends Error {}

/** Bytes of NDJSON per `rows` message. */
const CHUNK_BYTES = 256 * 1024;
/** Chunks sent and not yet asked for again. */
const IN_FLIGHT = 2;
/**
 * Under ingestion pressure a worker works at most this share of the time: after each
 * block it waits (1 − share)/share as long as the block took. Thread priority alone
 * does not keep a scan from slowing ingestion (the two cores may be siblings of one
 * physical core, and the scan's memory traffic and garbage collection are not niced).
 */
const PRESSURE_DUTY = 0.25;

/**
 * A worker idle this long lets go of its reader's caches (the WAL tail as blocks, up
 * to about store.commitSize of records, and parsed index files): memory goes back
 * while nobody queries, and the next query rebuilds them.
 */
const IDLE_RELEASE_MS = 60_000;

function start(): void {
  const port = parentPort!;
  const init = workerData as WorkerInit;
  const cancel = new Int32Array(init.cancel);
  const pressure = new Int32Array(init.pressure);
  let slice = performance.now();
  const throttle = () => {
    const now = performance.now();
    const worked = now - slice;
    if (Atomics.load(pressure, 0) === 1 && worked > 0) {
      // Atomics.wait blocks this thread only (a worker may block); it wakes early if pressure ends.
      Atomics.wait(pressure, 0, 1, Math.min(200, (worked * (1 - PRESSURE_DUTY)) / PRESSURE_DUTY));
    }
    slice = performance.now();
  };
  // Far below the store worker (+5): under full load queries wait for cores, ingestion does not.
  nameThread('ringlog-query');
  lowerThreadPriority(19);
  let reader: StoreReader | null = null;
  let credit = IN_FLIGHT;
  let wake: (() => void) | null = null;
  let current = 0;
  let idleTimer: NodeJS.Timeout | null = null;

  const send = (m: FromQueryWorker) => port.postMessage(m);

  port.on('message', (m: ToQueryWorker) => {
    if (m.type === 'more') {
      if (m.id !== current) return; // for a job already over
      credit++;
      const w = wake;
      wake = null;
      w?.();
      return;
    }
    void run(m.id, m.job, m.deadline);
  });

  async function run(id: number, job: Job, deadline: number): Promise<void> {
    if (idleTimer !== null) clearTimeout(idleTimer);
    current = id;
    credit = IN_FLIGHT;
    let lines: string[] = [];
    let bytes = 0;
    const flush = async () => {
      if (lines.length === 0) return;
      while (credit <= 0) {
        // Wait for the client to take the previous chunks, but not past the deadline.
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.max(0, deadline - Date.now()) + 1);
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
        wake = null;
        check();
      }
      credit--;
      send({ type: 'rows', id, data: lines.join('\n') + '\n', count: lines.length });
      lines = [];
      bytes = 0;
    };
    const check = () => {
      if (Atomics.load(cancel, 0) !== 0) throw new Cancelled('cancelled');
      if (Date.now() > deadline) throw new RinglogError('RL_QUERY_TIMEOUT', `the query ran past its time limit (${Math.round((deadline - startedAt) / 1000)} s); narrow the time range or the query, or raise query.timeLimit`);
    };
    const startedAt = Date.now();
    try {
      reader ??= StoreReader.open(init.dataDir, (message) => send({ type: 'warning', message }));
      reader.throttle = throttle;
      slice = performance.now();
      const result = await runJob(reader, job, {
        check,
        emit(record) {
          const line = recordToJson(record);
          lines.push(line);
          bytes += line.length + 1;
          if (bytes >= CHUNK_BYTES) return flush();
          return undefined;
        },
      });
      await flush();
      send({ type: 'done', id, result });
    } catch (err) {
      if (err instanceof Cancelled) send({ type: 'error', id, code: 'cancelled', message: 'cancelled' });
      else if (err instanceof RinglogError) send({ type: 'error', id, code: err.code, message: err.message });
      else send({ type: 'error', id, code: 'internal', message: (err as Error).stack ?? String(err) });
    }
    idleTimer = setTimeout(() => reader?.releaseCaches(), IDLE_RELEASE_MS);
    idleTimer.unref();
  }
}

start();
