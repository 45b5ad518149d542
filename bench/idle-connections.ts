/**
 * Memory per idle connection: RSS of the receiver with no connections and with
 * N idle TCP connections (default 10,000), for a plain Node discard listener
 * (baseline) and for `ringlog serve`, in the same run.
 *
 *   node dist/bench/idle-connections.js [--connections N] [--settle-ms MS] [--no-server] [--server-arg ARG]...
 *
 * The connections come from `ringlog bench --idle --connections N` in its own
 * process (ulimit -n is per process). RSS is sampled from /proc/PID/status once
 * the receiver reports all N connections open (discard listener: its stats line;
 * ringlog: the ringlog_connections_open metric) and `--settle-ms` has passed.
 */
import os from 'node:os';
import { startServer, sumMetric } from './lib/server.js';
import { DiscardListener, commandLine, fmtInt, fmtMiB, formatTable, sleep, startIdleClient } from './lib/harness.js';

interface Args {
  connections: number;
  settleMs: number;
  server: boolean;
  serverArgs: string[];
  timeoutSec: number;
}

function usage(msg?: string): never {
  if (msg) process.stderr.write(`idle-connections: ${msg}\n`);
  process.stderr.write('usage: node dist/bench/idle-connections.js [--connections N] [--settle-ms MS] [--no-server] [--server-arg ARG]... [--timeout SECONDS]\n');
  process.exit(msg ? 2 : 0);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { connections: 10_000, settleMs: 1000, server: true, serverArgs: [], timeoutSec: 120 };
  const int = (name: string, v: string | undefined, min = 1) => {
    const n = Number(v?.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min) usage(`${name} needs an integer ≥ ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    switch (k) {
      case '--connections': a.connections = int(k, argv[++i]); break;
      case '--settle-ms': a.settleMs = int(k, argv[++i], 0); break;
      case '--timeout': a.timeoutSec = int(k, argv[++i]); break;
      case '--no-server': a.server = false; break;
      case '--server-arg': {
        const v = argv[++i];
        if (v === undefined) usage('--server-arg needs a value');
        a.serverArgs.push(v);
        break;
      }
      case '--help': case '-h': usage(); break;
      default: usage(`unknown argument ${k}`);
    }
  }
  return a;
}

interface Result {
  target: string;
  idleKb: number;
  loadedKb: number;
  connectSeconds: number;
  note: string;
}

async function pollUntil(what: string, timeoutSec: number, check: () => Promise<number>, want: number): Promise<number> {
  const deadline = Date.now() + timeoutSec * 1000;
  for (;;) {
    const v = await check();
    if (v >= want) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} to reach ${want} (last ${v})`);
    await sleep(100);
  }
}

async function measureDiscard(args: Args): Promise<Result> {
  const d = await DiscardListener.start();
  try {
    await sleep(args.settleMs);
    const idle = d.memory();
    const t0 = performance.now();
    const client = await startIdleClient(['--target', d.target, '--connections', String(args.connections)], args.timeoutSec * 1000);
    try {
      await pollUntil('discard listener connections', args.timeoutSec, async () => (await d.stats()).connections, args.connections);
      const connectSeconds = (performance.now() - t0) / 1000;
      await sleep(args.settleMs);
      const loaded = d.memory();
      return { target: 'discard listener', idleKb: idle?.rssKb ?? NaN, loadedKb: loaded?.rssKb ?? NaN, connectSeconds, note: '' };
    } finally {
      await client.stop();
    }
  } finally {
    await d.stop();
  }
}

async function measureServer(args: Args): Promise<Result> {
  const srv = await startServer({ output: 'null', args: ['--no-store', ...args.serverArgs] });
  let stopped = false;
  try {
    await sleep(args.settleMs);
    const idle = srv.memory();
    const t0 = performance.now();
    const client = await startIdleClient(['--target', srv.target('tcp'), '--connections', String(args.connections)], args.timeoutSec * 1000);
    const notes: string[] = [];
    let loaded: ReturnType<typeof srv.memory> = null;
    let connectSeconds = NaN;
    try {
      await pollUntil('ringlog_connections_open', args.timeoutSec, () => srv.metric('ringlog_connections_open'), args.connections);
      connectSeconds = (performance.now() - t0) / 1000;
      await sleep(args.settleMs);
      loaded = srv.memory();
      const samples = await srv.metrics();
      const open = sumMetric(samples, 'ringlog_connections_open');
      if (open !== args.connections) notes.push(`${fmtInt(open)} open at sampling`);
      const refused = sumMetric(samples, 'ringlog_connections_refused_total');
      if (refused > 0) notes.push(`${fmtInt(refused)} refused`);
    } finally {
      await client.stop();
    }
    stopped = true;
    const code = await srv.stop();
    if (code !== 0) notes.push(`exit ${srv.describeExit()}`);
    return { target: 'ringlog serve', idleKb: idle?.rssKb ?? NaN, loadedKb: loaded?.rssKb ?? NaN, connectSeconds, note: notes.join(', ') };
  } finally {
    if (!stopped) await srv.stop();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  process.stdout.write(`$ ${commandLine()}\n`);
  process.stdout.write(`node ${process.version}, ${os.cpus().length} CPUs, ${fmtInt(args.connections)} idle TCP connections on 127.0.0.1, RSS = VmRSS\n\n`);
  const results: Result[] = [];
  let failed = false;
  process.stderr.write('discard listener…\n');
  results.push(await measureDiscard(args));
  if (args.server) {
    process.stderr.write('ringlog serve…\n');
    try {
      results.push(await measureServer(args));
    } catch (err) {
      failed = true;
      process.stderr.write(`ringlog serve failed: ${(err as Error).message}\n`);
      results.push({ target: 'ringlog serve', idleKb: NaN, loadedKb: NaN, connectSeconds: NaN, note: 'FAILED' });
    }
  }
  const base = results[0]!;
  const perConn = (r: Result) => ((r.loadedKb - r.idleKb) * 1024) / args.connections;
  const rows: string[][] = [['target', 'RSS, 0 conns', `RSS, ${fmtInt(args.connections)} conns`, 'difference', 'per connection', 'vs discard', 'connect s', 'note']];
  for (const r of results) {
    const pc = perConn(r);
    const ratio = pc / perConn(base);
    rows.push([
      r.target,
      fmtMiB(Number.isFinite(r.idleKb) ? r.idleKb : null),
      fmtMiB(Number.isFinite(r.loadedKb) ? r.loadedKb : null),
      fmtMiB(Number.isFinite(r.loadedKb - r.idleKb) ? r.loadedKb - r.idleKb : null),
      Number.isFinite(pc) ? `${(pc / 1024).toFixed(1)} KiB` : '-',
      Number.isFinite(ratio) ? ratio.toFixed(2) : '-',
      Number.isFinite(r.connectSeconds) ? r.connectSeconds.toFixed(2) : '-',
      r.note,
    ]);
  }
  process.stdout.write(formatTable(rows));
  process.stdout.write('\n"per connection" = RSS difference / connections; "vs discard" = ratio of that to the plain Node discard listener in this run.\n');
  if (failed) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`idle-connections: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
