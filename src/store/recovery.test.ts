/**
 * Segments and their recovery (recoverSegments) on real files: blocks of an epoch past
 * the checkpoint are cut off; a torn .idx or .seg tail is cut; an .idx damaged in the
 * middle, or missing, is rebuilt from the .seg with every intact block reachable; and
 * after recovery the segment can be appended to and read back cleanly.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BLOCK_HEADER_SIZE } from './block-header.js';
import { decodeBlock } from './block-decoder.js';
import { filterBytes } from './block-filter.js';
import type { SealedBlock } from './block-builder.js';
import { FILE_HEADER_SIZE } from './consts.js';
import { partitionName, partitionOf } from './partition.js';
import { recoverSegments } from './recovery.js';
import { SegmentWriter, readIndex, scanSegment, segmentPaths, type IndexEntry } from './segment.js';
import { buildBlock, parse, rmDir, tempDir } from './test-helpers.js';

const root = tempDir('ringlog-recovery-');
after(() => rmDir(root));
let dirs = 0;

const HOUR = Date.UTC(2026, 10, 22, 9);
const KEY = partitionOf(HOUR);

/** A block of `n` records in the 09:00 hour, epoch `epoch`, its text tagged with `tag`. */
function block(epoch: number, tag: string, n = 20): SealedBlock {
  const frames = Array.from({ length: n }, (_, i) => `<${(i * 7) % 192}>1 2026-11-22T09:${String(i % 60).padStart(2, '0')}:01.${i}Z host${i % 3} app - - [t@1 tag="${tag}"] ${tag} record ${i} ${'z'.repeat(i * 5)}`);
  return buildBlock([[parse('rfc5424', frames)]], { epoch, firstLsn: epoch * 100 }).sealed;
}

interface Seg {
  partitions: string;
  dir: string;
  seg: string;
  idx: string;
  blocks: SealedBlock[];
  /** Where each block starts in the .seg, and each index entry in the .idx. */
  segAt: number[];
  idxAt: number[];
}

/** A partitions dir with one segment (no. 1) holding blocks of the given epochs, synced and closed. */
function segment(epochs: number[], no = 1, partitions = join(root, `p${dirs++}`)): Seg {
  const dir = join(partitions, partitionName(KEY));
  mkdirSync(dir, { recursive: true });
  const w = SegmentWriter.create(dir, no);
  const blocks: SealedBlock[] = [];
  const segAt: number[] = [];
  const idxAt: number[] = [];
  epochs.forEach((e, i) => {
    const b = block(e, `b${i}e${e}`);
    segAt.push(w.segLen);
    idxAt.push(w.idxLen);
    w.append(b);
    blocks.push(b);
  });
  w.sync();
  w.close();
  const p = segmentPaths(dir, no);
  return { partitions, dir, seg: p.seg, idx: p.idx, blocks, segAt, idxAt };
}

const size = (p: string) => statSync(p).size;
const segEnd = (s: Seg, k: number) => (k === 0 ? FILE_HEADER_SIZE : s.segAt[k - 1]! + s.blocks[k - 1]!.bytes.length);
const idxEnd = (s: Seg, k: number) => (k < s.idxAt.length ? s.idxAt[k]! : size(s.idx));

/** The index entries on disk now, each checked against the .seg: its block decodes and is block `which[i]` of `s`. */
function reachable(s: Seg): IndexEntry[] {
  const entries = readIndex(readFileSync(s.idx)).entries;
  const seg = readFileSync(s.seg);
  for (const e of entries) {
    const k = s.segAt.indexOf(e.segOffset);
    assert.ok(k >= 0, `an index entry at ${e.segOffset} points at no block`);
    assert.deepEqual(e.header, s.blocks[k]!.header);
    assert.deepEqual(Buffer.from(filterBytes(e.filter)), Buffer.from(filterBytes(s.blocks[k]!.filter)), `token filter of block ${k}`);
    const comp = seg.subarray(e.segOffset + BLOCK_HEADER_SIZE, e.segOffset + BLOCK_HEADER_SIZE + e.header.compLen);
    assert.equal(decodeBlock(e.header, comp).n, e.header.count);
  }
  return entries;
}

const blocksOf = (s: Seg, entries: IndexEntry[]) => entries.map((e) => s.segAt.indexOf(e.segOffset));

