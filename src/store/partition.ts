/**
 * Partitions: one directory per UTC hour of record time, `partitions/2026-11-22T10/`,
 * holding that hour's segment files (`000001.seg` + `000001.idx`, …). Names sort in
 * time order; retention deletes whole partitions (by age) or whole segments (by size).
 */
import { readdirOrEmpty } from './fs-util.js';
import { join } from 'node:path';
import { PARTITION_MS } from './consts.js';

const NAME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d)$/;
const SEGMENT = /^(\d{6,})\.seg$/;

/** Partition key (hours since the epoch) of a time in ms. */
export function partitionOf(ms: number): number {
  return Math.floor(ms / PARTITION_MS);
}

export function partitionName(key: number): string {
  return new Date(key * PARTITION_MS).toISOString().slice(0, 13);
}

/** Key of a partition directory name, or null when the name is not one. */
export function parsePartitionName(name: string): number | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]));
  if (!Number.isFinite(ms) || partitionName(ms / PARTITION_MS) !== name) return null;
  return ms / PARTITION_MS;
}

export function segmentName(no: number): string {
  return String(no).padStart(6, '0');
}

/** Partition directories under `root`, oldest first; other entries are ignored. */
export function listPartitions(root: string): { key: number; name: string; path: string }[] {
  const out: { key: number; name: string; path: string }[] = [];
  for (const name of readdirOrEmpty(root)) {
    const key = parsePartitionName(name);
    if (key !== null) out.push({ key, name, path: join(root, name) });
  }
  return out.sort((a, b) => a.key - b.key);
}

/** Segment numbers in a partition directory, ascending. */
export function listSegments(dir: string): number[] {
  const out: number[] = [];
  for (const name of readdirOrEmpty(dir)) {
    const m = SEGMENT.exec(name);
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}
