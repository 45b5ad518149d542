/**
 * Shared helpers for the end-to-end tests: temp dirs, reading the NDJSON output,
 * waiting for metrics, and running real client programs with a time limit.
 *
 * The server itself is started with bench/lib/server.ts (startServer), like the
 * benchmarks do; these helpers only add what the tests need on top of it.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { trackChild, type RinglogServer } from '../../bench/lib/server.js';

/** One line of the NDJSON output (the record form, docs/record.md). */
export interface NdjsonRecord {
  timestamp: string;
  received: string;
  host?: string;
  app?: string;
  procid?: string;
  msgid?: string;
  facility: number;
  severity: number;
  message: string;
  fields?: Record<string, string>;
  source: { transport: string; listener: string; peer: string };
  /** Not in the file: set by readNdjson from fields.truncated, for the framing tests. */
  truncated?: boolean;
}

/** A fresh temp dir (ringlog-e2e-PREFIX-xxxxxx); remove it with removeDir. */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `ringlog-e2e-${prefix}-`));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** Size of a file in bytes, 0 if it does not exist. */
export function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * The records of an NDJSON file, starting at byte `fromByte` (a line boundary).
 * A trailing line without its LF (a write in progress) is left out; every complete
 * line must be a JSON object with the record fields, or this throws naming the line.
 */
export function readNdjson(file: string, fromByte = 0): NdjsonRecord[] {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const text = buf.subarray(fromByte).toString('utf8');
  const lines = text.split('\n');
  lines.pop(); // '' after the last LF, or an incomplete line
  return lines.map((line, i) => {
    let rec: NdjsonRecord;
    try {
      rec = JSON.parse(line) as NdjsonRecord;
    } catch (err) {
      throw new Error(`${file}: line ${i + 1} (from byte ${fromByte}) is not JSON: ${(err as Error).message}: ${JSON.stringify(line.slice(0, 200))}`);
    }
    if (typeof rec.message !== 'string' || typeof rec.received !== 'string' || typeof rec.source?.listener !== 'string') {
      throw new Error(`${file}: line ${i + 1} is not a record: ${line.slice(0, 200)}`);
    }
    if (rec.fields?.['truncated'] === 'true') rec.truncated = true;
    return rec;
  });
}

/** The metric labels of an `ndjson:PATH` output. */
export function ndjsonOutput(file: string): { output: string } {
  return { output: `ndjson:${file}` };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it returns something other than undefined/false; resolves with it.
 * On timeout rejects with `what` and the last value `describe` gives.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs?: number; intervalMs?: number; describe?: () => string | Promise<string> } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) {
      const extra = opts.describe ? ` (${await opts.describe()})` : '';
      throw new Error(`timed out after ${opts.timeoutMs ?? 20_000} ms waiting for ${what}${extra}`);
    }
    await sleep(opts.intervalMs ?? 50);
  }
}

/**
 * Waits until `name{labels}` reaches `value`, then returns the value it has: tests
 * assert it equal to `value`, so overshoot (duplicates) fails instead of passing.
 */
export async function metricReaches(
  srv: RinglogServer,
  name: string,
  labels: Record<string, string>,
  value: number,
  timeoutMs = 20_000,
): Promise<number> {
  await srv.waitForMetric(name, value, { labels, timeoutMs });
  return srv.metric(name, labels);
}

/** Waits until the NDJSON output at `file` has written `total` records in all. */
export async function outputReaches(srv: RinglogServer, file: string, total: number, timeoutMs = 20_000): Promise<number> {
  return metricReaches(srv, 'ringlog_output_records_total', ndjsonOutput(file), total, timeoutMs);
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Kill the command (SIGKILL) and reject after this long. Default 30 s. */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs a command to completion; rejects if it cannot start or outlives the timeout. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
    trackChild(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdin!.on('error', () => {}); // the command may exit without reading its input
    child.stdin!.end(opts.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) reject(new Error(`${cmd} ${args.join(' ')}: still running after ${timeoutMs} ms, killed\nstderr: ${stderr.slice(-2000)}`));
      else resolve({ code, signal, stdout, stderr });
    });
  });
}

/** run(), and reject unless the command exits with status 0. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.signal ?? `exit ${r.code}`})\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-2000)}`);
  }
  return r;
}

/** Starts a long-running child (tracked, so it cannot outlive the test process). */
export function startChild(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  trackChild(child);
  return child;
}

/** Sends `signal`, waits up to `timeoutMs` for the exit, then SIGKILLs. Resolves with the exit code. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** True if `file` exists and is executable. */
export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** True if a TCP socket can listen on ::1 (some CI containers have no IPv6). */
export function ipv6LoopbackWorks(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '::1', port: 0 }, () => s.close(() => resolve(true)));
  });
}

/** How many records contain `needle` in their message. */
export function countContaining(records: NdjsonRecord[], needle: string): number {
  let n = 0;
  for (const r of records) if (r.message.includes(needle)) n++;
  return n;
}

/** A short random hex id for markers that must not collide between runs. */
export function uniqueId(): string {
  return `${process.pid.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/** Deterministic pseudo-random bytes (xorshift32), so a failure can be replayed. */
export function pseudoRandomBytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}
