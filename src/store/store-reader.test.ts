/**
 * StoreReader against a store written by the real Store (WAL, worker thread, blocks,
 * commits), with small blocks and commits so that there are many blocks in several
 * hourly partitions, records written out of time order, and the last records still in
 * the WAL only. Every query is checked against an oracle over the records as parsed
 * (recordAt), and gives the same answer before and after the WAL records are committed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '../log.js';
import type { LogRecord } from '../record/record.js';
import type { RecordBatch } from '../record/record-batch.js';
import { storeRoot, type Store } from './store.js';
import { StoreReader, newStats, type ScanQuery, type ScanStats, type TimePoint } from './store-reader.js';
import { readCheckpoint } from './checkpoint.js';
import { listPartitions, listSegments } from './partition.js';
import { readIndex, segmentPaths } from './segment.js';
import { CHECKPOINT_FILE, PARTITIONS_DIR } from './consts.js';
import { parse, recordsOf, rmDir, tempDir, testStore } from './test-helpers.js';

const dataDir = tempDir('ringlog-store-reader-');
const root = storeRoot(dataDir);
const logged: string[] = [];
const log = new Logger('warn', 'logfmt', (l) => logged.push(l));

function openStore(): Store {
  return testStore(dataDir, log);
}

const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const N = 2400;
/** Needle words, each in one record (so in one block). */
const NEEDLES = new Map([1234, 77, 402, 999, 1618, 2001, 2399, 5].map((i, k) => [i, `zebra${k}needle`]));
/** Record i: 9 s apart over 6 hours, each with its own ns within the ms. */
const timeOf = (i: number): TimePoint => ({ ms: T0 + i * 9_000 + (i % 997), ns: (i * 7919) % 1_000_000 });
const ns = (t: TimePoint) => BigInt(t.ms) * 1_000_000n + BigInt(t.ns);

function iso(t: TimePoint): string {
  return new Date(t.ms).toISOString().replace(/Z$/, `${String(t.ns).padStart(6, '0')}Z`);
}

const PHRASES = ['disk full on /var', 'Disk FULL!', 'diskfull alert', 'fullness check', 'all good'];

/** The frame of record i: RFC 5424 with structured data, or (every 10th) a JSON line. */
function frameOf(i: number): { format: 'rfc5424' | 'json'; text: string } {
  const t = iso(timeOf(i));
  const host = `web-${i % 4}`;
  const phrase = PHRASES[i % 5]! + (NEEDLES.has(i) ? ` ${NEEDLES.get(i)}` : '');
  // JSON records have the phrase "fullness check": `full` is a word of some of them only through req.note.
  if (i % 10 === 3) {
    const level = ['error', 'warn', 'info', 'debug'][i % 4];
    return { format: 'json', text: JSON.stringify({ time: t, level, msg: `json rec ${i} ${phrase}`, host, app: 'svc', req: { user: `u${i % 13}`, note: i % 3 === 0 ? 'Disk Full' : 'ok' } }) };
  }
  const pri = (i % 24) * 8 + (i % 8);
  const app = ['api', 'db', 'cron'][i % 3];
  return { format: 'rfc5424', text: `<${pri}>1 ${t} ${host} ${app} ${1000 + (i % 50)} - [req@1 user="u${i % 13}" path="/p/${i % 7}" code="${i % 9}"] rec ${i} ${phrase}` };
}

