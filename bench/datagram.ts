/**
 * Datagram receive: the native recvmmsg receiver against the per-datagram fallback
 * (Node's dgram for UDP, the unix-dgram package for Unix datagram sockets), in the
 * same run, with the same sender.
 *
 *   node dist/bench/datagram.js [--messages N] [--size BYTES]
 *
 * For each transport and path, `ringlog bench` sends N datagrams as fast as it can
 * into a fresh `ringlog serve --output null`. UDP has no flow control, so a slow
 * receiver shows as loss: the table gives how many datagrams the server received,
 * how many the kernel dropped for it (ringlog_udp_kernel_drops_total), and the rate
 * (received / (server's last write − sender's start)). Unix datagram senders block
 * when the receiver is behind, so there the rate is the figure.
 */
import { startServer, sumMetric } from './lib/server.js';
import { commandLine, fmtInt, formatTable, runLoadgen, sleep } from './lib/harness.js';
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const messages = arg('messages', 1_000_000);
const size = arg('size', 128);

interface Row {
  transport: string;
  path: string;
  received: number;
  kernelDrops: number;
  rate: number;
  senderRate: number;
}

async function measure(transport: 'udp' | 'unix-dgram', native: boolean): Promise<Row> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringlog-bench-dgram-'));
  const sock = path.join(dir, 'log.sock');
  const srv = await startServer({
    tcp: false,
    udp: transport === 'udp' ? '127.0.0.1:0' : false,
    output: 'null',
    // The receivers alone: no store.
    args: ['--no-store', ...(transport === 'unix-dgram' ? ['--unix-dgram', sock] : [])],
    expectListeners: transport === 'unix-dgram' ? ['unix-dgram'] : [],
    env: { ...process.env, RINGLOG_NATIVE: native ? 'on' : 'off' },
  });
  try {
    const target = transport === 'udp' ? ['--target', srv.target('udp')] : ['--path', sock];
    const n = transport === 'udp' ? messages : Math.min(messages, native ? messages : 200_000);
    const sender = await runLoadgen(['--transport', transport, ...target, '--messages', String(n), '--size', String(size)]);
    // Let the server finish what is queued: wait until the frame count stops moving.
    let last = -1;
    for (;;) {
      await sleep(200);
      const now = sumMetric(await srv.metrics(), 'ringlog_output_records_total');
      if (now === last) break;
      last = now;
    }
    const samples = await srv.metrics();
    const received = sumMetric(samples, 'ringlog_output_records_total');
    const kernelDrops = sumMetric(samples, 'ringlog_udp_kernel_drops_total');
    const lastWrite = samples.find((s) => s.name === 'ringlog_output_last_write_timestamp_seconds');
    const seconds = lastWrite && sender.startedAtMs ? (lastWrite.value * 1000 - sender.startedAtMs) / 1000 : sender.seconds;
    return { transport, path: native ? 'native recvmmsg' : 'fallback', received, kernelDrops, rate: received / seconds, senderRate: sender.msgsPerSec };
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`# ${commandLine()}`);
  const rows: Row[] = [];
  for (const transport of ['udp', 'unix-dgram'] as const) {
    for (const native of [true, false]) {
      process.stderr.write(`${transport} ${native ? 'native' : 'fallback'}…\n`);
      rows.push(await measure(transport, native));
    }
  }
  const table = [['transport', 'receive path', 'received', 'kernel drops', 'received msgs/s', 'vs fallback', 'sender msgs/s']];
  for (const r of rows) {
    const base = rows.find((x) => x.transport === r.transport && x.path === 'fallback')!;
    table.push([r.transport, r.path, fmtInt(r.received), fmtInt(r.kernelDrops), fmtInt(r.rate), (r.rate / base.rate).toFixed(2), fmtInt(r.senderRate)]);
  }
  console.log(formatTable(table));
  console.log(`\n${size}-byte RFC 5424 messages; UDP sends ${fmtInt(messages)}, unix-dgram ${fmtInt(messages)} (fallback: at most 200,000, it is slow).`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
