/**
 * Graceful shutdown, end to end: `ringlog serve` is signalled while the real
 * `ringlog bench` is streaming into it. Open connections keep being read during
 * the grace period, the process exits 0, and the NDJSON output holds every
 * message exactly once. While draining, new connections are refused and
 * /healthz answers 503; a partial frame held by a client is written at close.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, type RinglogServer } from '../../bench/lib/server.js';
import {
  checkSeqs,
  closedWithin,
  connect,
  readRecords,
  removeDir,
  runBenchCli,
  sleep,
  tempDir,
  waitUntil,
  watchClose,
  withTimeout,
  type BenchRun,
} from './lifecycle-helpers.js';

const servers: RinglogServer[] = [];
const benches: BenchRun[] = [];
const dirs: string[] = [];

after(async () => {
  for (const b of benches) if (b.proc.exitCode === null && b.proc.signalCode === null) b.proc.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.kill()));
  for (const d of dirs) removeDir(d);
});

async function start(args: string[]): Promise<{ srv: RinglogServer; out: string }> {
  const dir = tempDir('shutdown');
  dirs.push(dir);
  const out = path.join(dir, 'out.ndjson');
  const srv = await startServer({ dataDir: dir, output: `ndjson:${out}`, args });
  servers.push(srv);
  return { srv, out };
}

const N = 300_000;

/**
 * Streams N messages over 4 connections at a bounded rate (about 2 s of sending,
 * so the signal surely lands mid-stream), signals the server once some but not
 * all frames are in, and checks that nothing is lost.
 */
async function signalMidStream(signal: NodeJS.Signals, framing: 'lf' | 'octet'): Promise<void> {
  const { srv, out } = await start(['--shutdown-grace', '30s']);
  const bench = runBenchCli([
    '--target', srv.target('tcp'), '--connections', '4', '--messages', String(N),
    '--framing', framing, '--rate', '150000', '--json-summary',
  ]);
  benches.push(bench);

  const seenBeforeSignal = await srv.waitForMetric('ringlog_received_frames_total', 20_000, { timeoutMs: 20_000, intervalMs: 20 });
  assert.ok(seenBeforeSignal < N, `the signal must land mid-stream (already ${seenBeforeSignal} of ${N} frames)`);
  srv.proc.kill(signal);

  // While draining, the HTTP port is still up: the frame count must keep growing.
  let drainingSeen = seenBeforeSignal;
  let health503 = false;
  while (srv.describeExit() === 'running') {
    try {
      const h = await srv.healthz(1000);
      if (h.status === 503) health503 = true;
      drainingSeen = Math.max(drainingSeen, await srv.metric('ringlog_received_frames_total'));
    } catch {
      break; // the HTTP port closes last, right before exit
    }
    await sleep(50);
  }

  const b = await bench.result;
  assert.equal(b.code, 0, `ringlog bench must finish cleanly (the server kept reading its connections):\n${b.stderr}`);
  const summary = JSON.parse(b.stdout.trim().split('\n').pop()!) as { messages: number; interrupted: boolean };
  assert.equal(summary.messages, N);

  const exit = await srv.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, `server exit after ${signal}\n${srv.stderrTail()}`);
  assert.ok(health503, '/healthz answered 503 at least once while draining');
  assert.ok(drainingSeen > seenBeforeSignal, `frames were still received after ${signal} (${seenBeforeSignal} → ${drainingSeen})`);
  assert.match(srv.stderr(), new RegExp(`msg="signal received" signal=${signal}`));
  assert.match(srv.stderr(), /msg="shutdown complete"/);

  const records = readRecords(out);
  assert.equal(records.length, N, `exactly ${N} records in the output`);
  const rep = checkSeqs(records, N);
  assert.equal(rep.withSeq, N, 'every record carries a bench seq');
  assert.deepEqual(
    { missing: rep.missingCount, duplicates: rep.duplicateCount, outOfRange: rep.outOfRange },
    { missing: 0, duplicates: 0, outOfRange: 0 },
    `seqs 0..${N - 1} each exactly once (first missing ${rep.missing.join(',')}; first duplicated ${rep.duplicates.join(',')})`,
  );
  for (const r of records.slice(0, 10)) assert.equal(r.source.transport, 'tcp');
}

test('SIGTERM mid-stream (LF framing): open connections are drained, exit 0, every message exactly once', { timeout: 60_000 }, async () => {
  await signalMidStream('SIGTERM', 'lf');
});

test('SIGTERM mid-stream (octet counting): open connections are drained, exit 0, every message exactly once', { timeout: 60_000 }, async () => {
  await signalMidStream('SIGTERM', 'octet');
});

test('SIGINT mid-stream: same graceful drain as SIGTERM', { timeout: 60_000 }, async () => {
  await signalMidStream('SIGINT', 'lf');
});