/** A deterministic shuffle: records reach the store out of time order. */
function shuffled(n: number, seed: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  let x = seed;
  for (let i = n - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = x % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Batches of up to 40 frames of one format, in the given record order. */
function batchesOf(ids: number[]): RecordBatch[] {
  const per = (['rfc5424', 'json'] as const).map((format) => {
    const out: RecordBatch[] = [];
    const mine = ids.filter((i) => frameOf(i).format === format);
    for (let k = 0; k < mine.length; k += 40) {
      out.push(parse(format, mine.slice(k, k + 40).map((i) => frameOf(i).text), { source: { listener: format, transport: 'tcp', peer: '10.0.0.1:5000' } }));
    }
    return out;
  });
  // Interleave the two listeners' batches, as they would arrive.
  const out: RecordBatch[] = [];
  for (let k = 0; k < Math.max(per[0]!.length, per[1]!.length); k++) {
    if (k < per[0]!.length) out.push(per[0]![k]!);
    if (k < per[1]!.length) out.push(per[1]![k]!);
  }
  return out;
}

/** Records still in the WAL when the first round of queries runs: 100 in one hour, and the Unicode probes. */
const WAL_ONLY = Array.from({ length: 100 }, (_, i) => N + i);
const timeOfAny = (i: number): TimePoint => (i < N ? timeOf(i) : { ms: T0 + 3 * 3_600_000 + 1_000 + (i - N) * 7_000, ns: i });
const frameOfAny = (i: number) => (i < N ? frameOf(i) : { format: 'rfc5424' as const, text: `<11>1 ${iso(timeOfAny(i))} late-host api - - - late rec ${i} ${i === N ? 'ÄRGER im Büro' : 'disk FULL'} ${'padding '.repeat(12)}` });

let expected: LogRecord[] = [];
/** Results of every query while WAL_ONLY records were in the WAL, to compare after they are committed. */
const firstRound = new Map<string, string[]>();
let store: Store;

before(async () => {
  store = openStore();
  await store.open();
  const ids = shuffled(N, 42);
  // A Unicode probe committed early (see the case test).
  const committedProbe = parse('rfc5424', [`<11>1 ${iso({ ms: T0 + 60_000, ns: 5 })} late-host api - - - early ÄRGER im Büro`]);
  expected.push(...recordsOf(committedProbe));
  await store.write([committedProbe]);
  for (const b of batchesOf(ids)) {
    expected.push(...recordsOf(b));
    await store.write([b]);
  }
  await store.flush();
  await store.commit();
  const cp = readCheckpoint(join(root, CHECKPOINT_FILE)).checkpoint;
  // The last records: durable in the WAL, not committed (commitBytes is not reached, the interval is an hour).
  const late = parse('rfc5424', WAL_ONLY.map((i) => frameOfAny(i).text));
  expected.push(...recordsOf(late));
  await store.write([late]);
  await store.flush();
  // Wait until the worker has sealed some of them into blocks past the checkpoint (uncommitted: readers must ignore those).
  const deadline = Date.now() + 5_000;
  while (uncommittedBlocks(cp.epoch) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expected = sortByTime(expected);
});

after(async () => {
  await store.close().catch(() => {});
  rmDir(dataDir);
});

function uncommittedBlocks(epoch: number): number {
  let n = 0;
  for (const p of listPartitions(join(root, PARTITIONS_DIR))) {
    for (const no of listSegments(p.path)) {
      for (const e of readIndex(readFileSync(segmentPaths(p.path, no).idx)).entries) if (e.header.epoch > epoch) n++;
    }
  }
  return n;
}

function sortByTime(rs: LogRecord[]): LogRecord[] {
  return rs.slice().sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
}

function scan(q: ScanQuery, stats: ScanStats = newStats()): LogRecord[] {
  const warnings: string[] = [];
  const out = [...StoreReader.open(dataDir, (w) => warnings.push(w)).scan(q, stats)];
  assert.deepEqual(warnings, []);
  return out;
}

const key = (r: LogRecord) => `${r.timestamp}|${r.message}`;

/** Runs q both ways and checks it against the oracle (records of `expected` that pass `pred`, in time order). */
function check(name: string, q: Omit<ScanQuery, 'order'>, pred: (r: LogRecord) => boolean): LogRecord[] {
  const want = expected.filter(pred);
  const limit = q.limit ?? Infinity;
  const oldest = scan({ ...q, order: 'oldest' });
  const newest = scan({ ...q, order: 'newest' });
  assert.deepStrictEqual(oldest, want.slice(0, limit), `${name}: oldest first`);
  assert.deepStrictEqual(newest, want.slice().reverse().slice(0, limit), `${name}: newest first`);
  firstRound.set(name, newest.map(key));
  return newest;
}

/** Whole word, any (ASCII) case, in the message or a field value. */
function hasWord(r: LogRecord, word: string): boolean {
  const re = new RegExp(`(^|[^A-Za-z0-9_\\u0080-\\uffff])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9_\\u0080-\\uffff])`, 'i');
  return re.test(r.message) || Object.values(r.fields).some((v) => re.test(v));
}

test('the store holds many blocks in several partitions, some of them uncommitted, and records still in the WAL', () => {
  const stats = newStats();
  const all = scan({}, stats);
  assert.equal(all.length, N + 1 + WAL_ONLY.length);
  assert.ok(stats.blocks >= 40, `${stats.blocks} committed blocks`);
  assert.equal(stats.walRecords, WAL_ONLY.length, 'the uncommitted records come from the WAL');
  assert.ok(listPartitions(join(root, PARTITIONS_DIR)).length >= 6);
  const cp = readCheckpoint(join(root, CHECKPOINT_FILE)).checkpoint;
  assert.ok(uncommittedBlocks(cp.epoch) > 0, 'blocks past the checkpoint exist (the reader must ignore them)');
});

test('newest-first and oldest-first: every record exactly once, in timestamp order, as parsed', () => {
  const all = check('all', {}, () => true);
  assert.equal(new Set(all.map(key)).size, all.length, 'no record twice');
  for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.timestamp > all[i]!.timestamp);
});

test('time range: from inclusive, to exclusive, to the ns; across partition boundaries', () => {
  const at = (k: number): TimePoint => ({ ms: Number(expected[k]!.timestamp / 1_000_000n), ns: Number(expected[k]!.timestamp % 1_000_000n) });
  for (const [a, b] of [[100, 900], [0, 1], [1500, 2450], [7, 8]] as const) {
    const from = at(a);
    const to = at(b);
    check(`range ${a}-${b}`, { from, to }, (r) => r.timestamp >= ns(from) && r.timestamp < ns(to));
  }
  // One ns past a record's time excludes it from `from`; `to` at a record's time excludes it.
  const t = at(300);
  const next = { ms: t.ms, ns: t.ns + 1 };
  check('from 1 ns past', { from: next, to: at(310) }, (r) => r.timestamp >= ns(next) && r.timestamp < ns(at(310)));
  assert.deepEqual(scan({ from: t, to: t }), [], 'an empty range');
  // An hour exactly: one partition.
  const h0 = { ms: T0 + 2 * 3_600_000, ns: 0 };
  const h1 = { ms: T0 + 3 * 3_600_000, ns: 0 };
  const stats = newStats();
  scan({ from: h0, to: h1 }, stats);
  assert.ok(stats.skippedByTime > stats.blocks / 2, `${stats.skippedByTime} of ${stats.blocks} blocks skipped by time`);
  check('one hour', { from: h0, to: h1 }, (r) => r.timestamp >= ns(h0) && r.timestamp < ns(h1));
  check('open-ended from', { from: at(2000) }, (r) => r.timestamp >= ns(at(2000)));
  check('open-ended to', { to: at(50) }, (r) => r.timestamp < ns(at(50)));
});

test('words: whole words, any case, in the message or a field value; several words must all occur', () => {
  const full = check('word full', { words: ['full'] }, (r) => hasWord(r, 'full'));
  assert.ok(full.some((r) => r.message.includes('FULL')) && !full.some((r) => /diskfull|fullness/.test(r.message) && !hasWord(r, 'full')));
  assert.ok(full.some((r) => !/\bfull\b/i.test(r.message) && r.fields['req.note'] === 'Disk Full'), 'found through a field value (req.note = "Disk Full")');
  check('word FULL', { words: ['FULL'] }, (r) => hasWord(r, 'full'));
  check('phrase disk full', { words: ['disk full'] }, (r) => hasWord(r, 'disk full'));
  check('words disk + var', { words: ['disk', 'VAR'] }, (r) => hasWord(r, 'disk') && hasWord(r, 'var'));
  check('word diskfull', { words: ['diskfull'] }, (r) => hasWord(r, 'diskfull'));
  check('no such word', { words: ['nosuchwordanywhere'] }, () => false);
  check('word in a structured-data value', { words: ['u7'] }, (r) => hasWord(r, 'u7'));
});

test('contains: a case-sensitive substring of the message', () => {
  check('contains FULL', { contains: ['FULL'] }, (r) => r.message.includes('FULL'));
  check('contains isk', { contains: ['isk'] }, (r) => r.message.includes('isk'));
  check('contains two', { contains: ['rec 1', 'good'] }, (r) => r.message.includes('rec 1') && r.message.includes('good'));
  check('contains + word', { contains: ['json'], words: ['full'] }, (r) => r.message.includes('json') && hasWord(r, 'full'));
});

test('fields: host, app, structured data, a JSON field, severity, facility; maxSeverity', () => {
  check('host', { fields: [{ name: 'host', value: 'web-2' }] }, (r) => r.host === 'web-2');
  check('app', { fields: [{ name: 'app', value: 'db' }] }, (r) => r.app === 'db');
  check('procid', { fields: [{ name: 'procid', value: '1007' }] }, (r) => r.procid === '1007');
  check('sd field', { fields: [{ name: 'req@1.user', value: 'u7' }] }, (r) => r.fields['req@1.user'] === 'u7');
  check('sd path (not one word)', { fields: [{ name: 'req@1.path', value: '/p/3' }] }, (r) => r.fields['req@1.path'] === '/p/3');
  // A numeric value: it must not be taken for a severity (regression: fields other than host…msgid had the severity's slot number).
  check('numeric sd field', { fields: [{ name: 'req@1.code', value: '3' }] }, (r) => r.fields['req@1.code'] === '3');
  check('json nested field', { fields: [{ name: 'req.user', value: 'u3' }] }, (r) => r.fields['req.user'] === 'u3');
  check('field value is exact (case)', { fields: [{ name: 'host', value: 'WEB-2' }] }, () => false);
  check('severity', { fields: [{ name: 'severity', value: '3' }] }, (r) => r.severity === 3);
  check('facility', { fields: [{ name: 'facility', value: '20' }] }, (r) => r.facility === 20);
  check('maxSeverity', { maxSeverity: 2 }, (r) => r.severity <= 2);
  check('combined', { fields: [{ name: 'host', value: 'web-1' }, { name: 'app', value: 'api' }], maxSeverity: 5, words: ['disk'] },
    (r) => r.host === 'web-1' && r.app === 'api' && r.severity <= 5 && hasWord(r, 'disk'));
  check('fields + time range', { fields: [{ name: 'host', value: 'web-3' }], from: timeOf(500), to: timeOf(1500) },
    (r) => r.host === 'web-3' && r.timestamp >= ns(timeOf(500)) && r.timestamp < ns(timeOf(1500)));
});

test('limit: the first n in the scan order', () => {
  check('limit 10', { limit: 10 }, () => true);
  check('limit 1 with a word', { limit: 1, words: ['full'] }, (r) => hasWord(r, 'full'));
  check('limit past the matches', { limit: 100_000, fields: [{ name: 'host', value: 'late-host' }] }, (r) => r.host === 'late-host');
  assert.deepEqual(scan({ limit: 0 }), []);
});

test('a needle word in one block: the bloom filters skip at least 90% of the blocks', () => {
  // Several needles: with ~3-4% false positives per block filter, one needle may be unlucky; the mean may not.
  const skipped: number[] = [];
  for (const [i, word] of NEEDLES) {
    const stats = newStats();
    const got = scan({ words: [word] }, stats);
    assert.equal(got.length, 1, word);
    assert.match(got[0]!.message, new RegExp(`rec ${i} `));
    assert.ok(stats.read <= stats.blocks - stats.skippedByIndex);
    assert.ok(stats.skippedByIndex >= 0.8 * stats.blocks, `${word}: ${stats.skippedByIndex} of ${stats.blocks} blocks skipped by the index`);
    skipped.push(stats.skippedByIndex / stats.blocks);
  }
  const mean = skipped.reduce((a, b) => a + b, 0) / skipped.length;
  assert.ok(mean >= 0.9, `on average ${(mean * 100).toFixed(1)}% of the blocks skipped (per needle: ${skipped.map((x) => (x * 100).toFixed(0)).join(', ')}%)`);
  // A needle field value, too.
  const s2 = newStats();
  assert.equal(scan({ fields: [{ name: 'req.user', value: 'nobody' }] }, s2).length, 0);
  assert.ok(s2.skippedByIndex >= 0.8 * s2.blocks, `${s2.skippedByIndex} of ${s2.blocks}`);
});

test('after the WAL records are committed (close, reopen), every query gives the same answer', async () => {
  // Queries whose answer may not depend on where the records are: the first round's, and the Unicode case probes.
  const unicode = () => ({ lower: scan({ words: ['ärger'] }).map(key), upper: scan({ words: ['ÄRGER'] }).map(key) });
  const before = unicode();
  await store.close();
  const stats = newStats();
  scan({}, stats);
  assert.equal(stats.walRecords, 0, 'everything is in blocks now');
  // Re-run queries of the first round (check() holds them to the same oracle) and compare the answers.
  const first = new Map(firstRound);
  firstRound.clear();
  for (const t of RERUN) t();
  assert.equal(firstRound.size, RERUN.length);
  for (const [name, keys] of firstRound) assert.deepEqual(keys, first.get(name), name);
  // Words are case-insensitive the same way wherever the records are (WAL or blocks).
  assert.deepEqual(unicode(), before, 'a non-ASCII word finds the same records in the WAL and in blocks');
  // Case-insensitive for ASCII letters, as the index is: "ÄRGER" is found as written, not as "ärger".
  assert.equal(before.upper.length, 2);
  assert.deepEqual(before.lower, []);
  // Reopening the store (recovery) changes nothing.
  store = openStore();
  await store.open();
  assert.deepEqual(scan({ order: 'oldest' }), expected);
  await store.close();
  assert.deepEqual(logged.filter((l) => /level=(warn|error)/.test(l)), [], 'the store logged no warning');
});

/** The oracle-checked queries, again, for the after-commit round. */
const RERUN: (() => void)[] = [
  () => void check('all', {}, () => true),
  () => void check('word full', { words: ['full'] }, (r) => hasWord(r, 'full')),
  () => void check('phrase disk full', { words: ['disk full'] }, (r) => hasWord(r, 'disk full')),
  () => void check('contains FULL', { contains: ['FULL'] }, (r) => r.message.includes('FULL')),
  () => void check('host', { fields: [{ name: 'host', value: 'web-2' }] }, (r) => r.host === 'web-2'),
  () => void check('limit past the matches', { limit: 100_000, fields: [{ name: 'host', value: 'late-host' }] }, (r) => r.host === 'late-host'),
  () => void check('maxSeverity', { maxSeverity: 2 }, (r) => r.severity <= 2),
];
