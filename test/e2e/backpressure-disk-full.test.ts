/**
 * Backpressure with a real slow output: the NDJSON output lives on a 4 MiB tmpfs,
 * so its writes fail with ENOSPC and the pipeline keeps the batches queued and
 * retries. The queue reaches the high watermark, the server stops reading its
 * sockets, TCP flow control stalls the senders, and memory stays bounded however
 * much they want to send. Growing the tmpfs lets the writes through: the sockets
 * resume and every message ends up in the file exactly once.
 *
 * Needs root (mount -t tmpfs); skipped with the reason otherwise.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, type RinglogServer } from '../../bench/lib/server.js';
import {
  DiskFullFixture,
  RawSender,
  connect,
  scanRecords,
  sleep,
  waitUntil,
  withTimeout,
  type NdjsonRecord,
} from './lifecycle-helpers.js';
import { seqOfRecord } from '../../src/loadgen/payload.js';
import { columnBytes } from '../../src/record/record-batch.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const HIGH = 4 * MiB;
const LOW = 2 * MiB;
/** A read is at most 64 KiB: how far the server's received bytes may move after it paused. */
const READ_SLACK = 64 * KiB;
/**
 * The queue may overshoot the high watermark by one read per connection: its 64 KiB
 * plus the frame offsets and parsed record columns of the ≤ 65 frames in it (1 KiB
 * RFC 5424 messages with two structured-data fields, conn and seq).
 */
const QUEUE_SLACK = READ_SLACK + 65 * 8 + columnBytes(65, 2 * 65);
/** Fixed bound on the server's resident memory, whatever the senders push. */
const RSS_BOUND_KB = 250 * 1024;

const fx = new DiskFullFixture();
after(() => fx.cleanup());

async function metricMap(srv: RinglogServer, names: string[]): Promise<Record<string, number>> {
  const samples = await srv.metrics();
  const out: Record<string, number> = {};
  for (const n of names) out[n] = samples.filter((s) => s.name === n).reduce((a, s) => a + s.value, 0);
  return out;
}

/** Opens `conns` raw senders with `perConn` messages each; seqs are 0..conns*perConn-1. */
async function startSenders(srv: RinglogServer, conns: number, perConn: number, size: number): Promise<RawSender[]> {
  const out: RawSender[] = [];
  for (let c = 0; c < conns; c++) {
    const sock = await connect(srv.address('tcp').port);
    const s = new RawSender(sock, c, c * perConn, perConn, size);
    // Failures are asserted where the test awaits `done`; keep them from being unhandled meanwhile.
    s.done.catch(() => {});
    fx.senders.push(s);
    out.push(s);
  }
  return out;
}

/** Checks the output file holds exactly n records, seqs 0..n-1 once each (streamed: the file is hundreds of MB). */
async function assertEveryMessageOnce(file: string, n: number): Promise<void> {
  const seen = new Uint8Array(n);
  let dup = 0;
  let bad = 0;
  let firstDup = -1;
  const lines = await scanRecords(file, (r: NdjsonRecord) => {
    const p = seqOfRecord(r);
    if (!p || p.seq >= n) {
      bad++;
      return;
    }
    if (seen[p.seq]) {
      dup++;
      if (firstDup < 0) firstDup = p.seq;
    }
    seen[p.seq] = 1;
  });
  let missing = 0;
  let firstMissing = -1;
  for (let i = 0; i < n; i++) {
    if (!seen[i]) {
      missing++;
      if (firstMissing < 0) firstMissing = i;
    }
  }
  assert.deepEqual({ lines, missing, dup, bad }, { lines: n, missing: 0, dup: 0, bad: 0 },
    `every message exactly once (first missing seq ${firstMissing}, first duplicate ${firstDup})`);
}

/** Waits until the server is paused on a full disk and every sender is blocked in write(). */
async function waitForStall(srv: RinglogServer, ss: RawSender[]): Promise<void> {
  await srv.waitForMetric('ringlog_sockets_paused', 1, { timeoutMs: 20_000 });
  await srv.waitForMetric('ringlog_output_errors_total', 1, { timeoutMs: 20_000 });
  await waitUntil(() => ss.every((s) => s.stalled), 'every sender to be blocked (write() returned false, waiting for drain)', 20_000);
}

