/**
 * Start a `ringlog serve` child process and learn its ports, for benchmarks and
 * end-to-end tests.
 *
 *   const srv = await startServer({ udp: true, output: 'null' });
 *   const { host, port } = srv.address('tcp');
 *   ...
 *   await srv.metric('ringlog_output_records_total', { output: 'null' });
 *   const code = await srv.stop();   // SIGTERM, graceful drain; resolves with the exit code
 *
 * The server logs on stderr in logfmt, one line per listener:
 *   time=… level=info msg=listening listener=NAME transport=tcp address=127.0.0.1:34567
 * startServer waits for the listening line of every listener it asked for, then
 * for GET /healthz to answer 200. All of stderr is kept (bounded) so failures can
 * say what the server said.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/bench/lib/). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const ringlogBin = path.join(repoRoot, 'bin', 'ringlog.js');

export interface ListenerInfo {
  name: string;
  transport: string;
  /** As logged: host:port, [v6]:port, or a socket path. */
  address: string;
  host?: string;
  port?: number;
  path?: string;
}

export interface StartServerOptions {
  /** TCP listener address; default '127.0.0.1:0'; false for none. */
  tcp?: string | false;
  /** UDP listener: true = '127.0.0.1:0'; default none. */
  udp?: string | boolean;
  /** HTTP address; default '127.0.0.1:0'. 'off' disables it (then no /healthz wait and no metrics). */
  http?: string;
  /** Data directory; default a fresh temp dir, removed by stop(). */
  dataDir?: string;
  /** --output values; default ['null']. Pass [] for none. */
  output?: string | string[];
  /** More `serve` arguments (e.g. ['--tls', '127.0.0.1:0', '--tls-cert', …]). */
  args?: string[];
  /**
   * Transports (or listener names) whose listening line to wait for, in addition
   * to the ones implied by tcp/udp/http; e.g. ['tls', 'unix'] when passing --tls/--unix in args.
   */
  expectListeners?: string[];
  env?: NodeJS.ProcessEnv;
  /** Arguments for node itself (e.g. ['--max-old-space-size=512']). */
  nodeArgs?: string[];
  /** Give up (and kill the server) if not ready in time. Default 20 s. */
  startTimeoutMs?: number;
  /** Also copy the server's stderr to ours, prefixed. */
  echoStderr?: boolean;
}

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ProcMemory {
  /** Current resident set size, KiB. */
  rssKb: number;
  /** Peak resident set size (VmHWM), KiB. */
  hwmKb: number;
}

/** Parses one logfmt line into key → value (quoted values unescaped). */
export function parseLogfmt(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([\w.-]+)=("(?:[^"\\]|\\.)*"|\S*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) {
    let v = m[2]!;
    if (v.startsWith('"')) {
      try {
        v = JSON.parse(v) as string;
      } catch {
        v = v.slice(1, -1);
      }
    }
    out[m[1]!] = v;
  }
  return out;
}

/** Parses the Prometheus text exposition format (comments skipped). */
export function parsePrometheus(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  const lineRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = lineRe.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[2]) {
      let lm: RegExpExecArray | null;
      labelRe.lastIndex = 0;
      while ((lm = labelRe.exec(m[2])) !== null) {
        labels[lm[1]!] = lm[2]!.replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
      }
    }
    const raw = m[3]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** Sum of the samples named `name` whose labels include `labels` (0 if none). */
export function sumMetric(samples: MetricSample[], name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    let ok = true;
    for (const [k, v] of Object.entries(labels)) {
      if (s.labels[k] !== v) {
        ok = false;
        break;
      }
    }
    if (ok) sum += s.value;
  }
  return sum;
}

/** VmRSS and VmHWM of a process from /proc/PID/status; null if unavailable. */
export function readProcMemory(pid: number): ProcMemory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    if (!rss || !hwm) return null;
    return { rssKb: Number(rss[1]), hwmKb: Number(hwm[1]) };
  } catch {
    return null;
  }
}

/** GET http(s)://host:port/path with a timeout; resolves with status and body. HTTPS: any certificate (tests make their own). */
export function httpGet(base: string, urlPath: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(urlPath, base);
    const get = url.protocol === 'https:' ? https.get : http.get;
    const req = get(url, { agent: false, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

function splitAddress(address: string): { host?: string; port?: number; path?: string } {
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(address);
  if (v6) return { host: v6[1]!, port: Number(v6[2]) };
  const v4 = /^([^:/]*):(\d+)$/.exec(address);
  if (v4) return { host: v4[1] || '127.0.0.1', port: Number(v4[2]) };
  return { path: address };
}

const STDERR_KEEP = 1 << 20;

/** Children still running; SIGKILLed if this process exits without stopping them. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Makes sure `proc` does not outlive this process (crash, failed assertion, process.exit). */
export function trackChild(proc: ChildProcess): void {
  liveChildren.add(proc);
  proc.once('exit', () => liveChildren.delete(proc));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const p of liveChildren) {
        try {
          p.kill('SIGKILL');
        } catch {
          /* already gone */
        }
      }
    });
  }
}

