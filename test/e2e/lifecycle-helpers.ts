/**
 * Shared helpers for the end-to-end lifecycle tests (shutdown-, backpressure-,
 * limits-, hostile-*.test.ts): temp dirs, reading the NDJSON output, raw sockets
 * with bounded waits, and running the real `ringlog bench` CLI as a child process.
 * The server itself is always started through bench/lib/server.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { RinglogServer, parseLogfmt, repoRoot, ringlogBin, trackChild } from '../../bench/lib/server.js';
import { seqOfRecord } from '../../src/loadgen/payload.js';
import { makeTempDir as tempDir, readNdjson, removeDir, sleep, type NdjsonRecord } from './helpers.js';

export { tempDir, removeDir, sleep, type NdjsonRecord };

/** Every complete line of an NDJSON output file, parsed (a last line still being written is left out). */
export const readRecords = (file: string): NdjsonRecord[] => readNdjson(file);

/** Polls `cond` every `intervalMs` until it is true; throws `what` after `timeoutMs`. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Waits until the output file holds a record matching `pred`; returns all records read then. */
export async function waitForRecord(file: string, pred: (r: NdjsonRecord) => boolean, what: string, timeoutMs = 10_000): Promise<NdjsonRecord[]> {
  let recs: NdjsonRecord[] = [];
  await waitUntil(() => {
    recs = readRecords(file);
    return recs.some(pred);
  }, `a record with ${what} in ${file}`, timeoutMs);
  return recs;
}

/** Opens a TCP connection; rejects on error or after `timeoutMs`. */
export function connect(port: number, host = '127.0.0.1', timeoutMs = 5_000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect ${host}:${port}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.off('error', onError);
      resolve(s);
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    s.once('error', onError);
  });
}

export interface CloseInfo {
  /** The peer sent FIN ('end' seen) before the close. */
  ended: boolean;
  /** Error code seen on the socket (ECONNRESET…), if any. */
  error: string | null;
  /** ms from the call to the close. */
  ms: number;
}

/** Tracks how a socket ends; `closed` resolves at 'close'. Attach right after connecting. */
export function watchClose(s: net.Socket): { closed: Promise<CloseInfo>; isClosed: () => boolean } {
  const t0 = Date.now();
  let ended = false;
  let error: string | null = null;
  let done = false;
  s.on('end', () => (ended = true));
  s.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
  // Read (and discard) whatever the server sends, so that 'end' can be seen.
  s.on('data', () => {});
  const closed = new Promise<CloseInfo>((resolve) => {
    s.once('close', () => {
      done = true;
      resolve({ ended, error, ms: Date.now() - t0 });
    });
  });
  return { closed, isClosed: () => done };
}

/** Resolves with the close info, or null if the socket is still open after `timeoutMs`. */
export function closedWithin(w: { closed: Promise<CloseInfo> }, timeoutMs: number): Promise<CloseInfo | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    void w.closed.then((info) => {
      clearTimeout(timer);
      resolve(info);
    });
  });
}

/** Writes `data`, half-closes, waits until the server has closed too (bounded). */
export async function sendAndClose(port: number, data: string | Buffer, host = '127.0.0.1', timeoutMs = 10_000): Promise<void> {
  const s = await connect(port, host);
  const w = watchClose(s);
  s.end(data);
  const info = await closedWithin(w, timeoutMs);
  if (!info) {
    s.destroy();
    throw new Error(`server did not close the connection within ${timeoutMs} ms after our FIN`);
  }
  if (info.error) throw new Error(`connection failed: ${info.error}`);
}

/** Sends one line on a new connection and waits until it is in the output file. */
export async function assertLineArrives(srv: RinglogServer, file: string, text: string, timeoutMs = 10_000): Promise<void> {
  await sendAndClose(srv.address('tcp').port, `${text}\n`);
  await waitForRecord(file, (r) => r.message === text, JSON.stringify(text), timeoutMs);
}

