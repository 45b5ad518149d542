import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { FORMATS, FRAMINGS, type Framing, type MessageFormat } from '../loadgen/payload.js';
import { runBench, runIdle, type BenchSummary } from '../loadgen/runner.js';
import { LoadgenError, TRANSPORTS, isUnix, type Endpoint, type Transport } from '../loadgen/transports.js';

interface BenchCliOptions {
  target: string;
  path?: string;
  transport: Transport;
  insecure?: boolean;
  ca?: string;
  connections: number;
  messages?: number;
  duration?: number;
  size: number;
  rate?: number;
  framing: Framing;
  format: MessageFormat;
  jsonSummary?: boolean;
  progress: boolean;
  idle?: boolean;
  seqPerConnection?: boolean;
}

function positiveInt(name: string, allowZero = false) {
  return (value: string): number => {
    const n = Number(value.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
      throw new InvalidArgumentError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer.`);
    }
    return n;
  };
}

function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number.`);
    return n;
  };
}

/** `host:port`, `[v6]:port`, or `:port`/`port` (host 127.0.0.1). */
export function parseTarget(input: string): { host: string; port: number } {
  const s = input.trim();
  let host = '127.0.0.1';
  let portText: string;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
  } else if (/^:?\d+$/.test(s)) {
    portText = s.replace(/^:/, '');
  } else {
    const i = s.lastIndexOf(':');
    if (i <= 0 || s.slice(0, i).includes(':')) {
      throw new InvalidArgumentError(`expected HOST:PORT (IPv6 as [::1]:PORT), got "${input}".`);
    }
    host = s.slice(0, i);
    portText = s.slice(i + 1);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`bad port in "${input}" (1-65535).`);
  }
  return { host, port };
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function formatSummary(s: BenchSummary): string {
  const rows: [string, string][] = [
    ['transport', `${s.target} (${s.connections} connection${s.connections === 1 ? '' : 's'}, ${s.format}/${s.framing}, ${s.size} B)`],
    ['messages', fmtInt(s.messages)],
    ['bytes', fmtInt(s.bytes)],
    ['seconds', s.seconds.toFixed(3)],
    ['msgs/s', fmtInt(s.msgsPerSec)],
    ['MB/s', s.mbPerSec.toFixed(1)],
  ];
  if (s.transport === 'udp' || s.senderDrops > 0) rows.push(['sender drops', fmtInt(s.senderDrops)]);
  if (s.transport === 'unix-dgram') rows.push(['congestion waits', fmtInt(s.congestionWaits)]);
  if (s.interrupted) rows.push(['note', 'interrupted before the end']);
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

/** Installs SIGINT/SIGTERM handlers that abort; a second signal exits at once. */
function abortOnSignals(): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : 143);
    ac.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: ac.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

