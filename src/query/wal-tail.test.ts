/**
 * WalTail (live tail's reading side) against a real store: for every query, the records
 * it delivers are exactly those an oracle finds (the parsed records, evaluate.ts),
 * with the batch test (plan.ts blockMayMatch over each batch's tokens, time range and
 * masks) and without it; and the batch test does rule out the batches a needle is not
 * in, so their records are never made.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '../log.js';
import { recordToJson } from '../record/record-json.js';
import { storeRoot, type Store } from '../store/store.js';
import { parse, recordsOf, rmDir, tempDir, testStore } from '../store/test-helpers.js';
import type { RecordBatch } from '../record/record-batch.js';
import type { LogRecord } from '../record/record.js';
import { WalTail } from './wal-tail.js';
import { matches } from './evaluate.js';
import { parseQuery } from './parser.js';
import type { Node } from './ast.js';

const dataDir = tempDir('ringlog-wal-tail-');
after(() => rmDir(dataDir));

const T0 = Date.UTC(2026, 10, 20, 8, 0, 0);
const iso = (i: number) => new Date(T0 + i * 1000).toISOString();

/** Batch k's records: RFC 5424, JSON (with escaped characters) or logfmt by k; needle words in a few batches. */
function batchOf(k: number): RecordBatch {
  const lines: string[] = [];
  for (let j = 0; j < 25; j++) {
    const i = k * 25 + j;
    const needle = i % 97 === 0 ? ` Zebra${i}Needle` : '';
    if (k % 3 === 0) {
      lines.push(`<${(i % 24) * 8 + (i % 8)}>1 ${iso(i)} web-${k % 4} ${['api', 'db'][k % 2]} ${100 + j} - [req@1 user="u${i % 13}" code="${500 + (i % 3)}"] rec ${i} disk FULL on /var${needle}`);
    } else if (k % 3 === 1) {
      // "\\u00e9" is é and "\\u0065rror" is "error", escaped in the JSON text only.
      lines.push(JSON.stringify({ time: iso(i), level: ['error', 'warn', 'info'][i % 3], msg: `json ${i} caf\u00e9${needle}`, host: `web-${k % 4}`, req: { user: `u${i % 13}` } })
        .replace('caf\u00e9', 'caf\\u00e9').replace('"level":"error"', '"level":"\\u0065rror"'));
    } else {
      lines.push(`ts=${iso(i)} level=${['debug', 'error'][i % 2]} host=web-${k % 4} msg="logfmt ${i} all good${needle}" user=u${i % 13}`);
    }
  }
  return parse(k % 3 === 0 ? 'rfc5424' : k % 3 === 1 ? 'json' : 'logfmt', lines);
}

/** Writes batches 0…59 into the store and makes them durable: their records, as parsed. */
async function writeBatches(store: Store): Promise<LogRecord[]> {
  const all: LogRecord[] = [];
  for (let k = 0; k < 60; k++) {
    const b = batchOf(k);
    all.push(...recordsOf(b));
    await store.write([b]);
  }
  await store.flush();
  return all;
}

const QUERIES = [
  'zebra97needle', 'ZEBRA485NEEDLE', 'zebra9999needle', 'café', 'error', 'level:error', 'severity:warning', 'host:web-2',
  '"disk full"', 'disk AND host:web-1', 'zebra194needle OR zebra291needle', 'user:u7', 'req.user:u7', 'req@1.code:>=502',
  'NOT json', '/ZEBRA\\d+needle/i', 'zebra*needle', 'app:db AND u3',
  'time:<2020-01-01', 'error OR time:<2020-01-01', 'time:[2026-11-20T08:10:00Z TO 2026-11-20T08:12:00Z] AND host:web-1',
];

test('every query gets exactly the oracle\'s records, with the batch test and without; with only queries that can rule a batch out, every batch is tested', async () => {
  const store = testStore(dataDir, new Logger('warn', 'logfmt', () => {}));
  await store.open();
  const root = storeRoot(dataDir);
  const withTest = new WalTail(root);
  const without = new WalTail(root, { batchTest: false });
  const queries = new Map<number, Node>(QUERIES.map((q, id) => [id, parseQuery(q).root]));
  // The queries that can rule a batch out, alone: with them, every batch is tested.
  const unrulable = ['NOT json', '/ZEBRA\\d+needle/i', 'zebra*needle', 'req@1.code:>=502'];
  const rulable = new Map([...queries].filter(([id]) => !unrulable.includes(QUERIES[id]!)));
  const tested = new WalTail(root);
  // Subscribed before the records are written: they start at the end of the WAL.
  withTest.poll(queries);
  without.poll(queries);
  tested.poll(rulable);
  const all = await writeBatches(store);
  const a = withTest.poll(queries);
  const b = without.poll(queries);
  const c = tested.poll(rulable);
  await store.close();
  for (const [id, node] of queries) {
    const want = all.filter((r) => matches(node, r)).map(recordToJson);
    assert.deepEqual(b.matches.get(id) ?? [], want, `without the batch test: ${QUERIES[id]}`);
    assert.deepEqual(a.matches.get(id) ?? [], want, `with the batch test: ${QUERIES[id]}`);
    if (rulable.has(id)) assert.deepEqual(c.matches.get(id) ?? [], want, `with the batch test, rulable queries only: ${QUERIES[id]}`);
  }
  assert.equal(tested.batches.tested, 60);
  assert.ok((a.matches.get(QUERIES.indexOf('café')) ?? []).length === 500, 'the escaped é is found');
  assert.ok((a.matches.get(QUERIES.indexOf('zebra97needle')) ?? []).length === 1);
  // NOT and regex queries cannot rule a batch out: with them subscribed, no batch is tested.
  assert.equal(withTest.batches.tested, 0);
  assert.equal(without.batches.tested, 0);
});

test('needle queries alone: batches without the needle are ruled out, and the needles still come', async () => {
  const dir = tempDir('ringlog-wal-tail-needle-');
  try {
    const store = testStore(dir, new Logger('warn', 'logfmt', () => {}));
    await store.open();
    const tail = new WalTail(storeRoot(dir));
    const words = ['zebra97needle', 'ZEBRA485NEEDLE', 'host:web-3 AND zebra679needle', 'level:emergency'];
    const queries = new Map<number, Node>(words.map((q, id) => [id, parseQuery(q).root]));
    tail.poll(queries);
    const all = await writeBatches(store);
    const got = tail.poll(queries);
    await store.close();
    for (const [id, node] of queries) {
      assert.deepEqual(got.matches.get(id) ?? [], all.filter((r) => matches(node, r)).map(recordToJson), words[id]);
    }
    assert.equal(got.matches.get(0)?.length, 1);
    assert.equal(got.matches.get(1)?.length, 1);
    assert.equal(got.matches.get(2)?.length, 1);
    assert.equal(tail.batches.tested, 60);
    // Only the batches holding a needle (97, 485, 679: batches 3, 19, 27) or an emergency (severity 0) are made into records.
    const emergency = new Set(all.map((r, i) => (r.severity === 0 ? Math.floor(i / 25) : -1)).filter((k) => k >= 0));
    const needed = new Set([3, 19, 27, ...emergency]);
    assert.equal(tail.batches.ruledOut, 60 - needed.size, `ruled out ${tail.batches.ruledOut} of 60; needed ${[...needed].sort((x, y) => x - y).join(',')}`);
  } finally {
    rmDir(dir);
  }
});
