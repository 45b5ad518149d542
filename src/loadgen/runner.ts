/**
 * The load generator engine: opens the connections, then each connection pumps
 * chunks (~256 KiB of pre-built messages whose sequence digits are patched in
 * place) into its socket as fast as the socket takes them, or as its token
 * bucket (its even share of --rate) allows.
 *
 * Sequence numbers: one global counter for the whole run. A connection claims
 * a contiguous block of seqs (one chunk's worth) at a time, so every message of
 * a run has a distinct seq, the seqs of a run of N messages are exactly 0..N-1,
 * and within one connection they are strictly increasing. With a message count
 * N and C connections, each connection sends exactly its share: floor(N/C), plus
 * one for the first N mod C connections. With seqScope 'connection' each connection
 * counts its own messages from 0 instead. The connection id
 * (0-based) is written into every message as well; see payload.ts for the
 * formats and `parseSeq` to read both back.
 */
import type dgram from 'node:dgram';
import type net from 'node:net';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { MAX_SEQ, MessageTemplate, messagesPerChunk, type Framing, type MessageFormat } from './payload.js';
import { TokenBucket } from './rate.js';
import {
  LoadgenError,
  connectStream,
  connectUdp,
  connectUnixDgram,
  describeEndpoint,
  errCode,
  isDatagram,
  sendError,
  type Endpoint,
  type Transport,
  type UnixDgramSocket,
} from './transports.js';

export interface BenchOptions extends Endpoint {
  connections: number;
  /** Total messages across all connections. Default 1,000,000 unless durationSec is set. */
  messages?: number;
  /** Stop after this many seconds (and after `messages`, if both are given). */
  durationSec?: number;
  /** Frame size on the wire, bytes. */
  size: number;
  /** Messages per second across all connections; 0/undefined = unlimited. */
  rate?: number;
  framing: Framing;
  format: MessageFormat;
  /** Bytes per chunk (default 256 KiB). */
  chunkBytes?: number;
  /** Timestamp written into the messages (default: now). */
  time?: Date;
  /** Aborting stops sending early; the run still resolves with what was sent. */
  signal?: AbortSignal;
  /** Called once all connections are open, right before sending starts. */
  onStart?: (info: { totalMessages: number | null; durationSec: number | null }) => void;
  onProgress?: (p: Progress) => void;
  progressIntervalMs?: number;
  /** Connections opened at once (default 128). */
  connectConcurrency?: number;
  /**
   * 'run' (default): one counter for the run, seqs 0..N-1 across connections.
   * 'connection': each connection numbers its own messages 0, 1, 2… (with its id in
   * every message), so what a receiver got from a connection can be checked to be a
   * prefix of what it sent (crash tests).
   */
  seqScope?: 'run' | 'connection';
}

export interface Progress {
  messages: number;
  bytes: number;
  seconds: number;
}

export interface BenchSummary {
  transport: Transport;
  target: string;
  connections: number;
  format: MessageFormat;
  framing: Framing;
  size: number;
  messages: number;
  bytes: number;
  seconds: number;
  msgsPerSec: number;
  /** Megabytes (10^6 bytes) per second. */
  mbPerSec: number;
  /** UDP: datagrams the kernel refused (EAGAIN/ENOBUFS); always 0 on stream transports. */
  senderDrops: number;
  /** unix-dgram: times the receiver's queue was full and we waited for it (no loss). */
  congestionWaits: number;
  /** True if stopped early by the abort signal. */
  interrupted: boolean;
  /** Wall-clock time (epoch ms, sub-ms precision) when sending started, i.e. all connections were open. */
  startedAtMs: number;
}

/** Hands out blocks of sequence numbers until the message budget or the deadline is used up. */
export class Budget {
  private next = 0;
  private stopped = false;
  /** Count of the last successful claim. */
  count = 0;

  constructor(private readonly limit: number, private deadline: number) {}

  setDeadline(at: number): void {
    this.deadline = at;
  }

  stop(): void {
    this.stopped = true;
  }

  get done(): boolean {
    return this.stopped || this.next >= this.limit || (this.deadline !== Infinity && performance.now() >= this.deadline);
  }

  /** Claims up to `max` seqs; returns the first one (and sets `count`), or -1 when finished. */
  claim(max: number): number {
    if (this.done) return -1;
    const start = this.next;
    const n = Math.min(max, this.limit - start);
    this.next = start + n;
    this.count = n;
    return start;
  }
}

