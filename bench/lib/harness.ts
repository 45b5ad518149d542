/**
 * Shared pieces of the benchmark scripts: the discard-listener child process,
 * `ringlog bench` as a child process, and table printing.
 */
import net from 'node:net';
import type { BenchSummary } from '../../src/loadgen/runner.js';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { readProcMemory, repoRoot, ringlogBin, trackChild, type ProcMemory } from './server.js';

/** Reads a child's stdout line by line; `next(pred)` waits for a matching line. */
export class LineReader {
  private lines: string[] = [];
  private waiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  private partial = '';
  private ended = false;
  private endWaiters: (() => void)[] = [];

  constructor(stream: NodeJS.ReadableStream) {
    stream.setEncoding('utf8');
    stream.on('data', (s: string) => {
      const parts = (this.partial + s).split('\n');
      this.partial = parts.pop()!;
      for (const line of parts) this.push(line);
    });
    stream.on('end', () => {
      if (this.partial) this.push(this.partial);
      this.partial = '';
      this.ended = true;
      for (const w of this.endWaiters) w();
    });
  }

  private push(line: string): void {
    const i = this.waiters.findIndex((w) => w.pred(line));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w!.resolve(line);
    } else this.lines.push(line);
  }

  /** All lines not consumed by next(). */
  get rest(): string[] {
    return this.lines;
  }

  /** Resolves with the first (unconsumed) line matching `pred`; rejects on timeout or end of stream. */
  next(pred: (line: string) => boolean, timeoutMs = 60_000, what = 'line'): Promise<string> {
    const i = this.lines.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.lines.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (l: string) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(w);
      const onEnd = () => {
        if (this.waiters.includes(w)) {
          this.waiters = this.waiters.filter((x) => x !== w);
          clearTimeout(timer);
          reject(new Error(`stream ended while waiting for ${what}`));
        }
      };
      if (this.ended) onEnd();
      else this.endWaiters.push(onEnd);
    });
  }
}

/** key=value pairs of a line like `done lines=10 bytes=1280 seconds=0.5`. */
export function kv(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)=(\S+)/g)) out[m[1]!] = m[2]!;
  return out;
}

function exitPromise(proc: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve({ code: proc.exitCode, signal: proc.signalCode });
    else proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** The plain Node discard listener (bench/discard-listener.ts) as a child process. */
export class DiscardListener {
  readonly out: LineReader;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly proc: ChildProcess, readonly port: number, out: LineReader) {
    this.out = out;
    this.exited = exitPromise(proc);
  }

  static async start(opts: { expect?: number; host?: string } = {}): Promise<DiscardListener> {
    const script = path.join(repoRoot, 'dist', 'bench', 'discard-listener.js');
    const args = [script, '--host', opts.host ?? '127.0.0.1', '--port', '0'];
    if (opts.expect) args.push('--expect', String(opts.expect));
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(proc);
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d));
    const out = new LineReader(proc.stdout!);
    let line: string;
    try {
      line = await out.next((l) => l.startsWith('listening '), 10_000, 'the discard listener to listen');
    } catch (err) {
      proc.kill('SIGKILL');
      throw new Error(`discard listener did not start: ${(err as Error).message}\n${stderr}`);
    }
    return new DiscardListener(proc, Number(line.split(' ')[1]), out);
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  memory(): ProcMemory | null {
    return readProcMemory(this.proc.pid!);
  }

  /** Waits for the `done` line (after --expect lines): exact first-byte → last-line time. */
  async done(timeoutMs = 120_000): Promise<{ lines: number; bytes: number; seconds: number; lastMs: number }> {
    const l = kv(await this.out.next((x) => x.startsWith('done '), timeoutMs, 'the discard listener to count every line'));
    return { lines: Number(l.lines), bytes: Number(l.bytes), seconds: Number(l.seconds), lastMs: Number(l.last_ms) };
  }

  /** Asks for a `stats` line (SIGUSR1). */
  async stats(): Promise<{ connections: number; lines: number; bytes: number }> {
    const p = this.out.next((x) => x.startsWith('stats '), 5000, 'discard listener stats');
    this.proc.kill('SIGUSR1');
    const l = kv(await p);
    return { connections: Number(l.connections), lines: Number(l.lines), bytes: Number(l.bytes) };
  }

  async stop(): Promise<void> {
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

/** What `ringlog bench --json-summary` prints. */
export type LoadgenSummary = BenchSummary;

/** Runs `node bin/ringlog.js bench ARGS --json-summary --no-progress` to completion. */
export async function runLoadgen(args: string[], timeoutMs = 600_000): Promise<LoadgenSummary> {
  const argv = [ringlogBin, 'bench', ...args, '--json-summary', '--no-progress'];
  const proc = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(proc);
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await exitPromise(proc);
  clearTimeout(timer);
  if (code !== 0) {
    throw new Error(`ringlog bench failed (${signal ?? `exit ${code}`}): ${stderr.trim() || stdout.trim()}\ncommand: node ${argv.join(' ')}`);
  }
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as LoadgenSummary;
  } catch {
    throw new Error(`ringlog bench printed no JSON summary: ${stdout}`);
  }
}

