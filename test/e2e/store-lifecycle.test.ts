/**
 * The store across server lifecycles, with real processes:
 *
 *  - SIGTERM after a `ringlog bench` run: the server exits 0 having committed
 *    everything (the commit interval is 10 minutes, so only the shutdown commits), a
 *    restart replays nothing (ringlog_store_replayed_records_total 0), finds no damage,
 *    and every record is there (per-connection seqs);
 *  - one server per data directory: a second `ringlog serve` on it is refused with
 *    RL_STORE_LOCKED while the first runs, and the first is unaffected (its LOCK stays);
 *    after the first is SIGKILLed, its stale LOCK is taken over by the next server,
 *    which recovers every acknowledged record;
 *  - a store whose FORMAT names another version is refused with RL_STORE_VERSION, by
 *    the server and by `ringlog query`, and left as it was;
 *  - a version 1 store, written by an earlier ringlog (test/fixtures/store-v1: bloom
 *    filters only), is read as it is by `ringlog query`, and moved to version 3 by a
 *    server, which appends blocks with binary fuse filters to its segments: queries
 *    find records through both kinds of filter.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ringlogBin, type RinglogServer } from '../../bench/lib/server.js';
import { checkSeqs, run, runBenchCli } from './lifecycle-helpers.js';
import { makeTempDir, removeDir } from './helpers.js';
import { damageOf, queryOk, queryStore, startStoreServer, storeDir, writeConfig } from './store-helpers.js';
import type { NdjsonRecord } from './helpers.js';
import { readIndex } from '../../src/store/segment.js';

const servers: RinglogServer[] = [];
const dirs: string[] = [];

after(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  for (const d of dirs) removeDir(d);
});

function setup(name: string): { data: string; config: string } {
  const dir = makeTempDir(name);
  dirs.push(dir);
  // Nothing is committed before shutdown unless a test asks for it.
  const config = writeConfig(path.join(dir, 'store.json'), { store: { commitInterval: '10m' } });
  return { data: path.join(dir, 'data'), config };
}

async function start(data: string, config: string): Promise<RinglogServer> {
  const srv = await startStoreServer(data, { configFile: config });
  servers.push(srv);
  return srv;
}

/** Runs `ringlog bench` against the server with per-connection seqs; resolves with the messages it sent. */
async function bench(srv: RinglogServer, connections: number, messages: number): Promise<void> {
  const b = runBenchCli(['--target', srv.target('tcp'), '--connections', String(connections), '--messages', String(messages),
    '--size', '200', '--seq-per-connection', '--json-summary'], 60_000);
  const r = await b.result;
  assert.equal(r.code, 0, `ringlog bench failed: ${r.stderr}`);
  assert.equal((JSON.parse(r.stdout.trim().split('\n').pop()!) as { messages: number }).messages, messages);
}

/** Per connection (conn → seqs 0…n-1 each once), for bench records; other records are ignored. */
function perConnection(records: NdjsonRecord[], connections: number, messages: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let c = 0; c < connections; c++) {
    const n = Math.floor(messages / connections) + (c < messages % connections ? 1 : 0);
    const mine = records.filter((r) => r.fields?.['bench@32473.conn'] === String(c));
    const s = checkSeqs(mine, n);
    out[c] = `${mine.length} records, ${s.missingCount} missing, ${s.duplicateCount} twice, ${s.outOfRange} out of range`;
  }
  return out;
}

function expected(connections: number, messages: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let c = 0; c < connections; c++) out[c] = `${Math.floor(messages / connections) + (c < messages % connections ? 1 : 0)} records, 0 missing, 0 twice, 0 out of range`;
  return out;
}

/** `ringlog serve` on `data` that is expected to refuse to start: its exit and stderr. */
function serveRefused(data: string): ReturnType<typeof run> {
  return run(process.execPath, [ringlogBin, 'serve', '--data-dir', data, '--tcp', '127.0.0.1:0', '--http', '127.0.0.1:0'], 20_000);
}

test('SIGTERM after a bench run: exit 0, everything committed; a restart replays nothing and every record is there', { timeout: 60_000 }, async () => {
  const { data, config } = setup('store-sigterm');
  const CONNS = 4;
  const N = 100_000;
  const srv = await start(data, config);
  await bench(srv, CONNS, N);
  await srv.waitForMetric('ringlog_store_records_total', N, { timeoutMs: 30_000 });
  assert.equal(await srv.metric('ringlog_store_commits_total'), 0, 'nothing committed before the shutdown (commitInterval 10m)');
  assert.equal(await srv.stop(), 0, `exit code after SIGTERM\n${srv.stderrTail()}`);

  const srv2 = await start(data, config);
  assert.equal(await srv2.metric('ringlog_store_replayed_records_total'), 0, 'a restart after SIGTERM replays nothing from the WAL');
  assert.deepEqual((await damageOf(srv2)).kinds, {}, 'and finds no damage (no uncommitted blocks, no torn tails)');
  assert.match(srv2.stderr(), new RegExp(`msg="store open".* records=${N} replayed_records=0`), 'the store opens with every record in committed blocks');
  const q = await queryOk(data);
  assert.equal(q.stats.wal_records, 0, 'no record had to come from the WAL');
  assert.equal(q.records.length, N);
  assert.deepEqual(perConnection(q.records, CONNS, N), expected(CONNS, N));
  assert.equal(await srv2.stop(), 0);
});