test('a clean store: every block kept, nothing cut, the last segment of each partition reported', () => {
  const s = segment([1, 1, 2, 3]);
  const segSize = size(s.seg);
  const idxSize = size(s.idx);
  const { report, last } = recoverSegments(s.partitions, 3);
  assert.equal(report.blocks, 4);
  assert.equal(report.records, 80);
  assert.equal(report.partitions, 1);
  assert.equal(report.segments, 1);
  assert.equal(report.uncommittedBlocks + report.tornTails + report.rebuiltIndexes + report.damagedBlocks + report.damagedBytes, 0);
  assert.deepEqual(report.notes, []);
  assert.equal(report.maxEpoch, 3);
  assert.equal(report.maxBlockLsn, 300);
  assert.equal(report.diskBytes, segSize + idxSize);
  assert.deepEqual(last.get(KEY), { no: 1, segLen: segSize, idxLen: idxSize, blocks: 4 });
  assert.equal(size(s.seg), segSize);
  assert.deepEqual(blocksOf(s, reachable(s)), [0, 1, 2, 3]);
});

test('blocks of an epoch past the checkpoint are cut off, files truncated (and left alone read-only)', () => {
  const s = segment([1, 2, 2, 3, 4]);
  const before = [readFileSync(s.seg), readFileSync(s.idx)];
  const ro = recoverSegments(s.partitions, 2, true);
  assert.equal(ro.report.uncommittedBlocks, 2);
  assert.deepEqual([readFileSync(s.seg), readFileSync(s.idx)], before, 'read-only recovery changes nothing');

  const { report, last } = recoverSegments(s.partitions, 2);
  assert.equal(report.uncommittedBlocks, 2);
  assert.equal(report.blocks, 3);
  assert.equal(report.maxEpoch, 2);
  assert.equal(report.tornTails, 0);
  assert.equal(size(s.seg), segEnd(s, 3));
  assert.equal(size(s.idx), idxEnd(s, 3));
  assert.deepEqual(last.get(KEY), { no: 1, segLen: segEnd(s, 3), idxLen: idxEnd(s, 3), blocks: 3 });
  assert.deepEqual(blocksOf(s, reachable(s)), [0, 1, 2]);
  // Epoch 0 (nothing ever committed): everything goes.
  const t = segment([1, 1]);
  const r0 = recoverSegments(t.partitions, 0);
  assert.equal(r0.report.uncommittedBlocks, 2);
  assert.equal(size(t.seg), FILE_HEADER_SIZE);
  assert.equal(size(t.idx), FILE_HEADER_SIZE);
  // Infinity (the checkpoint was lost): every valid block is trusted.
  const u = segment([5, 6, 7]);
  assert.equal(recoverSegments(u.partitions, Infinity).report.blocks, 3);
});

test('a torn .idx tail (cut anywhere in the last entry): cut off with its block when that block is uncommitted; rebuilt from the .seg when it is committed', () => {
  const probe = segment([1, 1, 2]);
  const start = probe.idxAt[2]!;
  const end = size(probe.idx);
  for (let cut = start + 1; cut < end; cut += cut - start < 100 ? 1 : 17) {
    // The last block is of epoch 2, past the checkpoint (1): the crash came while it was appended.
    const s = segment([1, 1, 2]);
    truncateSync(s.idx, cut);
    const { report, last } = recoverSegments(s.partitions, 1);
    assert.equal(report.tornTails, 1, `cut at ${cut}`);
    assert.equal(report.damagedBytes, cut - start, `cut at ${cut}: damaged bytes`);
    assert.equal(report.rebuiltIndexes, 0, `cut at ${cut}`);
    assert.equal(report.blocks, 2, `cut at ${cut}: blocks`);
    assert.equal(size(s.idx), start);
    assert.equal(size(s.seg), segEnd(s, 2), 'the unindexed, uncommitted block is cut from the .seg');
    assert.equal(last.get(KEY)!.blocks, 2);
    assert.deepEqual(blocksOf(s, reachable(s)), [0, 1]);
    rmSync(s.partitions, { recursive: true });

    // The same tear with the block committed (it can only be damage to the index): nothing committed is lost.
    const c = segment([1, 1, 1]);
    truncateSync(c.idx, cut);
    const rc = recoverSegments(c.partitions, 1);
    assert.equal(rc.report.blocks, 3, `cut at ${cut}: committed block kept`);
    assert.equal(rc.report.rebuiltIndexes, 1);
    assert.deepEqual(blocksOf(c, reachable(c)), [0, 1, 2]);
    assert.deepEqual(rc.last.get(KEY), { no: 1, segLen: size(c.seg), idxLen: size(c.idx), blocks: 3 });
    rmSync(c.partitions, { recursive: true });
  }
  // The whole index lost but its header (truncated to 16 bytes): rebuilt, nothing committed lost.
  const h = segment([1, 1, 2]);
  truncateSync(h.idx, FILE_HEADER_SIZE);
  const rh = recoverSegments(h.partitions, 1);
  assert.equal(rh.report.blocks, 2);
  assert.deepEqual(blocksOf(h, reachable(h)), [0, 1]);
  assert.equal(size(h.seg), segEnd(h, 2));
});