/** /healthz says 200 and the process is still running. */
export async function assertHealthy(srv: RinglogServer): Promise<void> {
  if (srv.describeExit() !== 'running') throw new Error(`ringlog server is not running (${srv.describeExit()})\n${srv.stderrTail()}`);
  const h = await srv.healthz(5_000);
  if (h.status !== 200) throw new Error(`/healthz answered ${h.status}: ${h.body}`);
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface BenchRun {
  proc: ChildProcess;
  result: Promise<ChildResult>;
}

/**
 * Runs `node bin/ringlog.js bench ARGS` (the real load generator) as a child
 * process, killed with SIGKILL if it is still running after `timeoutMs`.
 */
export function runBenchCli(args: string[], timeoutMs = 60_000): BenchRun {
  const proc = spawn(process.execPath, [ringlogBin, 'bench', '--no-progress', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(proc);
  let stdout = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const result = new Promise<ChildResult>((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { proc, result };
}

export interface SeqReport {
  /** Records whose message carries a bench seq. */
  withSeq: number;
  /** Seqs in 0..n-1 never seen (first few). */
  missing: number[];
  missingCount: number;
  /** Seqs seen more than once (first few). */
  duplicates: number[];
  duplicateCount: number;
  /** Seqs outside 0..n-1. */
  outOfRange: number;
}

/** Checks that the bench seqs in `records` are exactly 0..n-1, each once. */
export function checkSeqs(records: Iterable<NdjsonRecord>, n: number): SeqReport {
  const seen = new Uint8Array(n);
  const rep: SeqReport = { withSeq: 0, missing: [], missingCount: 0, duplicates: [], duplicateCount: 0, outOfRange: 0 };
  for (const r of records) {
    const p = seqOfRecord(r);
    if (!p) continue;
    rep.withSeq++;
    if (p.seq < 0 || p.seq >= n) {
      rep.outOfRange++;
      continue;
    }
    if (seen[p.seq] !== 0) {
      rep.duplicateCount++;
      if (rep.duplicates.length < 10) rep.duplicates.push(p.seq);
    }
    seen[p.seq] = 1;
  }
  for (let i = 0; i < n; i++) {
    if (seen[i] === 0) {
      rep.missingCount++;
      if (rep.missing.length < 10) rep.missing.push(i);
    }
  }
  return rep;
}

/** Runs `cmd args`; resolves with its exit code and output (never rejects). */
export function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<ChildResult> {
  return new Promise((resolve) => {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, signal: null, stdout, stderr: stderr + err.message });
    });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Streams an NDJSON file line by line (for outputs too big to read as one string);
 * calls `onRecord` for each parsed line. Returns the number of lines. Throws on a
 * line that is not JSON.
 */
export async function scanRecords(file: string, onRecord: (r: NdjsonRecord) => void): Promise<number> {
  const { createReadStream } = await import('node:fs');
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: createReadStream(file, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    let r: NdjsonRecord;
    try {
      r = JSON.parse(line) as NdjsonRecord;
    } catch {
      throw new Error(`${file}: line ${n} is not JSON: ${line.slice(0, 200)}`);
    }
    onRecord(r);
  }
  return n;
}

/**
 * A sender on a raw TCP socket pushing `count` messages of `size` bytes as fast as
 * the socket takes them: pre-built 256 KiB chunks, sequence digits patched in
 * place (the bench's RFC 5424 shape, so `parseSeq` reads them back). Seqs are
 * `firstSeq .. firstSeq + count - 1`, in order. Waits for 'drain' whenever
 * write() returns false, and records that it did.
 */
export class RawSender {
  /** Messages handed to write(). */
  sent = 0;
  /** Times write() returned false. */
  writeFalse = 0;
  /** True while waiting for 'drain'. */
  stalled = false;
  error: string | null = null;
  readonly done: Promise<void>;
  private readonly template: Buffer;
  private readonly seqAt: number;
  private stopped = false;

  constructor(
    readonly socket: net.Socket,
    readonly conn: number,
    readonly firstSeq: number,
    readonly count: number,
    readonly size = 1024,
  ) {
    const head = `<134>1 2026-01-01T00:00:00.000000Z e2e-host raw-sender 1 - [bench@32473 conn="${conn}" seq="`;
    const filler = 'y'.repeat(Math.max(1, size - head.length - 9 - 3));
    const msg = `${head}000000000"] ${filler}`.slice(0, size - 1) + '\n';
    if (Buffer.byteLength(msg) !== size) throw new Error(`message size ${size} too small`);
    this.template = Buffer.from(msg);
    this.seqAt = head.length;
    socket.on('error', (err: NodeJS.ErrnoException) => (this.error ??= err.code ?? err.message));
    socket.on('data', () => {});
    this.done = this.run();
  }

  /** Stops after the current chunk. */
  stop(): void {
    this.stopped = true;
  }

  private async run(): Promise<void> {
    const per = Math.max(1, Math.floor((256 * 1024) / this.size));
    const chunks = [Buffer.alloc(per * this.size), Buffer.alloc(per * this.size)];
    for (const c of chunks) for (let i = 0; i < per; i++) this.template.copy(c, i * this.size);
    let which = 0;
    while (this.sent < this.count && !this.stopped) {
      if (this.error || this.socket.destroyed) throw new Error(`sender ${this.conn}: connection failed after ${this.sent} messages: ${this.error ?? 'closed'}`);
      const n = Math.min(per, this.count - this.sent);
      const chunk = chunks[which]!;
      which ^= 1;
      for (let i = 0; i < n; i++) {
        const digits = String(this.firstSeq + this.sent + i).padStart(9, '0');
        chunk.write(digits, i * this.size + this.seqAt, 'latin1');
      }
      // Node copies nothing, so a chunk must not be patched while it is still queued.
      // Two chunks alternate: a 256 KiB write only returns true once everything queued
      // before it (the other chunk) has gone to the kernel, and false means wait for 'drain'.
      const ok = this.socket.write(n === per ? chunk : chunk.subarray(0, n * this.size));
      this.sent += n;
      if (!ok) {
        this.writeFalse++;
        this.stalled = true;
        await new Promise<void>((resolve) => {
          const done = () => {
            this.socket.off('drain', done);
            this.socket.off('close', done);
            resolve();
          };
          this.socket.on('drain', done);
          this.socket.on('close', done);
        });
        this.stalled = false;
      } else {
        // Let the event loop run (metrics polling, timers) between chunks.
        await new Promise<void>((r) => setImmediate(r));
      }
    }
    if (this.error || this.socket.destroyed) throw new Error(`sender ${this.conn}: connection failed after ${this.sent} messages: ${this.error ?? 'closed'}`);
    await new Promise<void>((resolve) => this.socket.end(() => resolve()));
  }
}

/** `p`, or a rejection naming `what` after `ms` (the timer is cleared either way). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * Like startServer() (TCP and HTTP on 127.0.0.1:0), but runs `ringlog serve` under a
 * wrapper command that execs it, e.g. ['prlimit', '--nofile=64:64', '--'], so the
 * server starts with the wrapper's limits from its first instruction. startServer()
 * always spawns node directly; this reuses its RinglogServer class (metrics, stop…).
 */
export async function startServerWrapped(wrapper: string[], opts: { dataDir: string; output: string; args?: string[]; timeoutMs?: number }): Promise<RinglogServer> {
  const args = ['serve', '--tcp', '127.0.0.1:0', '--http', '127.0.0.1:0', '--data-dir', opts.dataDir, '--output', opts.output, ...(opts.args ?? [])];
  const argv = [...wrapper, process.execPath, ringlogBin, ...args];
  const proc = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(proc);
  const srv = new RinglogServer(proc, opts.dataDir, false, argv, false);
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const fail = async (why: string): Promise<never> => {
    await srv.kill();
    throw new Error(`${argv.join(' ')} did not start: ${why}\n${srv.stderrTail()}`);
  };
  const pending = new Set(['tcp', 'http']);
  const err = await new Promise<string | null>((resolve) => {
    const timer = setTimeout(() => done(`no listening lines for ${[...pending].join(', ')} within ${timeoutMs} ms`), timeoutMs);
    const unsubscribe = srv.onLine((line) => {
      if (!/\bmsg=listening\b/.test(line)) return;
      const f = parseLogfmt(line);
      const address = f.address ?? '';
      const m = /^(.*):(\d+)$/.exec(address);
      srv.listeners.push({ name: f.listener ?? '?', transport: f.transport ?? '?', address, ...(m ? { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) } : { path: address }) });
      pending.delete(f.transport ?? '');
      if (pending.size === 0) done(null);
    });
    void srv.exited.then(() => done(`it exited (${srv.describeExit()})`));
    proc.on('error', (e) => done(`spawn failed: ${e.message}`));
    function done(e: string | null) {
      clearTimeout(timer);
      unsubscribe();
      resolve(e);
    }
  });
  if (err !== null) return fail(err);
  const h = srv.listener('http');
  srv.httpUrl = `http://${h.host}:${h.port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (srv.describeExit() !== 'running') return fail(`it exited (${srv.describeExit()})`);
    try {
      if ((await srv.healthz(1000)).status === 200) return srv;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) return fail('/healthz not 200 in time');
    await sleep(50);
  }
}

/**
 * What the disk-full tests make and must undo: small tmpfs mounts (root only), the
 * servers and senders on them. `cleanup()` (in `after`) stops the senders and servers,
 * unmounts (lazily if busy) and removes the temp dirs.
 */
export class DiskFullFixture {
  readonly servers: RinglogServer[] = [];
  readonly senders: RawSender[] = [];
  private readonly mounts: string[] = [];
  private readonly dirs: string[] = [];

  /** A fresh tmpfs of `size` (mount's size=, e.g. "4m") in a temp dir, or the reason it cannot be mounted here. */
  async tmpfs(prefix: string, size: string): Promise<{ dir: string; mnt: string } | { skip: string }> {
    const dir = tempDir(prefix);
    this.dirs.push(dir);
    const mnt = path.join(dir, 'mnt');
    mkdirSync(mnt);
    const r = await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt]);
    if (r.code !== 0) return { skip: `cannot mount a tmpfs (needs root / CAP_SYS_ADMIN): ${(r.stderr || `exit ${r.code}`).trim()}` };
    this.mounts.push(mnt);
    return { dir, mnt };
  }

  /** Room again: the tmpfs grows to `size`; fails the test if it cannot. */
  async grow(mnt: string, size: string): Promise<void> {
    const r = await run('mount', ['-o', `remount,size=${size}`, mnt]);
    if (r.code !== 0) throw new Error(`remount ${mnt}: ${r.stderr}`);
  }

  async cleanup(): Promise<void> {
    for (const s of this.senders) s.socket.destroy();
    await Promise.all(this.servers.map((s) => s.kill()));
    for (const m of this.mounts) {
      const r = await run('umount', [m]);
      if (r.code !== 0) await run('umount', ['-l', m]);
    }
    for (const d of this.dirs) removeDir(d);
  }
}
