/**
 * The ack point, through the real Store (WAL writer, worker thread): a batch's ack()
 * runs only once its WAL entry is fdatasync'd, never when write() returns; with
 * fsync "interval", not before the interval's sync; acks come in write order; and the
 * records acknowledged are in the WAL file at that moment. Also: the pipeline leaves
 * acks to an acking output (the store), and acks itself when there is none.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metrics } from '../metrics/metrics.js';
import { Logger } from '../log.js';
import { Pipeline, type Output } from '../pipeline/pipeline.js';
import type { RecordBatch } from '../record/record-batch.js';
import type { FrameBatch } from '../pipeline/batch.js';
import { Store, checkFormat, storeRoot, type StoreOptions } from './store.js';
import { FILE_HEADER_SIZE, FORMAT_FILE, FORMAT_VERSION, STORE_VERSION, WAL_DIR, WAL_FILE_MAGIC, WAL_KEYED_VERSION } from './consts.js';
import { walFileName } from './wal-reader.js';
import { parse, rmDir, tempDir } from './test-helpers.js';

const quiet = new Logger('error', 'logfmt', () => {});
const dirs: string[] = [];
after(() => dirs.forEach(rmDir));

function options(dataDir: string, o: Partial<StoreOptions> = {}): StoreOptions {
  return {
    dataDir, fsync: 'always', fsyncIntervalMs: 10, compressionLevel: 1, blockTarget: 1 << 20, commitBytes: 8 << 20,
    commitIntervalMs: 3_600_000, retention: { maxAgeMs: 0, maxBytes: 0, checkIntervalMs: 3_600_000 }, maxPending: 64 << 20, sealThread: true, parseThread: true, ...o,
  };
}

function batch(i: number): RecordBatch {
  return parse('rfc5424', [`<134>1 2026-11-22T10:00:00.000Z h app - - - record ${i}`], { received: Date.now() });
}

function walBytes(dataDir: string): number {
  const dir = join(storeRoot(dataDir), WAL_DIR);
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('fsync interval: ack() waits for the interval\'s fdatasync, then runs in write order with the entry in the WAL', async () => {
  const dataDir = tempDir('ringlog-store-ack-');
  dirs.push(dataDir);
  const metrics = new Metrics({ processMetrics: false });
  const store = new Store(options(dataDir, { fsync: 'interval', fsyncIntervalMs: 600 }), metrics, quiet);
  await store.open();
  const empty = walBytes(dataDir);
  const acked: number[] = [];
  let walAtFirstAck = -1;
  const t0 = performance.now();
  let firstAckMs = -1;
  for (let i = 0; i < 3; i++) {
    const b = batch(i);
    b.ack = () => {
      if (acked.length === 0) {
        firstAckMs = performance.now() - t0;
        walAtFirstAck = walBytes(dataDir);
      }
      acked.push(i);
    };
    await store.write([b]);
  }
  await sleep(150);
  assert.deepEqual(acked, [], 'nothing acknowledged before the sync, although write() has returned');
  assert.equal(await metrics.registry.getSingleMetricAsString('ringlog_store_records_total').then((t) => /ringlog_store_records_total 0\b/.test(t)), true);
  await store.flush();
  assert.deepEqual(acked, [0, 1, 2], 'acks in write order once durable');
  assert.ok(firstAckMs >= 300, `acknowledged after the interval's sync (${firstAckMs.toFixed(0)} ms), not at once`);
  assert.ok(walAtFirstAck > empty, 'the entries were in the WAL file when the first ack ran');
  await store.close();
});

test('fsync always: each write is acknowledged once its fdatasync is done; the sync count grows with the acks', async () => {
  const dataDir = tempDir('ringlog-store-ack-');
  dirs.push(dataDir);
  const metrics = new Metrics({ processMetrics: false });
  const store = new Store(options(dataDir), metrics, quiet);
  await store.open();
  const syncs = async () => Number(/ringlog_store_wal_syncs_total (\d+)/.exec(await metrics.registry.getSingleMetricAsString('ringlog_store_wal_syncs_total'))?.[1] ?? 0);
  for (let i = 0; i < 5; i++) {
    const before = await syncs();
    let ackedAfter = -1;
    const b = batch(i);
    b.ack = () => void syncs().then((n) => (ackedAfter = n));
    await store.write([b]);
    await store.flush();
    await sleep(5);
    assert.ok(ackedAfter > before, `ack ${i} came after a new fdatasync (${before} → ${ackedAfter})`);
  }
  await store.close();
});

test('the pipeline acks batches itself when no output acks, and leaves it to an acking output (the store)', async () => {
  const written: FrameBatch[] = [];
  const plain: Output = { name: 'plain', write: (b) => void written.push(...b), close: async () => {} };
  const p1 = new Pipeline({ highWatermark: 1 << 20, lowWatermark: 1 << 10 }, [plain], new Metrics({ processMetrics: false }), quiet);
  let acked = 0;
  const b1 = batch(1);
  b1.ack = () => acked++;
  p1.push(b1);
  await p1.drain();
  assert.equal(acked, 1, 'acked once every output has written it');
  await p1.close();

  const holding: Output = { name: 'store-like', acks: true, write: (b) => void written.push(...b), close: async () => {} };
  const p2 = new Pipeline({ highWatermark: 1 << 20, lowWatermark: 1 << 10 }, [plain, holding], new Metrics({ processMetrics: false }), quiet);
  const b2 = batch(2);
  b2.ack = () => acked++;
  p2.push(b2);
  await p2.drain();
  assert.equal(acked, 1, 'an acking output decides when: the pipeline does not ack');
  await p2.close();
});

test('FORMAT and the WAL key: a new store\'s key covers every WAL file; an older store\'s, the files named past those it has; a FORMAT without the key its WAL files were written with is refused', () => {
  const made: string[] = [];
  const root = (format: string | null, files: [number, number][]) => {
    const r = tempDir('ringlog-format-');
    made.push(r);
    mkdirSync(join(r, WAL_DIR), { recursive: true });
    if (format !== null) writeFileSync(join(r, FORMAT_FILE), format);
    for (const [lsn, version] of files) {
      const h = Buffer.alloc(FILE_HEADER_SIZE);
      h.writeUInt32LE(WAL_FILE_MAGIC, 0);
      h.writeUInt32LE(version, 4);
      writeFileSync(join(r, WAL_DIR, walFileName(lsn)), h);
    }
    return r;
  };
  try {
    const fresh = root(null, []);
    const key = checkFormat(fresh, 'write')!;
    assert.equal(key.from, 1);
    assert.equal(readFileSync(join(fresh, FORMAT_FILE), 'utf8'), `ringlog-store ${STORE_VERSION}\nwal-key ${key.key.toString('hex')} from 1\n`);
    assert.deepEqual(checkFormat(fresh, 'read'), key, 'read back as written');
    // A version 2 store with WAL files 1 and 0x40: the key covers files from 0x41 on.
    const older = root('ringlog-store 2\n', [[1, FORMAT_VERSION], [0x40, FORMAT_VERSION]]);
    assert.equal(checkFormat(older, 'read'), null, 'a reader leaves it as it is');
    assert.equal(checkFormat(older, 'write')!.from, 0x41);
    // Keyed WAL files, and a FORMAT that lost the key (restored from before, or edited).
    const lost = root(`ringlog-store ${STORE_VERSION}\n`, [[1, FORMAT_VERSION], [7, WAL_KEYED_VERSION]]);
    assert.throws(() => checkFormat(lost, 'write'), (err: Error & { code?: string }) => err.code === 'RL_STORE_OPEN' && /written with a WAL key/.test(err.message));
    assert.equal(readFileSync(join(lost, FORMAT_FILE), 'utf8'), `ringlog-store ${STORE_VERSION}\n`, 'left as it was');
  } finally {
    for (const r of made) rmDir(r);
  }
});