export class RinglogServer {
  readonly listeners: ListenerInfo[] = [];
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderrBuf = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private lineListeners: ((line: string) => void)[] = [];
  private partial = '';
  private stopping: Promise<number | null> | null = null;
  httpUrl = '';

  constructor(
    readonly proc: ChildProcess,
    readonly dataDir: string,
    private readonly ownDataDir: boolean,
    readonly argv: string[],
    echo: boolean,
  ) {
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (s: string) => {
      if (echo) process.stderr.write(s.replace(/^(?=.)/gm, '[ringlog] '));
      this.stderrBuf += s;
      if (this.stderrBuf.length > STDERR_KEEP) this.stderrBuf = this.stderrBuf.slice(-STDERR_KEEP / 2);
      const text = this.partial + s;
      const lines = text.split('\n');
      this.partial = lines.pop()!;
      for (const line of lines) for (const fn of this.lineListeners) fn(line);
    });
    proc.stdout!.resume();
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Everything the server wrote on stderr (the last MiB or so). */
  stderr(): string {
    return this.stderrBuf;
  }

  /** The last `n` lines of stderr, for error messages. */
  stderrTail(n = 20): string {
    return this.stderrBuf.trimEnd().split('\n').slice(-n).join('\n');
  }

  /** Calls `fn` for each stderr line from now on; returns an unsubscribe function. */
  onLine(fn: (line: string) => void): () => void {
    this.lineListeners.push(fn);
    return () => {
      this.lineListeners = this.lineListeners.filter((f) => f !== fn);
    };
  }

  /** The first listener with this name or transport; throws if none. */
  listener(nameOrTransport: string): ListenerInfo {
    const l = this.listeners.find((x) => x.name === nameOrTransport) ?? this.listeners.find((x) => x.transport === nameOrTransport);
    if (!l) {
      throw new Error(`ringlog server has no listener "${nameOrTransport}" (has: ${this.listeners.map((x) => `${x.name}/${x.transport}`).join(', ') || 'none'})`);
    }
    return l;
  }

  /** host and port of a network listener (by name or transport). */
  address(nameOrTransport: string): { host: string; port: number } {
    const l = this.listener(nameOrTransport);
    if (l.port === undefined) throw new Error(`listener ${l.name} is not a network listener (${l.address})`);
    return { host: l.host!, port: l.port };
  }

