/**
 * Readers while the server writes: `ringlog query` runs back to back on the data
 * directory while records stream in, and every run must be a consistent snapshot.
 *
 * The writers (the store commits every 100 ms and seals 64 KiB blocks, so the
 * queries see WAL records, fresh blocks and moving checkpoints):
 *  - `ringlog bench --seq-per-connection`, RFC 5424, 4 connections, 90,000
 *    messages at 15,000/s: about six seconds of steady writes;
 *  - a second `ringlog bench`, JSON lines, 2 connections, 40,000 messages at full
 *    rate, started in the middle;
 *  - a raw sender of 10,000 records whose timestamps are scattered over the last
 *    two hours in random order, in chunks, so that timestamp order means something.
 * (At full rate the server stores about a million records a second and a query of
 * everything renders far fewer, so a full-rate run alone would leave room for one or
 * two queries; the steady writer keeps the store changing under many of them.)
 *
 * Every query must exit 0 and return records in timestamp order, none twice, none
 * garbled; the records it sees must include every record the previous query saw
 * (so the count never decreases); and each bench connection must be a prefix
 * (seq 0…k-1, no gaps: a snapshot, not a mix of states). After the writers finish
 * and the server has made everything durable, a query returns exactly the records
 * sent (per-connection seqs), and again after a clean stop.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { RinglogServer } from '../../bench/lib/server.js';
import { runBenchCli, sleep, type NdjsonRecord } from './lifecycle-helpers.js';
import { makeTempDir, removeDir } from './helpers.js';
import { HOUR, messageFor, queryStore, renderedTimestamp, sendRecords, startStoreServer, writeConfig, type SentRecord } from './store-helpers.js';

const A_CONNS = 4;
// Paced: the writers send for ~9 s whatever the server's speed, so that several
// queries (each a few seconds on a busy 2-core machine) start while they write.
const A_MESSAGES = 90_000;
const A_RATE = 10_000;
const B_CONNS = 2;
const B_MESSAGES = 40_000;
const SCRAMBLED = 10_000;
const SCRAMBLED_CONN = 1000;

const servers: RinglogServer[] = [];
const dirs: string[] = [];

after(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  for (const d of dirs) removeDir(d);
});

/** Which writer a record is from, and its (conn, seq); null if it is none of ours. */
function identify(r: NdjsonRecord): { stream: string; seq: number } | null {
  const f = r.fields ?? {};
  const sdConn = f['bench@32473.conn'];
  const sdSeq = f['bench@32473.seq'];
  if (sdConn !== undefined && sdSeq !== undefined && /^\d+$/.test(sdConn) && /^\d+$/.test(sdSeq)) {
    const conn = Number(sdConn);
    return { stream: conn >= SCRAMBLED_CONN ? `raw/${conn}` : `a/${conn}`, seq: Number(sdSeq) };
  }
  if (f.conn !== undefined && f.seq !== undefined && /^\d+$/.test(f.conn) && /^\d+$/.test(f.seq)) return { stream: `b/${f.conn}`, seq: Number(f.seq) };
  return null;
}

interface Snapshot {
  count: number;
  /** Per stream: seqs seen. */
  seqs: Map<string, Set<number>>;
  problems: string[];
}

/** Checks one query's output; `scrambled` is what the raw sender sent, by seq. */
function examine(records: NdjsonRecord[], scrambled: Map<number, SentRecord>, benchMessage: Map<string, string>): Snapshot {
  const snap: Snapshot = { count: records.length, seqs: new Map(), problems: [] };
  const problem = (p: string) => {
    if (snap.problems.length < 8) snap.problems.push(p);
  };
  let prev = '';
  for (const r of records) {
    if (r.timestamp < prev) problem(`out of timestamp order: ${r.timestamp} after ${prev}`);
    prev = r.timestamp;
    const id = identify(r);
    if (!id) {
      problem(`a record of no writer: ${JSON.stringify(r).slice(0, 200)}`);
      continue;
    }
    let seen = snap.seqs.get(id.stream);
    if (!seen) snap.seqs.set(id.stream, (seen = new Set()));
    if (seen.has(id.seq)) problem(`${id.stream} seq ${id.seq} returned twice`);
    seen.add(id.seq);
    if (id.stream.startsWith('raw/')) {
      const s = scrambled.get(id.seq);
      if (!s || r.message !== s.message || r.timestamp !== renderedTimestamp(s.tsMs) || r.host !== s.host) problem(`garbled: ${JSON.stringify(r).slice(0, 200)}`);
    } else {
      // Every message of a bench connection has the same text (the seq is in a field), and the bench's host.
      const kind = id.stream.slice(0, 1);
      const want = benchMessage.get(kind);
      if (want === undefined) benchMessage.set(kind, r.message);
      else if (r.message !== want || r.host !== 'bench-host' || r.app !== 'ringlog-bench') problem(`garbled: ${JSON.stringify(r).slice(0, 200)}`);
    }
  }
  for (const [stream, seen] of snap.seqs) {
    if (stream.startsWith('raw/')) continue;
    let max = -1;
    for (const s of seen) if (s > max) max = s;
    if (seen.size !== max + 1) problem(`${stream}: not a prefix: ${seen.size} records, highest seq ${max}`);
  }
  return snap;
}