test('while draining: new connections are refused, /healthz is 503, a held partial frame is written at close', { timeout: 30_000 }, async (t) => {
  const { srv, out } = await start(['--shutdown-grace', '10s']);
  const { port } = srv.address('tcp');

  // A complete line first, then a frame left open (no LF).
  const held = await connect(port);
  const heldClose = watchClose(held);
  held.write('complete line before shutdown\n');
  held.write('partial frame: ');
  await srv.waitForMetric('ringlog_received_bytes_total', Buffer.byteLength('complete line before shutdown\npartial frame: '), { timeoutMs: 5_000 });

  srv.proc.kill('SIGTERM');
  await waitUntil(async () => (await srv.healthz(1000)).status === 503, '/healthz to answer 503 after SIGTERM', 5_000);

  // Keep the held connection busy (one byte every 100 ms, still no LF) so that the
  // server stays in its drain phase while we probe it.
  const trickled: string[] = [];
  let refusedCode: string | null = null;
  for (let i = 0; i < 15; i++) {
    const ch = String.fromCharCode(97 + (i % 26));
    held.write(ch);
    trickled.push(ch);
    if (i === 3) {
      // A new connection while draining: refused (the listening socket is closed).
      try {
        const s = await connect(port, '127.0.0.1', 2_000);
        const w = watchClose(s);
        s.write('must not be accepted\n');
        const info = await closedWithin(w, 2_000);
        s.destroy();
        refusedCode = info ? `closed at once (${info.error ?? 'FIN'})` : null;
      } catch (err) {
        refusedCode = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      }
    }
    if (i === 6) {
      const h = await srv.healthz(1000);
      assert.equal(h.status, 503, 'still draining: /healthz 503');
      const body = JSON.parse(h.body) as { status: string; reason?: string; connections?: number };
      assert.equal(body.status, 'unavailable');
      assert.match(body.reason ?? '', /shutting down/);
      assert.equal(body.connections, 1, 'the held connection is still open');
    }
    await sleep(100);
  }
  t.diagnostic(`a connection attempted during the drain: ${refusedCode}`);
  assert.ok(refusedCode !== null, 'a connection attempted during the drain was refused or closed at once');
  assert.equal(srv.describeExit(), 'running', 'the server waits for the busy connection');

  // Stop sending: the server closes the now quiet connection and finishes its shutdown.
  const info = await closedWithin(heldClose, 12_000);
  assert.ok(info, 'the server closed the held connection once it went quiet');
  const exit = await srv.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, srv.stderrTail());

  const messages = readRecords(out).map((r) => r.message);
  assert.deepEqual(messages, ['complete line before shutdown', `partial frame: ${trickled.join('')}`],
    'the complete line and the partial frame (with every byte sent during the drain) are in the output');
  assert.ok(!messages.includes('must not be accepted'));
});

test('shutdown is bounded: a sender that never stops is cut off after --shutdown-grace, what it sent is kept', { timeout: 30_000 }, async () => {
  const { srv, out } = await start(['--shutdown-grace', '1s']);
  const held = await connect(srv.address('tcp').port);
  const heldClose = watchClose(held);
  held.write('endless ');
  await srv.waitForMetric('ringlog_received_bytes_total', 8, { timeoutMs: 5_000 });
  srv.proc.kill('SIGTERM');
  let sent = 'endless ';
  const t0 = Date.now();
  // Send one byte every 50 ms until the server closes us (at most 10 s).
  while (!heldClose.isClosed() && Date.now() - t0 < 10_000) {
    if (!held.destroyed) {
      held.write('x');
      sent += 'x';
    }
    await sleep(50);
  }
  assert.ok(heldClose.isClosed(), 'the server closed the connection at the end of the grace period');
  const exit = await srv.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, srv.stderrTail());
  const recs = readRecords(out);
  assert.equal(recs.length, 1, 'the partial frame is written as one record');
  const msg = recs[0]!.message;
  assert.ok(sent.startsWith(msg), 'the record is what was sent (bytes still in flight at the cut may be missing)');
  // The drain ran for about a second at 20 bytes/s: much more than what was sent before the signal.
  assert.ok(msg.length > 'endless '.length + 5, `bytes sent during the grace period are kept (${JSON.stringify(msg)})`);
});

test('idle connections do not hold the shutdown for the whole grace period', { timeout: 30_000 }, async () => {
  const { srv, out } = await start(['--shutdown-grace', '60s']);
  const port = srv.address('tcp').port;
  const idle = [await connect(port), await connect(port), await connect(port)];
  const closes = idle.map((s) => watchClose(s));
  idle[0]!.write('one line then quiet\n');
  await srv.waitForMetric('ringlog_connections_open', 3, { timeoutMs: 5_000 });
  srv.proc.kill('SIGTERM');
  // The grace period is 60 s; quiet connections are closed long before it ends.
  const exit = await withTimeout(srv.exited, 15_000, 'the server to exit with only quiet connections open');
  assert.deepEqual(exit, { code: 0, signal: null }, srv.stderrTail());
  const infos = await Promise.all(closes.map((w) => withTimeout(w.closed, 5_000, 'client close')));
  assert.ok(infos.every((i) => i.ended && i.error === null), 'each quiet connection got an orderly close');
  assert.deepEqual(readRecords(out).map((r) => r.message), ['one line then quiet']);
});

test('a second signal while draining exits at once (128 + SIGTERM = 143) without waiting for the grace period', { timeout: 30_000 }, async () => {
  const { srv } = await start(['--shutdown-grace', '60s']);
  const held = await connect(srv.address('tcp').port);
  watchClose(held);
  held.write('busy ');
  srv.proc.kill('SIGTERM');
  await waitUntil(async () => (await srv.healthz(1000)).status === 503, '/healthz 503 after SIGTERM', 5_000);
  // Keep the connection busy so that the first signal's drain would go on for a minute.
  const ticker = setInterval(() => held.write('x'), 100);
  try {
    await sleep(700);
    assert.equal(srv.describeExit(), 'running', 'still draining the busy connection');
    srv.proc.kill('SIGTERM');
    const exit = await withTimeout(srv.exited, 10_000, 'exit after the second signal');
    assert.deepEqual(exit, { code: 143, signal: null });
    assert.match(srv.stderr(), /second signal: exiting without draining/);
  } finally {
    clearInterval(ticker);
    held.destroy();
  }
});
