/**
 * Corruption fuzzing of the store, with the real server and `ringlog query`.
 *
 * A store is filled with known records (four hourly partitions, ~50 blocks of a few
 * KiB each over several commits: store.blockSize 16 KiB, commitInterval 50 ms, from a
 * config file), then stopped cleanly. Its blocks are inventoried from the .idx files
 * (where each block's bytes are in the .seg and .idx files, and which records it
 * holds), and so are the WAL entries. A second baseline adds a crash: a server with
 * a 10-minute commit interval takes 1,500 more records (acknowledged, in the WAL, some
 * in uncommitted blocks) and is SIGKILLed.
 *
 * Then, round after round (seeded PRNG: RINGLOG_FUZZ_SEED, RINGLOG_FUZZ_ROUNDS), a
 * fresh copy of a baseline gets 1–3 random truncations or byte flips in its WAL,
 * .seg, .idx and checkpoint files, and the server is started on it. Each round:
 *
 *  - the server starts (never crashes) and /healthz is 200;
 *  - damage that recovery is built to find (CRCs of WAL entries, index entries and
 *    the last block of a segment, torn tails, checkpoint slots) is counted in
 *    ringlog_store_damage_total and logged;
 *  - `ringlog query` returns every record of every block whose bytes were not
 *    touched (and of every untouched WAL entry past the checkpoint), no record twice,
 *    no record that differs from what was sent, in timestamp order;
 *  - the repaired server takes new records, and after a clean stop they are all there
 *    next to the old ones.
 *
 * A block counts as touched when a byte of it in the .seg file or of its index entry
 * changed or was cut off, or when both its index and its segment file header were
 * damaged (the index can then not be rebuilt). Records of touched blocks may be lost,
 * or still be returned, but only as they were sent.
 *
 * The second test aims at the places random positions rarely hit (an index cut at an
 * entry boundary, each checkpoint slot, an empty checkpoint, the version field of a
 * file header), on a store whose WAL has been trimmed by a restart, as it is on a
 * server that has run for a while.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RinglogServer } from '../../bench/lib/server.js';
import { makeTempDir, removeDir } from './helpers.js';
import {
  HOUR, checkRecords, prng, checkpointOf, damageOf, inventoryBlocks, inventoryWal, keyOf, messageFor, missingKeys, queryOk, sendRecords,
  startStoreServer, storeDir, writeConfig, type BlockInfo, type SentRecord, type WalEntryInfo,
} from './store-helpers.js';
import type { Checkpoint } from '../../src/store/checkpoint.js';

const SEED = Number(process.env.RINGLOG_FUZZ_SEED ?? 20261202);
const ROUNDS = Number(process.env.RINGLOG_FUZZ_ROUNDS ?? 10);
/** 2026-11-01T00:00Z: records go to partitions 2026-11-01T00 … T03 (retention by age is off in the config). */
const BASE = Date.UTC(2026, 10, 1);
const BURSTS = 4;
const PER_BURST = 1500;
const CRASH_CONN = 50;
const CRASH_RECORDS = 1500;

const servers: RinglogServer[] = [];
let work = '';
let configFile = '';
const sent = new Map<string, SentRecord>();

interface Baseline {
  name: 'clean' | 'crashed' | 'trimmed';
  dir: string;
  cp: Checkpoint;
  blocks: BlockInfo[];
  wal: { files: { path: string; size: number }[]; entries: WalEntryInfo[] };
}
const baselines = new Map<string, Baseline>();

after(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  if (!process.env.RINGLOG_E2E_KEEP) removeDir(work);
});

function record(conn: number, seq: number, tsMs: number): SentRecord {
  const r = { conn, seq, tsMs, host: `host-${seq % 7}`, message: messageFor(conn, seq) };
  sent.set(keyOf(conn, seq), r);
  return r;
}

async function start(dir: string, cfg = configFile): Promise<RinglogServer> {
  const srv = await startStoreServer(dir, { configFile: cfg });
  servers.push(srv);
  return srv;
}

function snapshot(name: Baseline['name'], dir: string): Baseline {
  const b: Baseline = { name, dir, cp: checkpointOf(dir), blocks: inventoryBlocks(dir), wal: inventoryWal(dir) };
  baselines.set(name, b);
  return b;
}

