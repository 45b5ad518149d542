/**
 * The store worker's helper threads dying in a running store (store.testFaults makes
 * the parse or the seal thread exit, as a crash would): the store reports itself failed
 * (RL_STORE_FAILED: the server stops), and after a restart every acknowledged record is
 * in the store exactly once, replayed from the WAL.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '../log.js';
import { StoreReader } from './store-reader.js';
import { parse, rmDir, tempDir, testStore } from './test-helpers.js';
import type { ThreadFaults } from './store-worker.js';

const quiet = new Logger('error', 'logfmt', () => {});
const dirs: string[] = [];
after(() => dirs.forEach(rmDir));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const T0 = Date.UTC(2026, 10, 22, 9, 0, 0);

function lines(k: number): string[] {
  return Array.from({ length: 40 }, (_, i) => {
    const seq = k * 40 + i;
    return `<14>1 ${new Date(T0 + seq).toISOString()} host${seq % 3} app - - [m@1 seq="${seq}"] record ${seq} ${'filler '.repeat(seq % 12)}`;
  });
}

const cases: { name: string; faults: ThreadFaults }[] = [
  { name: 'parse', faults: { parseThreadExitAfter: 5 } },
  { name: 'seal', faults: { sealThreadExitAfter: 3 } },
];

for (const { name, faults } of cases) {
  test(`a ${name} thread that dies fails the store; after a restart every acknowledged record is there once`, async () => {
    const dataDir = tempDir(`threads-${name}-`);
    dirs.push(dataDir);
    // A small maxPending: writes after the failure fill it soon (nothing is consumed any more).
    const s1 = testStore(dataDir, quiet, { sealThread: true, parseThread: true, testFaults: faults, maxPending: 512 << 10 });
    let fatal: Error | null = null;
    let fatalCalls = 0;
    let ackedBeforeFailure = 0;
    const acked = new Set<number>();
    s1.onFatal((err) => {
      fatalCalls++;
      fatal ??= err;
      ackedBeforeFailure = acked.size;
    });
    await s1.open();
    let k = 0;
    let refused: unknown = null;
    // Write until the failure shows, and past it: the WAL still acknowledges until the
    // store's pending bound is full, then write() refuses (it does not wait for ever).
    for (; k < 3_000; k++) {
      const b = parse('rfc5424', lines(k));
      const batchNo = k;
      b.ack = () => {
        for (let i = 0; i < 40; i++) acked.add(batchNo * 40 + i);
      };
      try {
        await s1.write([b]);
      } catch (err) {
        refused = err;
        break;
      }
      await s1.flush();
      if (k % 10 === 9) await sleep(5);
    }
    assert.equal((refused as { code?: string } | null)?.code, 'RL_STORE_FAILED', `write() refuses once the failed store's pending bound is full (${k} batches written)`);
    assert.ok(fatal !== null, `the store failed (${k} batches written)`);
    assert.match(String((fatal as Error).message), new RegExp(`store worker failed: .*${name} thread`), 'the cause is named');
    assert.equal((fatal as { code?: string }).code, 'RL_STORE_FAILED');
    await s1.close();
    assert.equal(fatalCalls, 1, 'the failure is reported once');
    assert.ok(ackedBeforeFailure >= 40 * 5, `records were acknowledged before the failure (${ackedBeforeFailure})`);

    const s2 = testStore(dataDir, quiet);
    await s2.open();
    await s2.commit();
    await s2.close();
    const seen = new Map<number, number>();
    for (const r of StoreReader.open(dataDir, () => {}).scan({ order: 'oldest' })) {
      const seq = Number(r.fields['m@1.seq']);
      seen.set(seq, (seen.get(seq) ?? 0) + 1);
    }
    const missing = [...acked].filter((s) => !seen.has(s));
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} acknowledged records missing`);
    const twice = [...seen].filter(([, n]) => n > 1).map(([s]) => s);
    assert.deepEqual(twice.slice(0, 10), [], 'no record stored twice');
  });
}