async function action(opts: BenchCliOptions, cmd: Command): Promise<void> {
  let transport = opts.transport;
  if (opts.path && cmd.getOptionValueSource('transport') !== 'cli') transport = 'unix';
  const ep: Endpoint = { transport, host: '127.0.0.1', port: 5140 };
  if (isUnix(transport)) {
    if (!opts.path) throw new LoadgenError(`--transport ${transport} needs --path /path/to/socket`);
    ep.path = opts.path;
  } else {
    if (opts.path) throw new LoadgenError(`--path is for unix transports; use --target with ${transport}`);
    Object.assign(ep, parseTarget(opts.target));
  }
  if (transport === 'tls') {
    ep.tls = { insecure: !!opts.insecure };
    if (opts.ca) {
      try {
        ep.tls.ca = readFileSync(opts.ca);
      } catch (err) {
        throw new LoadgenError(`cannot read --ca ${opts.ca}: ${(err as Error).message}`);
      }
    }
  } else if (opts.insecure || opts.ca) {
    throw new LoadgenError('--insecure and --ca only apply to --transport tls');
  }

  const sig = abortOnSignals();
  try {
    if (opts.idle) {
      const summary = await runIdle({
        ...ep,
        connections: opts.connections,
        durationSec: opts.duration,
        signal: sig.signal,
        onReady: () => process.stdout.write('ready\n'),
      });
      if (opts.jsonSummary) process.stdout.write(JSON.stringify(summary) + '\n');
      else {
        process.stdout.write(
          `held ${fmtInt(summary.connections)} idle connections to ${summary.target} for ${summary.heldSeconds.toFixed(1)} s ` +
          `(connected in ${summary.connectSeconds.toFixed(2)} s, ${summary.closedByPeer} closed by the peer)\n`);
      }
      return;
    }

    const messages = opts.messages ?? (opts.duration !== undefined ? undefined : 1_000_000);
    const showBar = opts.progress && process.stdout.isTTY === true;
    let bar: cliProgress.SingleBar | null = null;
    let byTime = false;
    const summary = await runBench({
      ...ep,
      connections: opts.connections,
      messages,
      durationSec: opts.duration,
      size: opts.size,
      rate: opts.rate,
      framing: opts.framing,
      format: opts.format,
      seqScope: opts.seqPerConnection ? 'connection' : 'run',
      signal: sig.signal,
      onStart: ({ totalMessages, durationSec }) => {
        if (!showBar) return;
        byTime = totalMessages === null;
        bar = new cliProgress.SingleBar({
          stream: process.stdout,
          format: byTime
            ? ' {bar} {percentage}% | {elapsed}s/{total}s | {msgs} msgs | {rate} msgs/s'
            : ' {bar} {percentage}% | {value}/{total} msgs | {rate} msgs/s | ETA {eta}s',
          clearOnComplete: true,
          hideCursor: true,
        }, cliProgress.Presets.shades_classic);
        bar.start(byTime ? durationSec! : totalMessages!, 0, { msgs: '0', rate: '0', elapsed: '0' });
      },
      onProgress: (p) => {
        if (!bar) return;
        const payload = { msgs: fmtInt(p.messages), rate: fmtInt(p.messages / Math.max(p.seconds, 1e-3)), elapsed: p.seconds.toFixed(0) };
        bar.update(byTime ? Math.min(p.seconds, opts.duration!) : p.messages, payload);
      },
    });
    (bar as cliProgress.SingleBar | null)?.stop();
    if (opts.jsonSummary) {
      const { messages: m, bytes, seconds, msgsPerSec, mbPerSec, senderDrops, ...rest } = summary;
      process.stdout.write(JSON.stringify({ messages: m, bytes, seconds, msgsPerSec, mbPerSec, senderDrops, ...rest }) + '\n');
    } else {
      process.stdout.write(formatSummary(summary));
    }
  } finally {
    sig.dispose();
  }
}

/** `ringlog bench`: the load generator. */
export function benchCommand(): Command {
  const cmd = new Command('bench')
    .description('load generator: send syslog/JSON messages to a log server as fast as it takes them (or at --rate)')
    .option('--target <host:port>', 'server address for tcp, tls and udp', '127.0.0.1:5140')
    .option('--path <socket>', 'socket path for unix and unix-dgram (implies --transport unix unless given)')
    .addOption(new Option('--transport <name>', 'transport').choices(TRANSPORTS as string[]).default('tcp'))
    .option('--insecure', 'tls: do not verify the server certificate')
    .option('--ca <file>', 'tls: PEM file of the CA that signed the server certificate')
    .option('--connections <n>', 'connections (or sockets) to open', positiveInt('--connections'), 1)
    .option('--messages <n>', 'messages to send in total across connections (default 1000000)', positiveInt('--messages', true))
    .option('--duration <seconds>', 'send for this long instead (with --idle: hold for this long)', positiveNumber('--duration'))
    .option('--size <bytes>', 'size of one message on the wire, terminator or octet count included', positiveInt('--size'), 128)
    .option('--rate <n>', 'messages per second across all connections (default: unlimited)', positiveNumber('--rate'))
    .addOption(new Option('--framing <mode>', 'stream framing').choices(FRAMINGS as string[]).default('lf'))
    .addOption(new Option('--format <name>', 'message format').choices(FORMATS as string[]).default('rfc5424'))
    .option('--seq-per-connection', 'number each connection\'s messages 0, 1, 2… on their own (to check that a receiver got a prefix of each connection)')
    .option('--json-summary', 'print the summary as one JSON object on stdout')
    .option('--no-progress', 'no progress bar (there is none anyway when stdout is not a terminal)')
    .option('--idle', 'open the connections, send nothing, hold them until SIGINT/SIGTERM or --duration; prints "ready" once connected')
    .addHelpText('after', `
Every message carries conn="C" (0-based connection id) and seq="NNNNNNNNN": seqs
are global, handed out in blocks from one counter, so a run of N messages uses
exactly 0..N-1 once each, increasing within each connection; each connection
sends an equal share of --messages. With --seq-per-connection each connection
numbers its own messages from 0 instead.

Examples:
  ringlog bench --target 127.0.0.1:5140 --connections 4 --messages 2000000
  ringlog bench --transport udp --rate 50000 --duration 10
  ringlog bench --transport tls --insecure --format json --framing octet
  ringlog bench --idle --connections 10000 --duration 60`);
  cmd.action(async (opts: BenchCliOptions) => action(opts, cmd));
  return cmd;
}