test('disk full: sockets pause, senders stall, memory stays bounded; more space: everything arrives exactly once', { timeout: 90_000 }, async (t) => {
  const fs = await fx.tmpfs('backpressure', '4m');
  if ('skip' in fs) {
    t.skip(fs.skip);
    return;
  }
  const out = path.join(fs.mnt, 'out.ndjson');
  const srv = await startServer({
    dataDir: fs.dir,
    output: `ndjson:${out}`,
    // The NDJSON output's backpressure alone: the store (which has its own disk-full test,
    // store-disk-full.test.ts) would add its own bounded buffers to the RSS measured here.
    args: ['--no-store', '--high-watermark', '4MiB', '--low-watermark', '2MiB'],
  });
  fx.servers.push(srv);

  let maxRssKb = 0;
  const rssTimer = setInterval(() => {
    const m = srv.memory();
    if (m) maxRssKb = Math.max(maxRssKb, m.rssKb);
  }, 50);
  t.after(() => clearInterval(rssTimer));

  // 2 connections × 160,000 × 1 KiB = 320 MB to push: far more than the RSS bound.
  const CONNS = 2;
  const PER = 160_000;
  const SIZE = 1024;
  const N = CONNS * PER;
  const ss = await startSenders(srv, CONNS, PER, SIZE);

  await waitForStall(srv, ss);
  // The kernel's socket buffers may still be filling when the senders first block (a
  // CI run on a slow host saw 1.5 MiB more accepted in the next second): let them settle.
  await sleep(500);
  const stalledAt = await metricMap(srv, ['ringlog_received_bytes_total', 'ringlog_sockets_paused', 'ringlog_backpressure_pauses_total',
    'ringlog_pipeline_queue_bytes', 'ringlog_output_errors_total']);
  const sentAtStall = ss.reduce((a, s) => a + s.sent, 0);
  await sleep(1000);
  const oneSecondLater = await metricMap(srv, ['ringlog_received_bytes_total', 'ringlog_sockets_paused', 'ringlog_pipeline_queue_bytes']);
  const sentAfter = ss.reduce((a, s) => a + s.sent, 0);

  assert.ok(stalledAt.ringlog_sockets_paused! >= 1, 'ringlog_sockets_paused ≥ 1');
  assert.ok(stalledAt.ringlog_backpressure_pauses_total! >= 1, 'ringlog_backpressure_pauses_total ≥ 1');
  assert.ok(stalledAt.ringlog_output_errors_total! > 0, 'the ENOSPC writes are counted in ringlog_output_errors_total');
  assert.match(srv.stderr(), /output write failed; retrying.*ENOSPC/);
  const grew = oneSecondLater.ringlog_received_bytes_total! - stalledAt.ringlog_received_bytes_total!;
  assert.ok(grew <= 2 * READ_SLACK, `bytes read by the server stay flat over 1 s while paused (grew by ${grew})`);
  assert.ok(ss.every((s) => s.writeFalse >= 1 && s.stalled), 'every sender saw write() return false and is still waiting for drain');
  assert.ok(sentAfter - sentAtStall <= 2 * CONNS * Math.ceil((256 * KiB) / SIZE),
    `the senders made no progress to speak of (${sentAfter - sentAtStall} messages in 1 s)`);
  for (const q of [stalledAt.ringlog_pipeline_queue_bytes!, oneSecondLater.ringlog_pipeline_queue_bytes!]) {
    assert.ok(q <= HIGH + QUEUE_SLACK * CONNS, `queue ${q} B ≤ high watermark + one read per connection`);
    assert.ok(q > LOW, `the queue is above the low watermark, or the sockets would have resumed (${q} B)`);
  }
  const mem = srv.memory();
  assert.ok(mem && mem.rssKb < RSS_BOUND_KB, `RSS ${mem?.rssKb} KiB < ${RSS_BOUND_KB} KiB while stalled`);
  t.diagnostic(`stalled: senders handed ${((sentAfter * SIZE) / MiB).toFixed(1)} MiB to write() of ${((N * SIZE) / MiB).toFixed(0)} MiB; ` +
    `server read ${(oneSecondLater.ringlog_received_bytes_total! / MiB).toFixed(1)} MiB, queue ${stalledAt.ringlog_pipeline_queue_bytes} B, RSS ${mem!.rssKb} KiB`);
  assert.ok(sentAfter < N / 4, `the senders are stuck early (${sentAfter} of ${N} messages handed to write())`);
  assert.equal(srv.describeExit(), 'running');

  // Room on the disk: the retried write succeeds, the queue drains, the sockets resume.
  await fx.grow(fs.mnt, '512m');
  await waitUntil(async () => (await srv.metric('ringlog_received_bytes_total')) > oneSecondLater.ringlog_received_bytes_total! + 4 * MiB,
    'reading to resume after the disk has room', 20_000);

  await withTimeout(Promise.all(ss.map((s) => s.done)), 60_000, 'the senders to finish');
  await srv.waitForMetric('ringlog_output_records_total', N, { timeoutMs: 30_000 });
  await waitUntil(async () => (await srv.metric('ringlog_sockets_paused')) === 0, 'ringlog_sockets_paused to return to 0', 10_000);
  assert.equal(await srv.metric('ringlog_received_bytes_total'), N * SIZE, 'every byte the senders sent was read');

  const hwm = srv.memory()!.hwmKb;
  assert.ok(maxRssKb < RSS_BOUND_KB && hwm < RSS_BOUND_KB,
    `RSS stayed under ${RSS_BOUND_KB} KiB for the whole run (max sampled ${maxRssKb} KiB, VmHWM ${hwm} KiB) while ${(N * SIZE / MiB).toFixed(0)} MiB went through`);

  assert.equal(await srv.stop(), 0, srv.stderrTail());
  await assertEveryMessageOnce(out, N);
});

