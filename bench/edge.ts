/**
 * Edge throughput: how fast does `ringlog serve` take in TCP syslog, compared
 * with a plain Node discard listener measured in the same run?
 *
 *   node dist/bench/edge.js [--quick] [--messages N] [--connections C] [--per-conn M]
 *                           [--size BYTES] [--output null|ndjson] [--repeat R] [--no-server] [--server-arg ARG]...
 *
 * Scenarios: (a) 1 connection × 2,000,000 messages, (b) 100 connections × 20,000
 * messages each; 128-byte RFC 5424 messages, LF framing. --quick divides the
 * message counts by 10.
 *
 * For each scenario the load generator (`ringlog bench`, its own process) sends
 * into (1) the discard listener, then (2) a fresh `ringlog serve --no-store --output null`
 * (the edge alone; bench/store.ts measures the store).
 * The rate reported is the *receiver's*, measured the same way for both targets:
 * messages / (time the receiver handled the last record − time the sender started
 * writing). The start is the sender's own clock (its JSON summary has startedAtMs);
 * the end is the discard listener's own timestamp of its last line, and for the
 * server the ringlog_output_last_write_timestamp_seconds gauge once
 * ringlog_output_records_total has reached N (polled every 50 ms, so the polling
 * neither costs the server CPU nor adds its interval to the time).
 * Peak RSS is VmHWM of the receiving process.
 *
 * Each scenario is repeated R times (default 3, 1 with --quick), alternating
 * discard and server, each time with fresh processes; the table shows the
 * median rate and the largest peak RSS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measureServerRun } from './lib/measure.js';
import { DiscardListener, commandLine, fmtInt, fmtMiB, formatTable, runLoadgen, type LoadgenSummary } from './lib/harness.js';

interface Args {
  quick: boolean;
  messages: number;
  connections: number;
  perConn: number;
  size: number;
  output: 'null' | 'ndjson';
  server: boolean;
  serverArgs: string[];
  timeoutSec: number;
  repeat: number;
}

function usage(msg?: string): never {
  if (msg) process.stderr.write(`edge: ${msg}\n`);
  process.stderr.write('usage: node dist/bench/edge.js [--quick] [--messages N] [--connections C] [--per-conn M] [--size BYTES] [--output null|ndjson] [--repeat R] [--no-server] [--server-arg ARG]... [--timeout SECONDS]\n');
  process.exit(msg ? 2 : 0);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, messages: 2_000_000, connections: 100, perConn: 20_000, size: 128, output: 'null', server: true, serverArgs: [], timeoutSec: 300, repeat: 0 };
  let setMessages = false;
  let setPerConn = false;
  const int = (name: string, v: string | undefined) => {
    const n = Number(v?.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < 1) usage(`${name} needs a positive integer`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    switch (k) {
      case '--quick': a.quick = true; break;
      case '--messages': a.messages = int(k, argv[++i]); setMessages = true; break;
      case '--connections': a.connections = int(k, argv[++i]); break;
      case '--per-conn': a.perConn = int(k, argv[++i]); setPerConn = true; break;
      case '--size': a.size = int(k, argv[++i]); break;
      case '--timeout': a.timeoutSec = int(k, argv[++i]); break;
      case '--repeat': a.repeat = int(k, argv[++i]); break;
      case '--output': {
        const v = argv[++i];
        if (v !== 'null' && v !== 'ndjson') usage('--output is null or ndjson');
        a.output = v;
        break;
      }
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
  if (a.repeat === 0) a.repeat = a.quick ? 1 : 3;
  if (a.quick) {
    if (!setMessages) a.messages = Math.round(a.messages / 10);
    if (!setPerConn) a.perConn = Math.round(a.perConn / 10);
  }
  return a;
}

interface Scenario {
  name: string;
  connections: number;
  messages: number;
}

interface Result {
  scenario: Scenario;
  target: string;
  msgsPerSec: number;
  mbPerSec: number;
  peakRssKb: number | null;
  sender: LoadgenSummary | null;
  note: string;
  error?: string;
}

function loadgenArgs(target: string, sc: Scenario, size: number): string[] {
  return [...(target ? ['--target', target] : []), '--connections', String(sc.connections), '--messages', String(sc.messages), '--size', String(size)];
}

async function measureDiscard(sc: Scenario, args: Args): Promise<Result> {
  const d = await DiscardListener.start({ expect: sc.messages });
  try {
    const sender = await runLoadgen(loadgenArgs(d.target, sc, args.size));
    const done = await d.done(args.timeoutSec * 1000);
    const mem = d.memory();
    const seconds = sender.startedAtMs !== undefined ? (done.lastMs - sender.startedAtMs) / 1000 : done.seconds;
    return {
      scenario: sc,
      target: 'discard listener',
      msgsPerSec: done.lines / seconds,
      mbPerSec: done.bytes / seconds / 1e6,
      peakRssKb: mem?.hwmKb ?? null,
      sender,
      note: '',
    };
  } finally {
    await d.stop();
  }
}

async function measureServer(sc: Scenario, args: Args): Promise<Result> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ringlog-edge-'));
  try {
    // The edge alone: no store, only the given output.
    const output = args.output === 'null' ? 'null' : `ndjson:${path.join(tmp, 'out.ndjson')}`;
    const run = await measureServerRun({
      dataDir: path.join(tmp, 'data'), outputs: [output], serverArgs: ['--no-store', ...args.serverArgs], countOutput: args.output,
      loadgenArgs: loadgenArgs('', sc, args.size), messages: sc.messages, timeoutSec: args.timeoutSec,
    });
    return {
      scenario: sc,
      target: `ringlog serve (${args.output})`,
      msgsPerSec: run.msgsPerSec,
      mbPerSec: (sc.messages * args.size) / run.seconds / 1e6,
      peakRssKb: run.peakRssKb,
      sender: run.sender,
      note: run.notes.join(', '),
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** Median rates, largest peak RSS, union of notes over the repeats of one target. */
function aggregate(runs: Result[]): Result {
  const first = runs[0]!;
  if (runs.some((r) => r.error)) return runs.find((r) => r.error)!;
  const rss = runs.map((r) => r.peakRssKb).filter((x): x is number => x !== null);
  const notes = [...new Set(runs.map((r) => r.note).filter(Boolean))];
  if (runs.length > 1) {
    const rates = runs.map((r) => r.msgsPerSec);
    notes.unshift(`median of ${runs.length} (${fmtInt(Math.min(...rates))}..${fmtInt(Math.max(...rates))})`);
  }
  const senders = runs.map((r) => r.sender).filter((x): x is LoadgenSummary => x !== null);
  return {
    scenario: first.scenario,
    target: first.target,
    msgsPerSec: median(runs.map((r) => r.msgsPerSec)),
    mbPerSec: median(runs.map((r) => r.mbPerSec)),
    peakRssKb: rss.length ? Math.max(...rss) : null,
    sender: senders.length ? { ...senders[0]!, msgsPerSec: median(senders.map((x) => x.msgsPerSec)) } : null,
    note: notes.join(', '),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  process.stdout.write(`$ ${commandLine()}\n`);
  process.stdout.write(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${args.size}-byte RFC 5424 messages, LF framing, TCP on 127.0.0.1\n\n`);
  const scenarios: Scenario[] = [
    { name: `(a) 1 conn × ${fmtInt(args.messages)}`, connections: 1, messages: args.messages },
    { name: `(b) ${args.connections} conns × ${fmtInt(args.perConn)}`, connections: args.connections, messages: args.connections * args.perConn },
  ];
  const results: Result[] = [];
  let failed = false;
  for (const sc of scenarios) {
    const discardRuns: Result[] = [];
    const serverRuns: Result[] = [];
    for (let r = 1; r <= args.repeat; r++) {
      const tag = args.repeat > 1 ? ` [${r}/${args.repeat}]` : '';
      process.stderr.write(`${sc.name}${tag}: discard listener…\n`);
      discardRuns.push(await measureDiscard(sc, args));
      if (!args.server || failed) continue;
      process.stderr.write(`${sc.name}${tag}: ringlog serve…\n`);
      try {
        serverRuns.push(await measureServer(sc, args));
      } catch (err) {
        failed = true;
        const msg = (err as Error).message;
        process.stderr.write(`${sc.name}: ringlog serve failed: ${msg}\n`);
        serverRuns.push({ scenario: sc, target: `ringlog serve (${args.output})`, msgsPerSec: NaN, mbPerSec: NaN, peakRssKb: null, sender: null, note: 'FAILED', error: msg });
      }
    }
    results.push(aggregate(discardRuns));
    if (serverRuns.length > 0) results.push(aggregate(serverRuns));
  }

  const rows: string[][] = [['scenario', 'target', 'msgs/s', 'MB/s', 'vs discard', 'peak RSS', 'sender msgs/s', 'note']];
  for (const r of results) {
    const base = results.find((x) => x.scenario === r.scenario && x.target === 'discard listener');
    const ratio = base && Number.isFinite(r.msgsPerSec) ? r.msgsPerSec / base.msgsPerSec : NaN;
    rows.push([
      r.scenario.name,
      r.target,
      fmtInt(r.msgsPerSec),
      Number.isFinite(r.mbPerSec) ? r.mbPerSec.toFixed(1) : '-',
      Number.isFinite(ratio) ? ratio.toFixed(2) : '-',
      fmtMiB(r.peakRssKb),
      r.sender ? fmtInt(r.sender.msgsPerSec) : '-',
      r.note,
    ]);
  }
  process.stdout.write(formatTable(rows));
  process.stdout.write('\nmsgs/s and MB/s are the receiver\'s: sender\'s start → the receiver\'s own time of its last record. "vs discard" = ratio to the discard listener in the same scenario of this run.\n');
  if (failed) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`edge: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
