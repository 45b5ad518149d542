/**
 * Retention of the store, with the real server (store.retention.checkInterval 1 s and
 * commitInterval 50 ms from a config file; --retention-age / --retention-size flags).
 *
 * Each test first fills a store with retention off and stops it, so that the bytes of
 * every partition are known; then a server with retention on must delete exactly the
 * partitions (segments) it should, count exactly their bytes in
 * ringlog_store_retention_deleted_bytes_total{reason}, keep the rest, and
 * `ringlog query` must return exactly the records of what was kept.
 *
 *  - by age: records 3–5 hours old go into old hourly partitions; with
 *    --retention-age 2h those are deleted, the last two hours kept; old records that
 *    arrive later are deleted at a later check;
 *  - by size: six hourly partitions; with --retention-size set between the newest
 *    three and the newest four, the three oldest are deleted, the newest three kept;
 *  - an idle server (no records arriving) applies retention by age too.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { RinglogServer } from '../../bench/lib/server.js';
import { partitionName, partitionOf } from '../../src/store/partition.js';
import { makeTempDir, removeDir, sleep } from './helpers.js';
import {
  HOUR, checkRecords, keyOf, messageFor, missingKeys, partitionBytes, queryOk, sendRecords, startStoreServer, storeDir, writeConfig, type SentRecord,
} from './store-helpers.js';

const servers: RinglogServer[] = [];
const dirs: string[] = [];

after(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  for (const d of dirs) removeDir(d);
});

function setup(name: string): { data: string; config: string; sent: Map<string, SentRecord>; rec: (conn: number, seq: number, tsMs: number) => SentRecord } {
  const dir = makeTempDir(name);
  dirs.push(dir);
  const config = writeConfig(path.join(dir, 'store.json'), {
    store: { blockSize: '16KiB', commitInterval: '50ms', retention: { checkInterval: '1s' } },
  });
  const sent = new Map<string, SentRecord>();
  const rec = (conn: number, seq: number, tsMs: number) => {
    const r = { conn, seq, tsMs, host: `host-${seq % 3}`, message: messageFor(conn, seq) };
    sent.set(keyOf(conn, seq), r);
    return r;
  };
  return { data: path.join(dir, 'data'), config, sent, rec };
}

async function start(data: string, config: string, args: string[]): Promise<RinglogServer> {
  const srv = await startStoreServer(data, { configFile: config, args });
  servers.push(srv);
  return srv;
}

/** Sends, waits until the store has made them durable and committed them, stops cleanly. */
async function fillAndStop(data: string, config: string, records: SentRecord[]): Promise<void> {
  const srv = await start(data, config, ['--retention-age', '0']);
  await sendRecords(srv, records);
  await srv.waitForMetric('ringlog_store_records_total', records.length, { timeoutMs: 20_000 });
  assert.equal(await srv.stop(), 0, srv.stderrTail());
}

const partOf = (r: SentRecord) => partitionName(partitionOf(r.tsMs));
const sum = (m: Map<string, number>, names: Iterable<string>) => [...names].reduce((a, n) => a + (m.get(n) ?? 0), 0);

/** The query returns exactly `want` (by key), each once, as sent. */
async function assertStoreHolds(data: string, sent: Map<string, SentRecord>, want: SentRecord[], what: string): Promise<void> {
  const q = await queryOk(data);
  const c = checkRecords(q.records, sent);
  assert.deepEqual({ garbled: c.garbled, duplicates: c.duplicates, disorder: c.disorder }, { garbled: [], duplicates: [], disorder: [] }, what);
  const wantKeys = new Set(want.map((r) => keyOf(r.conn, r.seq)));
  const missing = missingKeys(wantKeys, c.seen);
  const extra = [...c.seen].filter((k) => !wantKeys.has(k));
  assert.deepEqual({ missing: missing.count, extra: extra.length }, { missing: 0, extra: 0 },
    `${what}: missing ${missing.first.join(' ')}; should have been deleted: ${extra.slice(0, 8).join(' ')}`);
}