/**
 * A server whose NDJSON output is on a full 4 MiB tmpfs (4/2 MiB watermarks plus `args`),
 * and two raw senders of 20,000 × 1 KiB messages stalled by its backpressure.
 */
async function stalledOnFullDisk(args: string[]) {
  const fs = await fx.tmpfs('backpressure', '4m');
  if ('skip' in fs) return fs;
  const out = path.join(fs.mnt, 'out.ndjson');
  const srv = await startServer({
    dataDir: fs.dir,
    output: `ndjson:${out}`,
    args: ['--no-store', '--high-watermark', '4MiB', '--low-watermark', '2MiB', ...args],
  });
  fx.servers.push(srv);
  const CONNS = 2;
  const PER = 20_000;
  const ss = await startSenders(srv, CONNS, PER, 1024);
  await waitForStall(srv, ss);
  return { fs, out, srv, ss, CONNS, N: CONNS * PER };
}

test('a connection paused by backpressure is not closed by --idle-timeout (the peer is not idle, the server is)', {
  timeout: 60_000,
}, async (t) => {
  const stalled = await stalledOnFullDisk(['--idle-timeout', '1s']);
  if ('skip' in stalled) {
    t.skip(stalled.skip);
    return;
  }
  const { fs, out, srv, ss, CONNS, N } = stalled;

  // Paused for three idle timeouts.
  await sleep(3_000);
  const closedIdle = await srv.metric('ringlog_connections_closed_total', { reason: 'idle_timeout' });
  const open = await srv.metric('ringlog_connections_open');
  await fx.grow(fs.mnt, '512m');
  const results = await withTimeout(Promise.allSettled(ss.map((s) => s.done)), 40_000, "the senders to finish or fail");

  assert.equal(closedIdle, 0, 'no connection was closed as idle while the server itself had paused it');
  assert.equal(open, CONNS, 'both connections stayed open while paused');
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled'],
    `the senders finished without errors (${ss.map((s) => s.error ?? 'ok').join(', ')})`);
  await srv.waitForMetric('ringlog_output_records_total', N, { timeoutMs: 30_000 });
  assert.equal(await srv.stop(), 0);
  await assertEveryMessageOnce(out, N);
});

test('SIGTERM while sockets are paused on a full disk: the grace period applies, nothing is cut off as idle', {
  timeout: 60_000,
}, async (t) => {
  const stalled = await stalledOnFullDisk(['--shutdown-grace', '30s']);
  if ('skip' in stalled) {
    t.skip(stalled.skip);
    return;
  }
  const { fs, out, srv, ss, CONNS, N } = stalled;

  srv.proc.kill('SIGTERM');
  await waitUntil(async () => (await srv.healthz(1000)).status === 503, '/healthz 503 after SIGTERM', 5_000);
  // Well past the 500 ms after which quiet connections are closed at shutdown.
  await sleep(2_000);
  const open = await srv.metric('ringlog_connections_open');
  await fx.grow(fs.mnt, '512m');
  const results = await withTimeout(Promise.allSettled(ss.map((s) => s.done)), 40_000, "the senders to finish or fail");
  const exit = await withTimeout(srv.exited, 40_000, 'the server to exit after the drain');

  assert.equal(open, CONNS, 'paused connections are still open 2 s into the drain');
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled'],
    `the senders finished without errors (${ss.map((s) => s.error ?? 'ok').join(', ')})`);
  assert.deepEqual(exit, { code: 0, signal: null }, srv.stderrTail());
  await assertEveryMessageOnce(out, N);
});