interface Ctx {
  ep: Endpoint;
  size: number;
  perChunk: number;
  /** The budget of connection i (one shared by all, or one each with seqScope 'connection'). */
  budgetOf(i: number): Budget;
  /** Messages per second per connection (--rate shared evenly), or null: as fast as possible. */
  ratePerConnection: number | null;
  /** With a rate: the fewest messages a connection takes for one write (see run()). */
  minTake: number;
  messages: number;
  bytes: number;
  drops: number;
  congestionWaits: number;
  failure: Error | null;
  fail(err: Error): void;
}

/** Per-worker state for nextBlock. */
interface Turn {
  lastYield: number;
  /** This connection's share of --rate (each its own: a shared bucket let the connection whose timer fired first take every token). */
  bucket: TokenBucket | null;
  /** Messages this connection still has to send (its share of --messages; Infinity with --duration only). */
  quota: number;
  budget: Budget;
}

function newTurn(ctx: Ctx, id: number, quota: number): Turn {
  return { lastYield: performance.now(), quota, budget: ctx.budgetOf(id), bucket: ctx.ratePerConnection ? new TokenBucket(ctx.ratePerConnection) : null };
}

const YIELD_EVERY_MS = 20;

/**
 * Takes tokens (if rate limited) and claims seqs; returns [start, count] or null
 * when done. Yields to the event loop every ~20 ms so that timers, signals and
 * (in tests) an in-process receiver get to run even while every write succeeds
 * synchronously.
 */
async function nextBlock(ctx: Ctx, turn: Turn): Promise<[number, number] | null> {
  const now = performance.now();
  if (now - turn.lastYield >= YIELD_EVERY_MS) {
    await yieldToLoop();
    turn.lastYield = performance.now();
  }
  for (;;) {
    if (ctx.failure || turn.quota <= 0) return null;
    let n = Math.min(ctx.perChunk, turn.quota);
    const n0 = n;
    if (turn.bucket) {
      if (turn.budget.done) return null;
      n = turn.bucket.take(n, ctx.minTake);
      if (n === 0) {
        await sleep(turn.bucket.waitMs(Math.min(ctx.minTake, n0)));
        turn.lastYield = performance.now();
        continue;
      }
    }
    const start = turn.budget.claim(n);
    if (start < 0) {
      if (turn.bucket) turn.bucket.giveBack(n);
      return null;
    }
    const count = turn.budget.count;
    if (turn.bucket && count < n) turn.bucket.giveBack(n - count);
    turn.quota -= count;
    return [start, count];
  }
}

function waitDrain(sock: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      sock.off('drain', done);
      sock.off('close', done);
      resolve();
    };
    sock.on('drain', done);
    sock.on('close', done);
  });
}

async function streamWorker(ctx: Ctx, id: number, sock: net.Socket, tmpl: MessageTemplate, quota: number): Promise<void> {
  const per = ctx.perChunk;
  const size = ctx.size;
  const turn = newTurn(ctx, id, quota);
  const pool: Buffer[] = [];
  let closed = false;
  sock.on('close', () => {
    closed = true;
  });
  for (;;) {
    const block = await nextBlock(ctx, turn);
    if (!block) break;
    if (closed || sock.destroyed) {
      ctx.fail(sendError(ctx.ep, id, Object.assign(new Error('connection closed by the peer'), { code: 'EPIPE' })));
      return;
    }
    const [start, count] = block;
    // A chunk of `per` messages from the template, reused once its write is done; a write
    // of fewer messages (rate limited) sends the start of one, its seqs patched.
    const buf = pool.pop() ?? tmpl.newChunk(per);
    tmpl.patch(buf, start, count);
    const data = count * size === buf.length ? buf : buf.subarray(0, count * size);
    ctx.messages += count;
    ctx.bytes += data.length;
    const ok = sock.write(data, (err) => {
      if (!err) pool.push(buf);
    });
    if (!ok) await waitDrain(sock);
  }
  if (ctx.failure || sock.destroyed) return;
  await new Promise<void>((resolve) => {
    sock.once('close', () => resolve());
    sock.end(() => resolve());
  });
}

const DROP_CODES = new Set(['EAGAIN', 'EWOULDBLOCK', 'ENOBUFS']);
const UDP_MAX_INFLIGHT = 4096;