test('a torn .seg tail (cut anywhere in the last block) is cut; its index entry goes too', () => {
  const probe = segment([1, 1, 1]);
  const start = probe.segAt[2]!;
  const end = size(probe.seg);
  for (let cut = start; cut < end; cut += cut - start < 100 ? 1 : 29) {
    const s = segment([1, 1, 1]);
    truncateSync(s.seg, cut);
    const { report, last } = recoverSegments(s.partitions, 1);
    assert.equal(report.blocks, 2, `cut at ${cut}`);
    assert.equal(report.tornTails, 1, `cut at ${cut}`);
    assert.equal(size(s.seg), start);
    assert.equal(size(s.idx), s.idxAt[2]);
    assert.deepEqual(last.get(KEY), { no: 1, segLen: start, idxLen: s.idxAt[2], blocks: 2 });
    assert.deepEqual(blocksOf(s, reachable(s)), [0, 1]);
    rmSync(s.partitions, { recursive: true });
  }
});

test('an .idx damaged in the middle is rebuilt from the .seg: every intact block stays reachable', () => {
  const probe = segment([1, 1, 1, 1, 1]);
  // Flip bytes at several places of the second entry: its header, its bloom filter, its CRC.
  const at = probe.idxAt[1]!;
  const len = probe.idxAt[2]! - at;
  for (const off of [0, 5, 10, 30, 100, len - 20, len - 1]) {
    const s = segment([1, 1, 1, 1, 1]);
    const idx = readFileSync(s.idx);
    idx[at + off]! ^= 0x41;
    writeFileSync(s.idx, idx);
    const { report, last } = recoverSegments(s.partitions, 1);
    assert.equal(report.rebuiltIndexes, 1, `byte ${off} of the entry`);
    assert.equal(report.blocks, 5);
    assert.equal(report.damagedBlocks, 0);
    assert.deepEqual(blocksOf(s, reachable(s)), [0, 1, 2, 3, 4]);
    assert.deepEqual(last.get(KEY), { no: 1, segLen: size(s.seg), idxLen: size(s.idx), blocks: 5 });
    assert.ok(!existsSync(`${s.idx}.tmp`));
    rmSync(s.partitions, { recursive: true });
  }
  // A damaged .idx file header: rebuilt as well.
  const h = segment([1, 1]);
  const idx = readFileSync(h.idx);
  idx[1]! ^= 0xff;
  writeFileSync(h.idx, idx);
  assert.equal(recoverSegments(h.partitions, 1).report.rebuiltIndexes, 1);
  assert.deepEqual(blocksOf(h, reachable(h)), [0, 1]);
});

test('rebuilding the index skips a damaged block in the middle of the .seg and uncommitted ones at its end', () => {
  const s = segment([1, 1, 1, 2, 3]);
  const seg = readFileSync(s.seg);
  seg[s.segAt[1]! + BLOCK_HEADER_SIZE + 10]! ^= 0xff; // block 1's payload
  seg[s.segAt[2]! + 3]! ^= 0xff; // block 2's header magic
  writeFileSync(s.seg, seg);
  rmSync(s.idx); // and the index is missing
  const { report } = recoverSegments(s.partitions, 2);
  assert.equal(report.rebuiltIndexes, 1);
  assert.equal(report.damagedBlocks, 1, 'block 1 fails its CRC');
  assert.ok(report.damagedBytes > 0, 'block 2 was skipped by searching the next block magic');
  assert.deepEqual(blocksOf(s, reachable(s)), [0, 3]);
  assert.equal(size(s.seg), segEnd(s, 4), 'the epoch-3 block is cut off');
  // scanSegment alone: block 2's header is skipped, the others found (payload CRCs are the caller's).
  const scan = scanSegment(seg);
  assert.deepEqual(scan.blocks.map((b) => b.offset), [s.segAt[0], s.segAt[1], s.segAt[3], s.segAt[4]]);
  assert.ok(scan.skippedBytes >= s.blocks[2]!.bytes.length);
});