test('retention by age: partitions older than --retention-age are deleted (their bytes counted), newer ones kept, and later checks delete old records that arrive later', {
  timeout: 60_000,
}, async () => {
  const { data, config, sent, rec } = setup('retention-age');
  const now = Date.now();
  const old: SentRecord[] = [];
  const fresh: SentRecord[] = [];
  let seq = 0;
  // Each old hour's records inside that hour (10 minutes past it, for 5 minutes), whatever the time of day.
  const hourStart = Math.floor(now / HOUR) * HOUR;
  for (const hoursAgo of [5, 4, 3]) for (let i = 0; i < 300; i++) old.push(rec(1, seq++, hourStart - hoursAgo * HOUR + 10 * 60_000 + i * 1000));
  for (let i = 0; i < 300; i++) fresh.push(rec(2, i, now - 90 * 60_000 + i * 1000));
  for (let i = 0; i < 300; i++) fresh.push(rec(2, 300 + i, now - 5 * 60_000 + i * 100));
  const oldParts = new Set(old.map(partOf));
  const freshParts = new Set(fresh.map(partOf));
  assert.equal(oldParts.size, 3);
  await fillAndStop(data, config, [...old, ...fresh]);
  const before = partitionBytes(data);
  assert.deepEqual([...before.keys()].sort(), [...oldParts, ...freshParts].sort(), 'with retention off every hour has its partition');
  const oldBytes = sum(before, oldParts);

  const srv = await start(data, config, ['--retention-age', '2h']);
  // Retention runs after a commit: records of the last minutes make one.
  const trigger: SentRecord[] = [];
  for (let i = 0; i < 50; i++) trigger.push(rec(3, i, Date.now() - 60_000 + i));
  await sendRecords(srv, trigger);
  await srv.waitForMetric('ringlog_store_retention_deleted_bytes_total', oldBytes, { labels: { reason: 'age' }, timeoutMs: 15_000 });
  assert.equal(await srv.metric('ringlog_store_retention_deleted_bytes_total', { reason: 'age' }), oldBytes,
    'the deleted bytes are exactly those of the three old partitions');
  assert.equal(await srv.metric('ringlog_store_retention_deleted_bytes_total', { reason: 'size' }), 0);
  // The trigger records may open the current hour's partition (sent just after the
  // hour), and may not have yet: retention runs after the first commit, which need not
  // hold all of them (a CI run at 13:00 failed on that).
  const now2 = [...partitionBytes(data).keys()].sort();
  const kept = new Set([...freshParts, ...trigger.map(partOf).filter((p) => now2.includes(p))]);
  assert.deepEqual(now2, [...kept].sort(), 'the old partitions are gone, the recent ones are all there');
  assert.equal(await srv.metric('ringlog_store_partitions'), kept.size, 'ringlog_store_partitions');
  for (const p of oldParts) assert.match(srv.stderr(), new RegExp(`retention: deleted a partition older than maxAge.*partition=${p}`), `deleting ${p} is logged`);

  // Old records keep arriving (a host with a wrong clock, a replayed file): they are
  // stored, in their old partition, and a later check deletes it again.
  const late: SentRecord[] = [];
  for (let i = 0; i < 100; i++) late.push(rec(4, i, now - 4 * HOUR + i * 1000));
  const lateDir = path.join(storeDir(data), 'partitions', partOf(late[0]!));
  await sendRecords(srv, late);
  await srv.waitForMetric('ringlog_store_records_total', trigger.length + late.length, { timeoutMs: 15_000 });
  const trickle: SentRecord[] = [];
  const deadline = Date.now() + 15_000;
  while (existsSync(lateDir) || (await srv.metric('ringlog_store_retention_deleted_bytes_total', { reason: 'age' })) <= oldBytes) {
    assert.ok(Date.now() < deadline, `the late records' partition ${lateDir} is still there after 15 s of checks every second`);
    const r = rec(5, trickle.length, Date.now());
    trickle.push(r);
    await sendRecords(srv, [r]);
    await sleep(250);
  }
  assert.equal(await srv.stop(), 0, srv.stderrTail());
  await assertStoreHolds(data, sent, [...fresh, ...trigger, ...trickle], 'after retention by age');
});

