/**
 * Nothing acknowledged is lost on kill -9 (docs/storage.md, "Commit and recovery").
 *
 * Each round: a fresh server, `ringlog bench --seq-per-connection` sending at full
 * rate over several connections, the store's ack counter (ringlog_store_records_total:
 * records whose WAL entry is fsynced) sampled continuously, SIGKILL at a random
 * moment right after a sample, then a restart on the same data directory. The store
 * must then hold, for every connection, exactly the seqs 0..k-1 (a prefix of what it
 * sent: no gap, no duplicate), and at least as many records as were acknowledged
 * before the kill. A second, graceful restart must find the store consistent: no
 * replay, no damage, the same records.
 */
import { after, test } from 'node:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { startServer, type RinglogServer } from '../../bench/lib/server.js';
import { runBenchCli, sleep, tempDir, removeDir } from './lifecycle-helpers.js';
import { prng } from './store-helpers.js';
import { StoreReader, newStats } from '../../src/store/store-reader.js';
import { seqOfRecord } from '../../src/loadgen/payload.js';
import { STORE_DIR, WAL_DIR, WAL_FILE_TARGET, WAL_PREPARED_FILE } from '../../src/store/consts.js';

const ROUNDS = 4;
const CONNECTIONS = 4;

const servers: RinglogServer[] = [];
const dirs: string[] = [];
after(async () => {
  for (const s of servers) await s.kill().catch(() => {});
  for (const d of dirs) removeDir(d);
});

interface StoreContents {
  records: number;
  perConn: Map<number, number[]>;
  other: number;
}

function readStore(dataDir: string): StoreContents {
  const reader = StoreReader.open(dataDir);
  const perConn = new Map<number, number[]>();
  let records = 0;
  let other = 0;
  const stats = newStats();
  for (const r of reader.scan({ order: 'oldest', limit: Infinity }, stats)) {
    records++;
    const p = seqOfRecord(r);
    if (!p) {
      other++;
      continue;
    }
    let list = perConn.get(p.conn);
    if (!list) perConn.set(p.conn, (list = []));
    list.push(p.seq);
  }
  assert.equal(stats.damaged, 0, 'no damaged block');
  return { records, perConn, other };
}

/** Every connection's seqs are exactly 0..k-1; returns the total. */
function assertPrefixes(c: StoreContents, what: string): number {
  assert.equal(c.other, 0, `${what}: every record carries a conn and seq`);
  let total = 0;
  for (const [conn, seqs] of c.perConn) {
    seqs.sort((a, b) => a - b);
    for (let i = 0; i < seqs.length; i++) {
      if (seqs[i] !== i) {
        assert.fail(`${what}: connection ${conn} holds ${seqs.length} records but not exactly seqs 0..${seqs.length - 1}: ` +
          `at index ${i} found seq ${seqs[i]} (${seqs[i]! < i ? 'a duplicate' : `seq ${i} missing`})`);
      }
    }
    total += seqs.length;
  }
  return total;
}