test('one server per data directory: a second one is refused with RL_STORE_LOCKED; a stale LOCK of a killed server is taken over', { timeout: 60_000 }, async () => {
  const { data, config } = setup('store-lock');
  const lockFile = path.join(storeDir(data), 'LOCK');
  const CONNS = 2;
  const N = 20_000;
  const first = await start(data, config);
  await bench(first, CONNS, N);
  await first.waitForMetric('ringlog_store_records_total', N, { timeoutMs: 30_000 });
  assert.equal(readFileSync(lockFile, 'utf8').trim(), String(first.pid), 'LOCK holds the pid of the server writing the store');

  const second = await serveRefused(data);
  assert.equal(second.code, 1, `a second server on the same data directory must not start (exit ${second.code})\n${second.stderr}`);
  assert.match(second.stderr, /is in use by another ringlog \(pid (\d+)\); one server per data directory \[RL_STORE_LOCKED\]/);
  assert.match(second.stderr, new RegExp(`\\(pid ${first.pid}\\)`), 'the error names the pid of the running server');
  assert.equal(readFileSync(lockFile, 'utf8').trim(), String(first.pid), 'the refused server left the LOCK alone');
  assert.equal((await first.healthz()).status, 200, 'the first server is unaffected');
  await bench(first, CONNS, N);
  await first.waitForMetric('ringlog_store_records_total', 2 * N, { timeoutMs: 30_000 });

  // Killed: no shutdown, the LOCK stays behind with a dead pid, nothing is committed (commitInterval 10m).
  await first.kill();
  assert.equal(readFileSync(lockFile, 'utf8').trim(), String(first.pid), 'a killed server leaves its LOCK behind');
  const third = await start(data, config);
  assert.equal(readFileSync(lockFile, 'utf8').trim(), String(third.pid), 'the stale LOCK was taken over');
  assert.equal(await third.metric('ringlog_store_replayed_records_total'), 2 * N, 'every acknowledged record is replayed from the WAL');
  const q = await queryOk(data);
  assert.equal(q.records.length, 2 * N);
  // Both bench runs numbered their connections' messages 0…N/CONNS-1: each (conn, seq) appears exactly twice.
  const pairs = new Map<string, number>();
  for (const r of q.records) {
    const k = `${r.fields?.['bench@32473.conn']}/${r.fields?.['bench@32473.seq']}/${r.source.peer}`;
    pairs.set(k, (pairs.get(k) ?? 0) + 1);
  }
  assert.equal(pairs.size, 2 * N, 'no record twice (connection, seq and peer port are unique)');
  const all = perConnection(q.records, CONNS, N);
  const want = expected(CONNS, N);
  for (const c of Object.keys(want)) want[c] = want[c]!.replace(/^(\d+) records, 0 missing, 0 twice/, (_, n: string) => `${2 * Number(n)} records, 0 missing, ${n} twice`);
  assert.deepEqual(all, want, 'each connection of each of the two runs: seqs 0…n-1');
  assert.equal(await third.stop(), 0);
  assert.equal(existsSync(lockFile), false, 'a clean stop removes the LOCK');
});

test('a store of another format version is refused with RL_STORE_VERSION by the server and by ringlog query, and left alone', { timeout: 60_000 }, async () => {
  const { data, config } = setup('store-version');
  const srv = await start(data, config);
  await bench(srv, 1, 1000);
  await srv.waitForMetric('ringlog_store_records_total', 1000, { timeoutMs: 20_000 });
  assert.equal(await srv.stop(), 0);
  const formatFile = path.join(storeDir(data), 'FORMAT');
  const format = readFileSync(formatFile, 'utf8');
  assert.match(format, /^ringlog-store 3\nwal-key [0-9a-f]{32} from 1\n$/);

  writeFileSync(formatFile, 'ringlog-store 4\n');
  const before = readdirSync(storeDir(data)).sort();
  const r = await serveRefused(data);
  assert.equal(r.code, 1, `the server must refuse the store (exit ${r.code})\n${r.stderr}`);
  assert.match(r.stderr, /has format version 4; this ringlog reads versions 1, 2, 3 .*\[RL_STORE_VERSION\]/);
  const q = await queryStore(data);
  assert.equal(q.code, 1, 'ringlog query refuses it too');
  assert.match(q.stderr, /has format version 4; this ringlog reads versions 1, 2, 3 .*\[RL_STORE_VERSION\]/);
  assert.equal(readFileSync(formatFile, 'utf8'), 'ringlog-store 4\n', 'FORMAT is left as it was');
  assert.deepEqual(readdirSync(storeDir(data)).sort(), before, 'nothing was created (no LOCK left behind)');

  // Something that is not a store format at all is refused the same way.
  writeFileSync(formatFile, 'hello\n');
  const r2 = await serveRefused(data);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /does not name a ringlog store format \[RL_STORE_VERSION\]/);

  // Put back, the store opens with every record.
  writeFileSync(formatFile, format);
  const q2 = await queryOk(data);
  assert.equal(q2.records.length, 1000);
});

