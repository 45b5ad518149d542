/**
 * The "plain discard listener" baseline: a bare Node `net` server that reads
 * and discards everything, counting bytes and LF bytes (with indexOf). It is the
 * upper bound for what any Node TCP receiver can do on this machine.
 *
 *   node dist/bench/discard-listener.js [--host 127.0.0.1] [--port 0] [--expect LINES]
 *
 * stdout protocol (one line each, key=value):
 *   listening PORT
 *   done lines=N bytes=B seconds=S first_ms=T0 last_ms=T1   once LINES lines are counted (--expect)
 *   stats connections=C lines=N bytes=B seconds=S           on SIGUSR1
 *   totals connections=C lines=N bytes=B seconds=S          on SIGTERM/SIGINT, then exit 0
 * `seconds` is from the first byte received to the last counted line (for `done`)
 * or to now; first_ms/last_ms are performance.timeOrigin-based epoch ms.
 */
import net from 'node:net';

interface Args {
  host: string;
  port: number;
  expect: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { host: '127.0.0.1', port: 0, expect: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if (a === '--host' && v !== undefined) {
      args.host = v;
      i++;
    } else if (a === '--port' && v !== undefined) {
      args.port = Number(v);
      i++;
    } else if (a === '--expect' && v !== undefined) {
      args.expect = Number(v);
      i++;
    } else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: discard-listener [--host H] [--port P] [--expect LINES]\n');
      process.exit(0);
    } else {
      process.stderr.write(`discard-listener: unknown argument ${a}\n`);
      process.exit(2);
    }
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
let bytes = 0;
let lines = 0;
let connections = 0;
let firstAt = 0; // performance.now() of the first byte
let lastLineAt = 0; // performance.now() of the chunk holding the last line counted
let doneReported = false;

function epochMs(t: number): number {
  return performance.timeOrigin + t;
}

function sinceFirst(until: number): string {
  return firstAt === 0 ? '0' : ((until - firstAt) / 1000).toFixed(6);
}

function count(chunk: Buffer): void {
  const now = performance.now();
  if (firstAt === 0) firstAt = now;
  bytes += chunk.length;
  let n = 0;
  let i = chunk.indexOf(10);
  while (i !== -1) {
    n++;
    i = chunk.indexOf(10, i + 1);
  }
  if (n > 0) {
    lines += n;
    lastLineAt = now;
    if (args.expect > 0 && !doneReported && lines >= args.expect) {
      doneReported = true;
      process.stdout.write(
        `done lines=${lines} bytes=${bytes} seconds=${sinceFirst(lastLineAt)} ` +
        `first_ms=${epochMs(firstAt).toFixed(3)} last_ms=${epochMs(lastLineAt).toFixed(3)}\n`);
    }
  }
}

const server = net.createServer({ noDelay: true }, (sock) => {
  connections++;
  sock.on('data', count);
  sock.on('error', () => { /* peer reset: nothing to do */ });
  sock.on('close', () => {
    connections--;
  });
});
server.maxConnections = 1_000_000;
server.on('error', (err) => {
  process.stderr.write(`discard-listener: ${err.message}\n`);
  process.exit(1);
});
server.listen({ host: args.host, port: args.port, backlog: 4096 }, () => {
  const addr = server.address() as net.AddressInfo;
  process.stdout.write(`listening ${addr.port}\n`);
});

function report(kind: string): void {
  process.stdout.write(`${kind} connections=${connections} lines=${lines} bytes=${bytes} seconds=${sinceFirst(lastLineAt || performance.now())}\n`);
}

process.on('SIGUSR1', () => report('stats'));
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    report('totals');
    process.exit(0);
  });
}