test('ringlog query while the server writes: consistent snapshots that only grow; afterwards exactly the records sent', { timeout: 120_000 }, async (t) => {
  const dir = makeTempDir('store-readers');
  dirs.push(dir);
  const data = path.join(dir, 'data');
  const configFile = writeConfig(path.join(dir, 'store.json'), { store: { commitInterval: '100ms', blockSize: '64KiB' } });
  const srv = await startStoreServer(data, { configFile });
  servers.push(srv);
  const target = srv.target('tcp');

  const now = Date.now();
  const scrambled = new Map<number, SentRecord>();
  for (let i = 0; i < SCRAMBLED; i++) {
    // A fixed permutation of the last two hours: consecutive seqs are far apart in time.
    const tsMs = now - 2 * HOUR + ((i * 7919) % SCRAMBLED) * Math.floor((2 * HOUR) / SCRAMBLED);
    scrambled.set(i, { conn: SCRAMBLED_CONN, seq: i, tsMs, host: `raw-${i % 5}`, message: messageFor(SCRAMBLED_CONN, i) });
  }

  const benchA = runBenchCli(['--target', target, '--connections', String(A_CONNS), '--messages', String(A_MESSAGES), '--rate', String(A_RATE),
    '--size', '160', '--seq-per-connection', '--json-summary'], 60_000);
  let writersDone = false;
  /** Queries started while the writers were sending (the query loop below counts them). */
  let startedDuringWrites = 0;
  const writers = (async () => {
    await sleep(1_500);
    const benchB = runBenchCli(['--target', target, '--connections', String(B_CONNS), '--messages', String(B_MESSAGES), '--format', 'json',
      '--size', '160', '--seq-per-connection', '--json-summary'], 60_000);
    const all = [...scrambled.values()];
    for (let i = 0; i < all.length; i += 1000) {
      // The last group waits for three queries to have started while writing, so that
      // the test does not depend on how fast queries run on a busy host.
      const deadline = Date.now() + 60_000;
      while (i + 1000 >= all.length && startedDuringWrites < 3 && Date.now() < deadline) await sleep(50);
      await sendRecords(srv, all.slice(i, i + 1000));
      await sleep(150);
    }
    const results = await Promise.all([benchA.result, benchB.result]);
    writersDone = true;
    return results;
  })();

  // Queries back to back until the writers are done and the server has stored everything.
  const total = A_MESSAGES + B_MESSAGES + SCRAMBLED;
  const benchMessage = new Map<string, string>();
  let prev: Snapshot | null = null;
  let runs = 0;
  let duringWrites = 0;
  const counts: number[] = [];
  const times: number[] = [];
  for (;;) {
    const writing = !writersDone;
    if (writing) startedDuringWrites++;
    const q = await queryStore(data);
    runs++;
    assert.equal(q.code, 0, `query ${runs} failed:\n${q.stderr.slice(-2000)}`);
    assert.doesNotMatch(q.stderr, /warning/, `query ${runs} warned`);
    const snap = examine(q.records, scrambled, benchMessage);
    assert.deepEqual(snap.problems, [], `query ${runs} (${snap.count} records)`);
    if (prev) {
      assert.ok(snap.count >= prev.count, `query ${runs} returned ${snap.count} records, the one before ${prev.count}`);
      for (const [stream, seen] of prev.seqs) {
        const now2 = snap.seqs.get(stream) ?? new Set<number>();
        const lost = [...seen].filter((s) => !now2.has(s));
        assert.deepEqual(lost.slice(0, 5), [], `query ${runs}: ${lost.length} records of ${stream} the previous query returned are gone`);
      }
    }
    prev = snap;
    counts.push(snap.count);
    times.push(q.ms);
    if (writing) duringWrites++;
    if (writersDone && snap.count === total) break;
    if (writersDone && (await srv.metric('ringlog_store_records_total')) < total) await sleep(100);
    assert.ok(runs < 200, 'too many queries: the store never reached the total');
  }
  t.diagnostic(`${runs} queries, ${duringWrites} of them started while the writers were sending; counts: ${counts.join(' ')}; ms: ${times.join(' ')}`);
  assert.ok(duringWrites >= 3, `at least three queries ran while the writers were sending (${duringWrites})`);
  assert.ok(counts.some((c) => c > 0 && c < total), 'some queries saw a partly written store');

  const [a, b] = await writers;
  for (const [name, r] of [['bench A', a], ['bench B', b]] as const) {
    assert.equal(r.code, 0, `${name} failed: ${r.stderr}`);
  }
  const sumA = JSON.parse(a.stdout.trim().split('\n').pop()!) as { messages: number };
  const sumB = JSON.parse(b.stdout.trim().split('\n').pop()!) as { messages: number };
  assert.deepEqual([sumA.messages, sumB.messages], [A_MESSAGES, B_MESSAGES], 'the benches sent everything');
  assert.equal(await srv.metric('ringlog_store_records_total'), total, 'every record durable once');

  const expectExactly = (snap: Snapshot, what: string) => {
    const got: Record<string, number> = {};
    const want: Record<string, number> = {};
    for (let c = 0; c < A_CONNS; c++) want[`a/${c}`] = Math.floor(A_MESSAGES / A_CONNS) + (c < A_MESSAGES % A_CONNS ? 1 : 0);
    for (let c = 0; c < B_CONNS; c++) want[`b/${c}`] = Math.floor(B_MESSAGES / B_CONNS) + (c < B_MESSAGES % B_CONNS ? 1 : 0);
    want[`raw/${SCRAMBLED_CONN}`] = SCRAMBLED;
    for (const [stream, seen] of snap.seqs) got[stream] = seen.size;
    assert.deepEqual(got, want, `${what}: per connection, seqs 0…n-1 each once`);
    assert.equal(snap.count, total, what);
  };
  expectExactly(prev!, 'the last query while the server runs');

  assert.equal(await srv.stop(), 0, srv.stderrTail());
  const q = await queryStore(data);
  assert.equal(q.code, 0, q.stderr);
  const final = examine(q.records, scrambled, benchMessage);
  assert.deepEqual(final.problems, []);
  expectExactly(final, 'after a clean stop');
  assert.equal(q.stats.wal_records, 0, 'after a clean stop everything is in committed blocks');
});