before(async () => {
  work = makeTempDir('store-corrupt');
  configFile = writeConfig(path.join(work, 'store.json'), {
    store: { blockSize: '16KiB', commitSize: '1MiB', commitInterval: '50ms', retention: { maxAge: 0 } },
  });

  // The clean baseline: four bursts, each its own commit, each spread over four hours.
  const clean = path.join(work, 'clean');
  const srv = await start(clean);
  for (let b = 0; b < BURSTS; b++) {
    const recs: SentRecord[] = [];
    for (let s = 0; s < PER_BURST; s++) recs.push(record(b, s, BASE + (s % 4) * HOUR + (b * PER_BURST + s) * 100));
    await sendRecords(srv, recs);
    await srv.waitForMetric('ringlog_store_records_total', (b + 1) * PER_BURST, { timeoutMs: 20_000 });
    // Built into blocks (on a busy machine that can take a while), then committed
    // (commitInterval 50 ms) before the next burst, so bursts land in different epochs.
    const deadline = Date.now() + 20_000;
    while ((await srv.metric('ringlog_store_pending_bytes')) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.equal(await srv.stop(), 0, srv.stderrTail());
  const c = snapshot('clean', clean);
  const keys = c.blocks.flatMap((b) => b.keys);
  assert.equal(keys.length, BURSTS * PER_BURST, 'every record sent is in exactly one block after a clean stop');
  assert.equal(new Set(keys).size, keys.length);
  assert.ok(c.blocks.every((b) => b.epoch <= c.cp.epoch), 'every block is committed');
  assert.equal(new Set(c.blocks.map((b) => b.partition)).size, 4, 'four hourly partitions');
  assert.ok(c.blocks.length >= 30, `many blocks (${c.blocks.length})`);
  assert.ok(new Set(c.blocks.map((b) => b.epoch)).size >= 3, 'blocks of several commits');

  // The crashed baseline: the clean store plus records that are acknowledged but not committed.
  const crashed = path.join(work, 'crashed');
  cpSync(clean, crashed, { recursive: true });
  const noCommit = writeConfig(path.join(work, 'no-commit.json'), {
    store: { blockSize: '16KiB', commitSize: '1GiB', commitInterval: '10m', retention: { maxAge: 0 } },
  });
  const srv2 = await start(crashed, noCommit);
  const recs: SentRecord[] = [];
  for (let s = 0; s < CRASH_RECORDS; s++) recs.push(record(CRASH_CONN, s, BASE + (1 + (s % 4)) * HOUR + s * 100));
  await sendRecords(srv2, recs);
  await srv2.waitForMetric('ringlog_store_records_total', CRASH_RECORDS, { timeoutMs: 20_000 });
  // Durable is not built: wait until the worker has consumed everything and written blocks (stats come once a second).
  await srv2.waitForMetric('ringlog_store_blocks_total', 1, { timeoutMs: 20_000 });
  const deadline = Date.now() + 20_000;
  while ((await srv2.metric('ringlog_store_pending_bytes')) > 0) {
    assert.ok(Date.now() < deadline, 'the store worker consumed the crash tail');
    await new Promise((r) => setTimeout(r, 50));
  }
  await srv2.kill();
  const k = snapshot('crashed', crashed);
  const live = k.wal.entries.filter((e) => e.lsn > k.cp.lsn).flatMap((e) => e.keys);
  assert.equal(live.length, CRASH_RECORDS, 'the crash tail is in the WAL past the checkpoint');
  assert.ok(k.blocks.some((b) => b.epoch > k.cp.epoch), 'the crash left uncommitted blocks behind');

  // The trimmed baseline: the clean store after one more start and stop with no records,
  // which deletes the WAL file the records were in (as on any server that has run a while).
  const trimmed = path.join(work, 'trimmed');
  cpSync(clean, trimmed, { recursive: true });
  const srv3 = await start(trimmed);
  assert.equal(await srv3.stop(), 0);
  const t = snapshot('trimmed', trimmed);
  assert.equal(t.wal.entries.length, 0, 'the WAL holds no entries any more');
});

/** What a mutation did to a file: flipped positions and where it was cut. */
interface Touch {
  flips: number[];
  cutAt: number | null;
}

class Damage {
  readonly touches = new Map<string, Touch>();
  readonly log: string[] = [];

  constructor(readonly root: string, readonly base: Baseline) {}

  private touch(file: string): Touch {
    let t = this.touches.get(file);
    if (!t) this.touches.set(file, (t = { flips: [], cutAt: null }));
    return t;
  }

  /** The file in this copy that is `file` in the baseline. */
  here(file: string): string {
    return path.join(this.root, path.relative(this.base.dir, file));
  }

  flip(file: string, positions: number[], xor: number[]): void {
    const p = this.here(file);
    const buf = readFileSync(p);
    positions.forEach((pos, i) => {
      if (pos < buf.length) buf[pos]! ^= xor[i]!;
    });
    writeFileSync(p, buf);
    this.touch(file).flips.push(...positions.filter((pos) => pos < buf.length));
    this.log.push(`flip ${path.relative(this.base.dir, file)} @ ${positions.join(',')}`);
  }

  cut(file: string, at: number): void {
    const p = this.here(file);
    truncateSync(p, at);
    const t = this.touch(file);
    t.cutAt = t.cutAt === null ? at : Math.min(t.cutAt, at);
    this.log.push(`truncate ${path.relative(this.base.dir, file)} to ${at} of ${statSync(file).size}`);
  }

  /** Was any byte of [start, end) in `file` changed or cut off? */
  hit(file: string, start: number, end: number): boolean {
    const t = this.touches.get(file);
    if (!t) return false;
    if (t.cutAt !== null && end > t.cutAt) return true;
    return t.flips.some((p) => p >= start && p < end);
  }

  any(file: string): boolean {
    return this.touches.has(file);
  }

  describe(): string {
    return this.log.join('; ');
  }
}

/** Records the server must still have after this damage (see the header). */
function requiredKeys(d: Damage): Set<string> {
  const base = d.base;
  const out = new Set<string>();
  for (const b of base.blocks) {
    if (b.epoch > base.cp.epoch) continue;
    if (d.hit(b.seg, b.segStart, b.segEnd) || d.hit(b.idx, b.idxStart, b.idxEnd)) continue;
    if (d.hit(b.seg, 0, 16) && d.any(b.idx)) continue;
    for (const k of b.keys) out.add(k);
  }
  for (const e of base.wal.entries) {
    if (e.lsn <= base.cp.lsn) continue;
    if (d.hit(e.file, e.start, e.end) || d.hit(e.file, 0, 8)) continue;
    for (const k of e.keys) out.add(k);
  }
  return out;
}

/**
 * Does this damage include something recovery is built to notice at start? (CRCs of WAL
 * entries and index entries, file magics, torn tails, the last committed block of a
 * segment, checkpoint slots; not: block payloads in the middle of a segment, which
 * queries find, nor bytes no check covers, like the WAL header's LSN or slot padding.)
 */
function mustNotice(d: Damage): string[] {
  const base = d.base;
  const why: string[] = [];
  const walEnds = new Map<string, Set<number>>();
  for (const e of base.wal.entries) {
    if (!walEnds.has(e.file)) walEnds.set(e.file, new Set([16]));
    walEnds.get(e.file)!.add(e.end);
  }
  for (const [file, t] of d.touches) {
    const rel = path.relative(base.dir, file);
    const size = statSync(file).size;
    if (file.endsWith('.wal')) {
      if (t.flips.some((p) => p < 8 || p >= 16)) why.push(`${rel}: flipped bytes in an entry or the magic`);
      if (t.cutAt !== null && t.cutAt > 0 && t.cutAt < size && !(walEnds.get(file) ?? new Set([16])).has(t.cutAt)) why.push(`${rel}: cut inside an entry`);
    } else if (file.endsWith('.idx')) {
      if (t.flips.some((p) => p < 8 || p >= 16)) why.push(`${rel}: flipped bytes in an index entry or the magic`);
      const blocks = base.blocks.filter((b) => b.idx === file);
      if (t.cutAt !== null) {
        const boundary = t.cutAt === 16 || blocks.some((b) => b.idxEnd === t.cutAt);
        const committedAfter = blocks.some((b) => b.epoch <= base.cp.epoch && b.idxEnd > t.cutAt! && !d.hit(b.seg, b.segStart, b.segEnd));
        if (t.cutAt < 16 || (!boundary && t.cutAt < size) || committedAfter) why.push(`${rel}: cut at ${t.cutAt}`);
      }
    } else if (file.endsWith('.seg')) {
      const committed = base.blocks.filter((b) => b.seg === file && b.epoch <= base.cp.epoch);
      const last = committed[committed.length - 1];
      if (last && t.cutAt !== null && t.cutAt < last.segEnd) why.push(`${rel}: cut inside committed blocks`);
      if (last && t.flips.some((p) => p >= last.segStart + 72 && p < last.segEnd)) why.push(`${rel}: flipped bytes in the payload of the last committed block`);
    } else if (path.basename(file) === 'checkpoint') {
      const newer = base.cp.seq % 2;
      if (t.flips.some((p) => p < 36 || (p >= 64 && p < 100))) why.push('checkpoint: a slot is damaged');
      if (t.cutAt !== null && (t.cutAt !== 64 || newer === 1)) why.push(`checkpoint: cut at ${t.cutAt}`);
    }
  }
  return why;
}

/** Files of a baseline by kind: the targets of the fuzzer. */
function targets(base: Baseline): Record<'wal' | 'seg' | 'idx' | 'checkpoint', string[]> {
  return {
    wal: base.wal.files.filter((f) => f.size > 16).map((f) => f.path),
    seg: [...new Set(base.blocks.map((b) => b.seg))],
    idx: [...new Set(base.blocks.map((b) => b.idx))],
    checkpoint: [path.join(storeDir(base.dir), 'checkpoint')],
  };
}

/**
 * Starts the server on a damaged copy and checks everything the header promises;
 * returns the problems found (empty: all good).
 */
async function checkRound(label: string, d: Damage, opts: { conn: number; expectAll?: boolean }): Promise<{ problems: string[]; notes: string }> {
  const problems: string[] = [];
  const required = requiredKeys(d);
  const notice = mustNotice(d);
  let srv: RinglogServer;
  try {
    srv = await start(d.root);
  } catch (err) {
    return { problems: [`the server did not start: ${(err as Error).message.slice(0, 1500)}`], notes: '' };
  }
  const health = await srv.healthz(5000);
  if (health.status !== 200) problems.push(`/healthz ${health.status}`);
  const damage = await damageOf(srv);
  const stderr = srv.stderr();
  if (notice.length > 0) {
    if (damage.total === 0) problems.push(`ringlog_store_damage_total stayed 0, but recovery must notice: ${notice.join('; ')}`);
    if (!/store recovery|recovery found damage|checkpoint slot/.test(stderr)) problems.push(`the server logged nothing about the damage (${notice.join('; ')})`);
  }

  const q1 = await queryOk(d.root);
  const c1 = checkRecords(q1.records, sent);
  const miss = missingKeys(required, c1.seen);
  if (miss.count > 0) problems.push(`${miss.count} records of untouched blocks / WAL entries are missing (${miss.first.join(' ')})`);
  if (c1.duplicateCount > 0) problems.push(`${c1.duplicateCount} records returned twice (${c1.duplicates.join(' ')})`);
  if (c1.garbledCount > 0) problems.push(`${c1.garbledCount} garbled records: ${c1.garbled.join(' | ')}`);
  if (c1.disorder.length > 0) problems.push(`records out of timestamp order: ${c1.disorder.join(', ')}`);

  // The repaired store takes new records; after a clean stop everything is there.
  const fresh: SentRecord[] = [];
  for (let s = 0; s < 200; s++) fresh.push(record(opts.conn, s, BASE + 2 * HOUR + 30 * 60_000 + s * 10));
  try {
    await sendRecords(srv, fresh);
    await srv.waitForMetric('ringlog_store_records_total', fresh.length, { timeoutMs: 15_000 });
  } catch (err) {
    problems.push(`new records were not stored: ${(err as Error).message}`);
  }
  const code = await srv.stop();
  if (code !== 0) problems.push(`exit code ${code} at stop:\n${srv.stderrTail()}`);
  const q2 = await queryOk(d.root);
  const c2 = checkRecords(q2.records, sent);
  const miss2 = missingKeys([...required, ...fresh.map((r) => keyOf(r.conn, r.seq))], c2.seen);
  if (miss2.count > 0) problems.push(`after new records and a stop: ${miss2.count} records missing (${miss2.first.join(' ')})`);
  if (c2.duplicateCount > 0) problems.push(`after new records and a stop: ${c2.duplicateCount} duplicates (${c2.duplicates.join(' ')})`);
  if (c2.garbledCount > 0) problems.push(`after new records and a stop: garbled: ${c2.garbled.join(' | ')}`);
  if (opts.expectAll) {
    const all = missingKeys(baselineKeys(d.base), c1.seen);
    if (all.count > 0) problems.push(`${all.count} of the baseline's records are missing (${all.first.join(' ')})`);
  }
  const notes = `${label}: ${d.describe()} → required ${required.size}, returned ${c1.seen.size} ` +
    `(query: ${JSON.stringify(q1.stats)}), damage ${JSON.stringify(damage.kinds)}, must notice: ${notice.length > 0 ? notice.join('; ') : 'nothing'}`;
  return { problems, notes };
}

function baselineKeys(base: Baseline): string[] {
  const out = base.blocks.filter((b) => b.epoch <= base.cp.epoch).flatMap((b) => b.keys);
  for (const e of base.wal.entries) if (e.lsn > base.cp.lsn) out.push(...e.keys);
  return out;
}

function copyOf(base: Baseline, name: string): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  cpSync(base.dir, dir, { recursive: true });
  return dir;
}

test(`random truncations and byte flips (seed ${SEED}, ${ROUNDS} rounds): the server always starts, keeps every untouched block, and takes new records`, {
  timeout: 150_000,
}, async (t) => {
  for (let r = 0; r < ROUNDS; r++) {
    const base = baselines.get(r % 2 === 0 ? 'clean' : 'crashed')!;
    await t.test(`round ${r} (${base.name} store)`, async (st) => {
      const rng = prng(SEED + r * 7919);
      const d = new Damage(copyOf(base, `round-${r}`), base);
      const files = targets(base);
      // The checkpoint of a crashed store is left alone: what a damaged one means there depends on the WAL, which the second test covers.
      const kinds = (base.name === 'crashed' ? ['wal', 'seg', 'idx'] : ['wal', 'seg', 'idx', 'checkpoint']) as (keyof typeof files)[];
      const n = 1 + rng.int(3);
      for (let i = 0; i < n; i++) {
        const kind = rng.pick(kinds);
        const file = rng.pick(files[kind]);
        const size = statSync(d.here(file)).size;
        if (rng.next() < 0.4) d.cut(file, rng.int(size));
        else {
          const k = 1 + rng.int(4);
          const pos = Array.from({ length: k }, () => rng.int(size));
          d.flip(file, pos, pos.map(() => 1 + rng.int(255)));
        }
      }
      const { problems, notes } = await checkRound(`round ${r} (${base.name})`, d, { conn: 100 + r });
      st.diagnostic(notes);
      assert.deepEqual(problems, [], `round ${r} on the ${base.name} store, seed ${SEED}: ${d.describe()}${keep(d.root)}`);
      removeDir(d.root);
    });
  }
});

/** With RINGLOG_E2E_KEEP=1 a failing case's store is kept for a look (and the temp dir is not removed). */
function keep(dir: string): string {
  return process.env.RINGLOG_E2E_KEEP ? ` (kept: ${dir})` : '';
}

test('targeted damage on a store whose WAL was trimmed: every committed block that is intact stays', { timeout: 90_000 }, async (t) => {
  const base = baselines.get('trimmed')!;
  const cpFile = path.join(storeDir(base.dir), 'checkpoint');
  const newerSlot = base.cp.seq % 2;
  const bySeg = new Map<string, BlockInfo[]>();
  for (const b of base.blocks) bySeg.set(b.seg, [...(bySeg.get(b.seg) ?? []), b]);
  const [seg, blocks] = [...bySeg.entries()].find(([, bs]) => bs.length >= 6)!;
  const mid = blocks[Math.floor(blocks.length / 2)]!;
  const wal = targets(baselines.get('clean')!).wal[0]!;

  const cases: { name: string; base?: Baseline; damage: (d: Damage) => void }[] = [
    { name: 'an index cut at an entry boundary (its segment is intact)', damage: (d) => d.cut(mid.idx, mid.idxStart) },
    { name: 'the last index entry of a segment damaged', damage: (d) => d.flip(blocks[blocks.length - 1]!.idx, [blocks[blocks.length - 1]!.idxStart + 100], [0xff]) },
    { name: 'the older checkpoint slot damaged', damage: (d) => d.flip(cpFile, [(1 - newerSlot) * 64 + 20], [0xff]) },
    { name: 'the newer checkpoint slot damaged', damage: (d) => d.flip(cpFile, [newerSlot * 64 + 20], [0xff]) },
    { name: 'both checkpoint slots damaged', damage: (d) => d.flip(cpFile, [20, 84], [0xff, 0xff]) },
    { name: 'the checkpoint cut to 0 bytes', damage: (d) => d.cut(cpFile, 0) },
    { name: 'the version field of an index file header flipped', damage: (d) => d.flip(mid.idx, [4], [0x02]) },
    { name: 'the version field of a WAL file header flipped', base: baselines.get('clean')!, damage: (d) => d.flip(wal, [4], [0x02]) },
  ];
  assert.ok(seg);
  let i = 0;
  for (const c of cases) {
    await t.test(c.name, async (st) => {
      const b = c.base ?? base;
      const d = new Damage(copyOf(b, `targeted-${i++}`), b);
      c.damage(d);
      const { problems, notes } = await checkRound(c.name, d, { conn: 200 + i, expectAll: true });
      st.diagnostic(notes);
      assert.deepEqual(problems, [], `${c.name}: ${d.describe()}${keep(d.root)}`);
      removeDir(d.root);
    });
  }
});