/** RFC 5424 lines in the fixture's partitions (2026-01-02, 10:00 and 11:00 UTC), each with a token of its own: `${tag}tok${i in hex}x`. */
function fixtureLines(tag: string, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) {
    const hour = 10 + (i % 2);
    out += `<14>1 2026-01-02T${hour}:${String(i % 60).padStart(2, '0')}:30.000Z host${i % 3} app${i % 2} ${2000 + i} - - order ${i} done ${tag}tok${i.toString(16)}x\n`;
  }
  return out;
}

test('a version 1 store (bloom filters, by an earlier ringlog) is read as it is; a server moves it to version 3, and both kinds of filter serve queries', { timeout: 60_000 }, async () => {
  const { data } = setup('store-v1');
  cpSync(path.resolve('test/fixtures/store-v1/store'), storeDir(data), { recursive: true });
  const formatFile = path.join(storeDir(data), 'FORMAT');
  assert.equal(readFileSync(formatFile, 'utf8'), 'ringlog-store 1\n');

  // Read-only: every record, and a needle found through a bloom filter (the other block skipped).
  assert.equal((await queryOk(data)).records.length, 400);
  const old = await queryOk(data, ['v1tok1fx']);
  assert.deepEqual(old.records.map((r) => r.message), ['order 31 done v1tok1fx']);
  assert.equal(old.stats.skipped_by_index, 1, `the other block is skipped by its bloom filter: ${JSON.stringify(old.stats)}`);
  assert.equal(readFileSync(formatFile, 'utf8'), 'ringlog-store 1\n', 'a reader leaves the version as it is');

  // While another server holds the store (a live pid in LOCK: this process), a new one is
  // refused and leaves the version alone: the other server may be one that reads only version 1.
  const lockFile = path.join(storeDir(data), 'LOCK');
  writeFileSync(lockFile, `${process.pid}\n`);
  const refused = await serveRefused(data);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /\[RL_STORE_LOCKED\]/);
  assert.equal(readFileSync(formatFile, 'utf8'), 'ringlog-store 1\n', 'a server that did not get the LOCK leaves the version as it is');
  rmSync(lockFile);

  // A server (retention off: the records are from January) appends to the same partitions.
  const config = writeConfig(path.join(path.dirname(data), 'v1.json'), { store: { retention: { maxAge: 0 } } });
  const srv = await start(data, config);
  assert.match(readFileSync(formatFile, 'utf8'), /^ringlog-store 3\nwal-key [0-9a-f]{32} from \d+\n$/, 'a server moves the store to version 3, with a WAL key');
  const sock = net.connect(srv.address('tcp').port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => sock.on('error', reject).end(fixtureLines('v2', 300), () => resolve()));
  await srv.waitForMetric('ringlog_store_records_total', 300, { timeoutMs: 20_000 });
  assert.equal(await srv.stop(), 0);

  // Each index file now holds the old bloom entry and the new fuse one.
  for (const part of ['2026-01-02T10', '2026-01-02T11']) {
    const idx = readIndex(readFileSync(path.join(storeDir(data), 'partitions', part, '000001.idx')));
    assert.equal(idx.damage, 'none');
    assert.deepEqual(idx.entries.map((e) => e.filter.constructor.name), ['BloomFilter', 'FuseFilter'], part);
  }
  assert.equal((await queryOk(data)).records.length, 700);
  // A needle through each kind of filter, and one no record has (v2tok12c: record 300 was never sent).
  for (const [needle, messages] of [['v1tok1fx', ['order 31 done v1tok1fx']], ['v2tok1fx', ['order 31 done v2tok1fx']], ['v2tok12cx', []]] as const) {
    const q = await queryOk(data, [needle]);
    assert.deepEqual(q.records.map((r) => r.message), messages, needle);
  }
});