test('retention by size: the oldest segments are deleted until the store is under --retention-size, the newest kept', { timeout: 60_000 }, async () => {
  const { data, config, sent, rec } = setup('retention-size');
  // Six hourly partitions (one segment each), 2026-11-01T00 … T05 (retention by age is off).
  const base = Date.UTC(2026, 10, 1);
  const byHour: SentRecord[][] = [];
  for (let h = 0; h < 6; h++) {
    const recs: SentRecord[] = [];
    for (let i = 0; i < 400; i++) recs.push(rec(h, i, base + h * HOUR + i * 5000));
    byHour.push(recs);
  }
  await fillAndStop(data, config, byHour.flat());
  const before = partitionBytes(data);
  const names = [...before.keys()].sort();
  assert.equal(names.length, 6);
  const size = names.map((n) => before.get(n)!);
  // Room for the newest three and half of the fourth newest: the three oldest must go.
  const limit = size[3]! + size[4]! + size[5]! + Math.floor(size[2]! / 2);
  const deleted = size[0]! + size[1]! + size[2]!;

  const srv = await start(data, config, ['--retention-age', '0', '--retention-size', String(limit)]);
  // A few records for the newest hour make a commit, after which retention runs.
  const trigger: SentRecord[] = [];
  for (let i = 0; i < 20; i++) trigger.push(rec(9, i, base + 5 * HOUR + 2_500_000 + i));
  await sendRecords(srv, trigger);
  await srv.waitForMetric('ringlog_store_retention_deleted_bytes_total', deleted, { labels: { reason: 'size' }, timeoutMs: 15_000 });
  await sleep(200);
  assert.equal(await srv.metric('ringlog_store_retention_deleted_bytes_total', { reason: 'size' }), deleted,
    'exactly the three oldest segments were deleted, no more');
  assert.equal(await srv.metric('ringlog_store_retention_deleted_bytes_total', { reason: 'age' }), 0);
  const after = partitionBytes(data);
  assert.deepEqual([...after.keys()].sort(), names.slice(3), 'the three newest partitions are kept');
  const total = [...after.values()].reduce((a, b) => a + b, 0);
  assert.ok(total <= limit, `the store (${total} B) is under --retention-size (${limit} B)`);
  assert.ok(total + size[2]! > limit, 'and it would not be with the last deleted segment: nothing more than needed was deleted');
  assert.equal(await srv.metric('ringlog_store_disk_bytes'), total, 'ringlog_store_disk_bytes is what is on disk');
  for (const n of names.slice(0, 3)) assert.match(srv.stderr(), new RegExp(`retention: deleted the oldest segment to stay under maxSize.*partition=${n}`));
  assert.equal(await srv.stop(), 0, srv.stderrTail());
  await assertStoreHolds(data, sent, [...byHour[3]!, ...byHour[4]!, ...byHour[5]!, ...trigger], 'after retention by size');
});

test('retention by age also applies on an idle server (restarted with --retention-age, no records arriving)', { timeout: 30_000 }, async () => {
  const { data, config, sent, rec } = setup('retention-idle');
  const now = Date.now();
  const old: SentRecord[] = [];
  const fresh: SentRecord[] = [];
  for (let i = 0; i < 200; i++) old.push(rec(1, i, now - 5 * HOUR + i * 1000));
  for (let i = 0; i < 200; i++) fresh.push(rec(2, i, now - 10 * 60_000 + i * 1000));
  await fillAndStop(data, config, [...old, ...fresh]);
  const oldBytes = sum(partitionBytes(data), new Set(old.map(partOf)));

  const srv = await start(data, config, ['--retention-age', '2h']);
  // Three check intervals, and nothing sent.
  await sleep(3_500);
  const deleted = await srv.metric('ringlog_store_retention_deleted_bytes_total', { reason: 'age' });
  const parts = [...partitionBytes(data).keys()];
  assert.equal(await srv.stop(), 0, srv.stderrTail());
  assert.deepEqual({ deleted, parts: parts.sort() }, { deleted: oldBytes, parts: [...new Set(fresh.map(partOf))].sort() },
    'records older than --retention-age are deleted within a few check intervals even when no records arrive');
  await assertStoreHolds(data, sent, fresh, 'idle retention');
});