async function udpWorker(ctx: Ctx, id: number, sock: dgram.Socket, tmpl: MessageTemplate, quota: number): Promise<void> {
  const per = ctx.perChunk;
  const size = ctx.size;
  const turn = newTurn(ctx, id, quota);
  const pool: Buffer[] = [];
  let inflight = 0;
  let wake: (() => void) | null = null;
  const low = UDP_MAX_INFLIGHT >> 1;
  for (;;) {
    const block = await nextBlock(ctx, turn);
    if (!block) break;
    const [start, count] = block;
    const buf = pool.pop() ?? tmpl.newChunk(per);
    tmpl.patch(buf, start, count);
    let pending = count;
    const done = (err: Error | null) => {
      inflight--;
      if (err) {
        const code = errCode(err);
        if (DROP_CODES.has(code)) ctx.drops++;
        else ctx.fail(sendError(ctx.ep, id, err));
      } else {
        ctx.messages++;
        ctx.bytes += size;
      }
      if (--pending === 0) pool.push(buf);
      if (wake && (inflight <= low || ctx.failure)) {
        const w = wake;
        wake = null;
        w();
      }
    };
    for (let i = 0, off = 0; i < count; i++, off += size) {
      inflight++;
      try {
        sock.send(buf, off, size, done);
      } catch (err) {
        inflight--;
        ctx.fail(sendError(ctx.ep, id, err));
        return;
      }
      if (inflight >= UDP_MAX_INFLIGHT) {
        await new Promise<void>((r) => (wake = r));
        if (ctx.failure) return;
      }
    }
  }
  while (inflight > 0 && !ctx.failure) {
    await new Promise<void>((r) => {
      wake = r;
      // `done` only wakes at the low-water mark: poll for the tail.
      setTimeout(() => {
        if (wake === r) wake = null;
        r();
      }, 5);
    });
  }
}

async function unixDgramWorker(ctx: Ctx, id: number, sock: UnixDgramSocket, tmpl: MessageTemplate, quota: number): Promise<void> {
  const per = ctx.perChunk;
  const size = ctx.size;
  const turn = newTurn(ctx, id, quota);
  // send() is synchronous here, so one chunk buffer per connection is enough.
  const buf = tmpl.newChunk(per);
  type SendErr = Error & { code?: number | string };
  const state: { err: SendErr | undefined } = { err: undefined };
  const cb = (err?: SendErr) => {
    state.err = err;
  };
  const trySend = (msg: Buffer): SendErr | undefined => {
    state.err = undefined;
    sock.send(msg, cb);
    return state.err;
  };
  for (;;) {
    const block = await nextBlock(ctx, turn);
    if (!block) break;
    const [start, count] = block;
    tmpl.patch(buf, start, count);
    for (let i = 0, off = 0; i < count; i++, off += size) {
      const msg = buf.subarray(off, off + size);
      for (;;) {
        const result = trySend(msg);
        if (!result) break;
        if (result.message === 'congestion') {
          // Receiver queue full: wait until writable (or 20 ms) and retry the same datagram.
          ctx.congestionWaits++;
          await new Promise<void>((resolve) => {
            const t = setTimeout(done, 20);
            function done() {
              clearTimeout(t);
              sock.off('writable', done);
              resolve();
            }
            sock.once('writable', done);
          });
          if (ctx.failure) return;
          continue;
        }
        ctx.fail(sendError(ctx.ep, id, result));
        return;
      }
    }
    ctx.messages += count;
    ctx.bytes += count * size;
  }
}

/** Runs `fn(i)` for i in 0..n-1 with at most `concurrency` at once; stops at the first error. */
async function forEachLimited(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown = null;
  const lane = async () => {
    while (failed === null && next < n) {
      const i = next++;
      try {
        await fn(i);
      } catch (err) {
        if (failed === null) failed = err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, Math.max(1, concurrency)) }, lane));
  if (failed !== null) throw failed;
}

function validate(opts: BenchOptions): void {
  if (!Number.isInteger(opts.connections) || opts.connections < 1) {
    throw new LoadgenError(`--connections must be a positive integer, got ${opts.connections}`);
  }
  if (opts.messages !== undefined && (!Number.isInteger(opts.messages) || opts.messages < 0 || opts.messages > MAX_SEQ + 1)) {
    throw new LoadgenError(`--messages must be an integer between 0 and ${MAX_SEQ + 1}, got ${opts.messages}`);
  }
  if (opts.durationSec !== undefined && !(opts.durationSec > 0)) {
    throw new LoadgenError(`--duration must be > 0 seconds, got ${opts.durationSec}`);
  }
  if (opts.rate !== undefined && opts.rate !== 0 && !(opts.rate > 0)) {
    throw new LoadgenError(`--rate must be > 0, got ${opts.rate}`);
  }
  if (isDatagram(opts.transport)) {
    if (opts.framing === 'octet') {
      throw new LoadgenError(`--framing octet is for stream transports; ${opts.transport} sends one message per datagram`);
    }
    if (opts.transport === 'udp' && opts.size > 65507) {
      throw new LoadgenError(`--size ${opts.size} is larger than the largest UDP datagram (65507 bytes)`);
    }
  }
}