test('a missing .idx is rebuilt; a damaged last block is reported and kept', () => {
  const s = segment([1, 1, 1]);
  rmSync(s.idx);
  const { report, last } = recoverSegments(s.partitions, 1);
  assert.equal(report.rebuiltIndexes, 1);
  assert.equal(report.blocks, 3);
  assert.ok(existsSync(s.idx));
  assert.deepEqual(blocksOf(s, reachable(s)), [0, 1, 2]);
  assert.equal(last.get(KEY)!.idxLen, size(s.idx));

  const d = segment([1, 1, 1]);
  const seg = readFileSync(d.seg);
  seg[seg.length - 5]! ^= 0x01;
  writeFileSync(d.seg, seg);
  const r = recoverSegments(d.partitions, 1).report;
  assert.equal(r.damagedBlocks, 1);
  assert.equal(r.blocks, 3, 'kept in the index; queries skip it');
  assert.match(r.notes.join('\n'), /fails its CRC/);
});

test('after recovery the last segment is appended to where recovery said, and reads back cleanly', () => {
  const s = segment([1, 1, 2, 2]);
  truncateSync(s.seg, size(s.seg) - 10); // torn last block
  const { last } = recoverSegments(s.partitions, 1); // epoch 2 uncommitted
  const l = last.get(KEY)!;
  const w = SegmentWriter.reopen(s.dir, l.no, l.segLen, l.idxLen, l.blocks);
  const extra = block(2, 'after');
  w.append(extra);
  w.sync();
  w.close();
  const again = recoverSegments(s.partitions, 2);
  assert.equal(again.report.blocks, 3);
  assert.equal(again.report.tornTails + again.report.rebuiltIndexes + again.report.damagedBytes + again.report.damagedBlocks, 0, again.report.notes.join('; '));
  // And a rebuild from the .seg alone finds the same three blocks.
  rmSync(s.idx);
  assert.equal(recoverSegments(s.partitions, 2).report.blocks, 3);
});

test('a segment pair cut to nothing (a crash before its first commit reached the disk) can be appended to after recovery', () => {
  // Regression: SegmentWriter.create writes the file headers without syncing them; a
  // crash before the first commit can leave both files empty. Recovery reported the
  // segment as appendable at segLen 16 but left the .seg empty, so the worker's next
  // block went after 16 zero bytes: a .seg without a header, unreadable by scanSegment
  // (every later index rebuild lost all of its blocks).
  const s = segment([1]);
  truncateSync(s.seg, 0);
  truncateSync(s.idx, 0);
  recoverSegments(s.partitions, 0, true);
  assert.equal(size(s.seg), 0, 'read-only recovery changes nothing');
  const { last, report } = recoverSegments(s.partitions, 0);
  assert.equal(report.blocks, 0);
  const l = last.get(KEY)!;
  assert.deepEqual(l, { no: 1, segLen: FILE_HEADER_SIZE, idxLen: FILE_HEADER_SIZE, blocks: 0 });
  assert.equal(size(s.seg), FILE_HEADER_SIZE);
  const w = SegmentWriter.reopen(s.dir, l.no, l.segLen, l.idxLen, l.blocks);
  w.append(block(1, 'new'));
  w.sync();
  w.close();
  assert.equal(scanSegment(readFileSync(s.seg)).blocks.length, 1, 'the .seg reads on its own');
  assert.equal(readIndex(readFileSync(s.idx)).entries.length, 1);
  rmSync(s.idx);
  const again = recoverSegments(s.partitions, 1);
  assert.equal(again.report.blocks, 1, again.report.notes.join('; '));
});

test('several partitions and segments: counted, and `last` is the highest segment of each partition', () => {
  const partitions = join(root, `p${dirs++}`);
  segment([1, 1], 1, partitions);
  segment([1], 2, partitions);
  // Another hour.
  const other = join(partitions, partitionName(KEY + 5));
  mkdirSync(other);
  const w = SegmentWriter.create(other, 7);
  w.append(block(1, 'other'));
  w.sync();
  w.close();
  // Not partitions or segments: ignored.
  mkdirSync(join(partitions, 'lost+found'));
  writeFileSync(join(partitions, partitionName(KEY), 'notes.txt'), 'x');
  const { report, last } = recoverSegments(partitions, 1);
  assert.equal(report.partitions, 2);
  assert.equal(report.segments, 3);
  assert.equal(report.blocks, 4);
  assert.equal(last.get(KEY)!.no, 2);
  assert.equal(last.get(KEY + 5)!.no, 7);
});