/** `ringlog bench --idle` as a child process: resolves once it printed `ready`. */
export async function startIdleClient(args: string[], timeoutMs = 120_000): Promise<{ proc: ChildProcess; stop(): Promise<number | null> }> {
  const argv = [ringlogBin, 'bench', '--idle', '--no-progress', ...args];
  const proc = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(proc);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d));
  const exited = exitPromise(proc);
  const out = new LineReader(proc.stdout!);
  try {
    await out.next((l) => l === 'ready', timeoutMs, 'the idle client to be ready');
  } catch (err) {
    proc.kill('SIGKILL');
    await exited;
    throw new Error(`ringlog bench --idle failed: ${(err as Error).message}\n${stderr.trim()}\ncommand: node ${argv.join(' ')}`);
  }
  return {
    proc,
    async stop() {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const r = await exited;
      clearTimeout(t);
      return r.code;
    },
  };
}

/** Prints rows as an aligned table (first row = header); numbers right-aligned. */
export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const numeric = (s: string) => /^[-+]?[\d,.]+( ?[a-zA-Z%/×x]+)?$/.test(s);
  const line = (r: string[]) =>
    r.map((cell, c) => (c > 0 && numeric(cell) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  const out = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows.slice(1)) out.push(line(r));
  return out.join('\n') + '\n';
}

export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-';
}

export function fmtMiB(kb: number | undefined | null): string {
  return kb == null ? '-' : `${(kb / 1024).toFixed(1)} MiB`;
}

/** The command line this script was started with, for the report. */
export function commandLine(): string {
  const rel = path.relative(repoRoot, process.argv[1] ?? '');
  return `node ${[rel, ...process.argv.slice(2)].join(' ')}`;
}

/** Quantile q of samples `xs` (nearest rank, on a sorted copy). */
export function sampleQuantile(xs: readonly number[], q: number): number {
  const v = [...xs].sort((x, y) => x - y);
  return v[Math.min(v.length - 1, Math.floor(q * v.length))]!;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Sends a buffer of LF-terminated lines over `connections` TCP connections (split on line ends) and waits until all are closed. */
export async function sendBuffer(port: number, buf: Buffer, connections: number): Promise<void> {
  // Split on line ends into one slice per connection.
  const parts: Buffer[] = [];
  let at = 0;
  for (let c = 1; c <= connections; c++) {
    let end = c === connections ? buf.length : buf.indexOf(0x0a, Math.floor((buf.length * c) / connections)) + 1;
    if (end <= 0) end = buf.length;
    parts.push(buf.subarray(at, end));
    at = end;
  }
  await Promise.all(parts.map((p) => new Promise<void>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(p));
    s.on('error', reject);
    s.on('close', () => resolve());
  })));
}