function buildTemplates(opts: BenchOptions): MessageTemplate[] {
  const time = opts.time ?? new Date();
  const out: MessageTemplate[] = [];
  try {
    for (let c = 0; c < opts.connections; c++) {
      out.push(new MessageTemplate({ format: opts.format, framing: opts.framing, size: opts.size, conn: c, time }));
    }
  } catch (err) {
    throw new LoadgenError((err as Error).message);
  }
  return out;
}

/** Connection i's share of `limit` messages: floor(limit / C), plus one for the first limit mod C. */
function quotaOfConn(opts: BenchOptions, limit: number, i: number): number {
  return Math.floor(limit / opts.connections) + (i < limit % opts.connections ? 1 : 0);
}

/** Runs one load-generation pass; resolves with the summary, rejects with a LoadgenError. */
export async function runBench(opts: BenchOptions): Promise<BenchSummary> {
  validate(opts);
  const templates = buildTemplates(opts);
  const limit = opts.messages ?? (opts.durationSec !== undefined ? MAX_SEQ + 1 : 1_000_000);
  const perConnection = opts.seqScope === 'connection';
  const budgets = perConnection
    ? Array.from({ length: opts.connections }, (_, i) => new Budget(opts.messages !== undefined ? quotaOfConn(opts, limit, i) : MAX_SEQ + 1, Infinity))
    : [new Budget(limit, Infinity)];
  const budget = {
    stop: () => budgets.forEach((b) => b.stop()),
    setDeadline: (at: number) => budgets.forEach((b) => b.setDeadline(at)),
  };
  // With a message count, each connection sends an equal share (the first
  // limit % connections send one more); seqs still come from the global counter.
  const quotaOf = (i: number): number => {
    if (opts.messages === undefined && opts.durationSec !== undefined) return Infinity;
    return quotaOfConn(opts, limit, i);
  };
  const sockets: { close(): void }[] = [];
  const ctx: Ctx = {
    ep: opts,
    size: opts.size,
    perChunk: messagesPerChunk(opts.size, opts.chunkBytes),
    budgetOf: (i: number) => budgets[perConnection ? i : 0]!,
    ratePerConnection: opts.rate ? opts.rate / opts.connections : null,
    minTake: 1,
    messages: 0,
    bytes: 0,
    drops: 0,
    congestionWaits: 0,
    failure: null,
    fail(err: Error) {
      if (ctx.failure) return;
      ctx.failure = err;
      budget.stop();
      for (const s of sockets) s.close();
    },
  };
  if (ctx.ratePerConnection) {
    ctx.perChunk = Math.max(1, Math.min(ctx.perChunk, Math.ceil(opts.rate! / 100)));
    // A connection writes when its share of a millisecond has accrued, not at every token: a
    // write per few messages cost the generator (and the receiver) more CPU than the messages.
    ctx.minTake = Math.max(1, Math.min(ctx.perChunk, Math.ceil(ctx.ratePerConnection / 1000)));
  }

  let interrupted = false;
  const onAbort = () => {
    interrupted = true;
    budget.stop();
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  // Connect everything first; the clock starts when all connections are open.
  const workers: (() => Promise<void>)[] = new Array(opts.connections);
  try {
    await forEachLimited(opts.connections, opts.connectConcurrency ?? 128, async (i) => {
      const tmpl = templates[i]!;
      if (opts.transport === 'udp') {
        const s = await connectUdp(opts);
        sockets.push({ close: () => { try { s.close(); } catch { /* closed */ } } });
        s.on('error', (err) => ctx.fail(sendError(opts, i, err)));
        workers[i] = () => udpWorker(ctx, i, s, tmpl, quotaOf(i));
      } else if (opts.transport === 'unix-dgram') {
        const s = connectUnixDgram(opts);
        let open = true;
        sockets.push({ close: () => { if (open) { open = false; try { s.close(); } catch { /* closed */ } } } });
        s.on('error', (err) => ctx.fail(sendError(opts, i, err)));
        workers[i] = () => unixDgramWorker(ctx, i, s, tmpl, quotaOf(i));
      } else {
        const s = await connectStream(opts);
        sockets.push({ close: () => s.destroy() });
        s.on('error', (err) => ctx.fail(sendError(opts, i, err)));
        s.resume(); // discard anything the server sends
        workers[i] = () => streamWorker(ctx, i, s, tmpl, quotaOf(i));
      }
    });
  } catch (err) {
    for (const s of sockets) s.close();
    opts.signal?.removeEventListener('abort', onAbort);
    throw err;
  }

  opts.onStart?.({ totalMessages: opts.messages ?? (opts.durationSec !== undefined ? null : limit), durationSec: opts.durationSec ?? null });
  const t0 = performance.now();
  if (opts.durationSec !== undefined) budget.setDeadline(t0 + opts.durationSec * 1000);
  let deadlineTimer: NodeJS.Timeout | undefined;
  if (opts.durationSec !== undefined) {
    // Wakes rate-limited workers promptly; others notice at their next claim.
    deadlineTimer = setTimeout(() => budget.stop(), opts.durationSec * 1000);
  }
  let progressTimer: NodeJS.Timeout | undefined;
  if (opts.onProgress) {
    const cb = opts.onProgress;
    progressTimer = setInterval(() => {
      cb({ messages: ctx.messages, bytes: ctx.bytes, seconds: (performance.now() - t0) / 1000 });
    }, opts.progressIntervalMs ?? 200);
    progressTimer.unref();
  }
  try {
    await Promise.all(workers.map((w) => w()));
  } finally {
    clearInterval(progressTimer);
    clearTimeout(deadlineTimer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  const seconds = (performance.now() - t0) / 1000;
  for (const s of sockets) s.close();
  if (ctx.failure) throw ctx.failure;
  opts.onProgress?.({ messages: ctx.messages, bytes: ctx.bytes, seconds });
  const secs = Math.max(seconds, 1e-9);
  return {
    transport: opts.transport,
    target: describeEndpoint(opts),
    connections: opts.connections,
    format: opts.format,
    framing: opts.framing,
    size: opts.size,
    messages: ctx.messages,
    bytes: ctx.bytes,
    seconds,
    msgsPerSec: ctx.messages / secs,
    mbPerSec: ctx.bytes / secs / 1e6,
    senderDrops: ctx.drops,
    congestionWaits: ctx.congestionWaits,
    interrupted,
    startedAtMs: performance.timeOrigin + t0,
  };
}

export interface IdleOptions extends Endpoint {
  connections: number;
  /** Hold for this long; default: until the signal aborts. */
  durationSec?: number;
  signal?: AbortSignal;
  /** Called once every connection is open. */
  onReady?: (info: { connections: number; seconds: number }) => void;
  connectConcurrency?: number;
}

export interface IdleSummary {
  transport: Transport;
  target: string;
  connections: number;
  /** Seconds it took to open them all. */
  connectSeconds: number;
  /** Seconds they were held open. */
  heldSeconds: number;
  /** Connections the server closed while we held them. */
  closedByPeer: number;
}

/** Opens N stream connections, sends nothing, holds them until aborted or `durationSec`. */
export async function runIdle(opts: IdleOptions): Promise<IdleSummary> {
  if (isDatagram(opts.transport)) {
    throw new LoadgenError(`--idle needs a stream transport (tcp, tls, unix), not ${opts.transport}`);
  }
  if (!Number.isInteger(opts.connections) || opts.connections < 1) {
    throw new LoadgenError(`--connections must be a positive integer, got ${opts.connections}`);
  }
  const sockets: net.Socket[] = [];
  let closedByPeer = 0;
  let holding = false;
  const t0 = performance.now();
  try {
    await forEachLimited(opts.connections, opts.connectConcurrency ?? 256, async () => {
      if (opts.signal?.aborted) throw new LoadgenError('interrupted while connecting');
      const s = await connectStream(opts, 30_000);
      sockets.push(s);
      s.on('error', () => { /* counted on close */ });
      s.on('close', () => {
        if (holding) closedByPeer++;
      });
      s.resume();
    });
  } catch (err) {
    for (const s of sockets) s.destroy();
    throw err;
  }
  const connectSeconds = (performance.now() - t0) / 1000;
  holding = true;
  opts.onReady?.({ connections: sockets.length, seconds: connectSeconds });
  const t1 = performance.now();
  await new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', done);
      resolve();
    };
    if (opts.durationSec !== undefined) timer = setTimeout(done, opts.durationSec * 1000);
    if (opts.signal) {
      if (opts.signal.aborted) done();
      else opts.signal.addEventListener('abort', done, { once: true });
    }
    // Neither: hold forever (until the process is killed).
  });
  holding = false;
  const heldSeconds = (performance.now() - t1) / 1000;
  for (const s of sockets) s.destroy();
  return {
    transport: opts.transport,
    target: describeEndpoint(opts),
    connections: sockets.length,
    connectSeconds,
    heldSeconds,
    closedByPeer,
  };
}