for (let round = 1; round <= ROUNDS; round++) {
  test(`kill -9 under full load, round ${round}: every acknowledged record is there exactly once after restart`, { timeout: 120_000 }, async () => {
    const seed = 0x5eed0000 + round;
    // Seeded, so a failing round can be replayed (the seed is in the assertion messages).
    const rand = prng(seed).next;
    const dataDir = tempDir(`crash-${round}`);
    dirs.push(dataDir);
    // Small commits, so that kills land in every phase: WAL appends, block writes, commits, WAL cleanup.
    // Odd rounds parse entries and seal blocks in the parse and seal threads (store.parseThread,
    // store.sealThread), even rounds in the store worker.
    const config = join(dataDir, 'store.json');
    mkdirSync(dataDir, { recursive: true });
    // Round 4: small WAL files, so that files are recycled within the first second or so.
    const walFileSize = round === 4 ? '8MiB' : undefined;
    writeFileSync(config, JSON.stringify({ store: { sealThread: round % 2 === 1, parseThread: round % 2 === 1, walFileSize } }));
    const storeArgs = ['--fsync', 'always', '--retention-age', '0', '--config', config];
    // Round 2: a prepared WAL file (zeros) waits from the start, so that the kill lands
    // while entries are written over zeros, as they are in a fresh prepared file.
    // Round 4: the kill waits until the WAL is in a recycled file (a committed one reused,
    // its old entries still there: wal-writer.ts), so that it lands while entries are
    // written over old ones, as they are under steady load.
    const prepared = round === 2;
    const recycled = round === 4;
    if (prepared) {
      mkdirSync(join(dataDir, STORE_DIR, WAL_DIR), { recursive: true });
      writeFileSync(join(dataDir, STORE_DIR, WAL_DIR, WAL_PREPARED_FILE), Buffer.alloc(WAL_FILE_TARGET));
    }
    const srv = await startServer({ dataDir, output: [], args: storeArgs });
    servers.push(srv);
    const bench = runBenchCli(['--target', `127.0.0.1:${srv.address('tcp').port}`, '--connections', String(CONNECTIONS),
      '--seq-per-connection', '--duration', '60', '--size', '160'], 90_000);

    // Sample the ack counter until a random moment after the first acks (the bench's
    // start-up takes longer on a busy machine), then kill right after a sample.
    // (Round 4 counts from the first recycled file, which takes a while to come.)
    const killAfterMs = recycled ? 100 + rand() * 900 : 700 + rand() * 2300;
    const started = Date.now();
    while ((await srv.metric('ringlog_store_records_total')) === 0 && Date.now() - started < 30_000) await sleep(20);
    while (recycled && (await srv.metric('ringlog_store_wal_files_opened', { kind: 'recycled' })) === 0 && Date.now() - started < 60_000) await sleep(20);
    const t0 = Date.now();
    let acked = 0;
    while (Date.now() - t0 < killAfterMs) {
      acked = await srv.metric('ringlog_store_records_total');
      await sleep(5 + rand() * 20);
    }
    acked = await srv.metric('ringlog_store_records_total');
    const opened = await srv.metric('ringlog_store_wal_files_opened', { kind: 'prepared' });
    const reused = await srv.metric('ringlog_store_wal_files_opened', { kind: 'recycled' });
    srv.proc.kill('SIGKILL');
    await srv.exited;
    bench.proc.kill('SIGKILL');
    await bench.result;
    assert.ok(acked > 10_000, `the bench got going before the kill (${acked} acknowledged; seed ${seed})`);
    if (prepared) assert.ok(opened >= 1, `the WAL was written over a prepared file (${opened})`);
    if (recycled) assert.ok(reused >= 1, `the WAL was written over a recycled file (${reused})`);

    // Restart: recovery replays the WAL past the checkpoint.
    const again = await startServer({ dataDir, output: [], args: storeArgs });
    servers.push(again);
    const replayed = await again.metric('ringlog_store_replayed_records_total');
    assert.match(again.stderr(), /msg="store open"/);
    await again.stop();

    const contents = readStore(dataDir);
    const total = assertPrefixes(contents, `round ${round} (seed ${seed})`);
    assert.ok(total >= acked, `all ${acked} acknowledged records survived (found ${total}; seed ${seed})`);
    assert.equal(contents.perConn.size, CONNECTIONS, 'records of every connection');

    // A clean restart after the graceful stop: nothing to replay, nothing damaged, the same records.
    const third = await startServer({ dataDir, output: [], args: storeArgs });
    servers.push(third);
    assert.equal(await third.metric('ringlog_store_replayed_records_total'), 0, 'a graceful stop leaves nothing to replay');
    assert.equal(await third.metric('ringlog_store_damage_total'), 0, 'no damage found after a graceful stop');
    await third.stop();
    const after = readStore(dataDir);
    assert.equal(after.records, contents.records, 'the same records after a clean restart');
    console.log(`# round ${round}: killed after ${Math.round(killAfterMs)} ms, ${acked} acknowledged, ${total} stored, ${replayed} replayed from the WAL, ${opened} prepared WAL file(s) used, ${reused} of them recycled`);
  });
}