  /** "host:port" of a network listener, as `ringlog bench --target` wants it. */
  target(nameOrTransport: string): string {
    const { host, port } = this.address(nameOrTransport);
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  async metricsText(timeoutMs = 5000): Promise<string> {
    if (!this.httpUrl) throw new Error('ringlog server was started without --http');
    const r = await httpGet(this.httpUrl, '/metrics', timeoutMs);
    if (r.status !== 200) throw new Error(`GET /metrics: HTTP ${r.status}: ${r.body.slice(0, 200)}`);
    return r.body;
  }

  /** All samples of GET /metrics. */
  async metrics(): Promise<MetricSample[]> {
    return parsePrometheus(await this.metricsText());
  }

  /** Sum of one metric's samples matching `labels` (0 if absent). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return sumMetric(await this.metrics(), name, labels);
  }

  /**
   * Polls until `metric` (summed over samples matching `labels`) is ≥ `value`;
   * resolves with the value seen. Rejects on timeout or if the server exits.
   */
  async waitForMetric(name: string, value: number, opts: { labels?: Record<string, string>; timeoutMs?: number; intervalMs?: number } = {}): Promise<number> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    let last = NaN;
    for (;;) {
      if (this.exitInfo) throw new Error(`ringlog server exited (${this.describeExit()}) while waiting for ${name} ≥ ${value}\n${this.stderrTail()}`);
      last = await this.metric(name, opts.labels);
      if (last >= value) return last;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${name}${JSON.stringify(opts.labels ?? {})} ≥ ${value} (last ${last})`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
    }
  }

  async healthz(timeoutMs = 2000): Promise<{ status: number; body: string }> {
    if (!this.httpUrl) throw new Error('ringlog server was started without --http');
    return httpGet(this.httpUrl, '/healthz', timeoutMs);
  }

  /** VmRSS/VmHWM of the server process (null once it has exited). */
  memory(): ProcMemory | null {
    return this.exitInfo ? null : readProcMemory(this.pid);
  }

  describeExit(): string {
    if (!this.exitInfo) return 'running';
    return this.exitInfo.signal ? `killed by ${this.exitInfo.signal}` : `exit code ${this.exitInfo.code}`;
  }

  /**
   * SIGTERM (graceful drain), wait up to `timeoutMs`, then SIGKILL. Resolves with
   * the exit code (null if killed by a signal). Removes the temp data dir it made.
   * Safe to call more than once.
   */
  stop(timeoutMs = 15_000): Promise<number | null> {
    if (!this.stopping) {
      this.stopping = (async () => {
        if (!this.exitInfo) {
          this.proc.kill('SIGTERM');
          const timer = setTimeout(() => {
            if (!this.exitInfo) this.proc.kill('SIGKILL');
          }, timeoutMs);
          await this.exited;
          clearTimeout(timer);
        }
        if (this.ownDataDir) rmSync(this.dataDir, { recursive: true, force: true });
        return this.exitInfo!.code;
      })();
    }
    return this.stopping;
  }

  /** SIGKILL, no drain. */
  async kill(): Promise<void> {
    if (!this.exitInfo) this.proc.kill('SIGKILL');
    await this.exited;
    if (this.ownDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Spawns `node bin/ringlog.js serve …` and waits until it is listening and healthy. */
export async function startServer(opts: StartServerOptions = {}): Promise<RinglogServer> {
  const ownDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'ringlog-bench-'));
  const args = ['serve'];
  const expect: string[] = [];
  const tcp = opts.tcp === undefined ? '127.0.0.1:0' : opts.tcp;
  if (tcp) {
    args.push('--tcp', tcp);
    expect.push('tcp');
  }
  if (opts.udp) {
    args.push('--udp', opts.udp === true ? '127.0.0.1:0' : opts.udp);
    expect.push('udp');
  }
  const httpAddr = opts.http ?? '127.0.0.1:0';
  args.push('--http', httpAddr);
  if (httpAddr !== 'off') expect.push('http');
  args.push('--data-dir', dataDir);
  const outputs = opts.output === undefined ? ['null'] : Array.isArray(opts.output) ? opts.output : [opts.output];
  for (const o of outputs) args.push('--output', o);
  args.push(...(opts.args ?? []));
  expect.push(...(opts.expectListeners ?? []));

  // RINGLOG_BENCH_NODE_ARGS: extra node flags for every server a benchmark starts (profiling: `--cpu-prof --cpu-prof-dir=DIR`).
  const extra = (process.env.RINGLOG_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const argv = [...extra, ...(opts.nodeArgs ?? []), ringlogBin, ...args];
  const proc = spawn(process.execPath, argv, {
    cwd: repoRoot,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(proc);
  const srv = new RinglogServer(proc, dataDir, ownDataDir, argv, opts.echoStderr ?? false);
  const timeoutMs = opts.startTimeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  const fail = async (why: string): Promise<never> => {
    await srv.kill();
    const tail = srv.stderrTail();
    throw new Error(`ringlog serve did not start: ${why}\ncommand: node ${argv.join(' ')}${tail ? `\nstderr:\n${tail}` : ''}`);
  };

  // 1. One listening line per expected listener.
  const pending = [...expect];
  const seen = await new Promise<string | null>((resolve) => {
    const take = (line: string) => {
      if (!/\bmsg=listening\b/.test(line)) return;
      const f = parseLogfmt(line);
      const address = f.address ?? '';
      const info: ListenerInfo = { name: f.listener ?? f.transport ?? '?', transport: f.transport ?? '?', address, ...splitAddress(address) };
      srv.listeners.push(info);
      const i = pending.findIndex((p) => p === info.transport || p === info.name);
      if (i >= 0) pending.splice(i, 1);
      if (pending.length === 0) done(null);
    };
    const unsubscribe = srv.onLine(take);
    const timer = setTimeout(() => done(`no listening line for ${pending.join(', ')} within ${timeoutMs} ms`), timeoutMs);
    srv.exited.then(() => done(`it exited (${srv.describeExit()})`));
    proc.on('error', (err) => done(`spawn failed: ${err.message}`));
    function done(err: string | null) {
      clearTimeout(timer);
      unsubscribe();
      resolve(err);
    }
    if (pending.length === 0) done(null);
  });
  if (seen !== null) return fail(seen);

  // 2. /healthz answers 200.
  if (httpAddr !== 'off') {
    const h = srv.listener('http');
    srv.httpUrl = `${h.transport === 'https' ? 'https' : 'http'}://${h.host!.includes(':') ? `[${h.host}]` : h.host}:${h.port}`;
    let last = '';
    for (;;) {
      if (srv.describeExit() !== 'running') return fail(`it exited (${srv.describeExit()})`);
      try {
        const r = await srv.healthz(1000);
        if (r.status === 200) break;
        last = `HTTP ${r.status} ${r.body.slice(0, 200)}`;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) return fail(`/healthz not 200 within ${timeoutMs} ms (last: ${last})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return srv;
}
