/**
 * What a query worker runs (query-worker.ts), and what `ringlog query` runs in its own
 * process when it opens a data directory: a search that streams records, a count, a
 * histogram over time (hits) and the top values of fields (facets). Each takes a
 * compiled query tree; the time range is part of the tree.
 *
 * Everything streams: a search holds the records of the blocks being merged, never
 * all matches; aggregations hold one counter per bucket or per distinct value, the
 * latter capped (FACET_MAX_VALUES) with the Misra–Gries rule, which keeps every value
 * whose count is above total/cap and marks the answer approximate.
 */
import type { Node } from './ast.js';
import { RinglogError } from '../errors.js';
import type { DecodedBlock } from '../store/block-decoder.js';
import { StoreReader, newStats, type ScanCursor, type ScanStats, type SortKey } from '../store/store-reader.js';
import type { LogRecord } from '../record/record.js';
import { FACILITY_NAMES, SEVERITY_NAMES } from '../record/severity.js';

/** Buckets of one histogram at most. */
export const MAX_BUCKETS = 10_000;
/** Distinct values counted per facet field before counts become approximate. */
export const FACET_MAX_VALUES = 100_000;

export interface SearchJob {
  kind: 'query';
  root: Node;
  order: 'newest' | 'oldest';
  /** 0 = no limit. */
  limit: number;
  after: ScanCursor | null;
  /** Only records received at or before this (ns); the cursor carries it to later pages. */
  receivedBefore: bigint;
}

export interface CountJob {
  kind: 'count';
  root: Node;
}

export interface HitsJob {
  kind: 'hits';
  root: Node;
  /**
   * Records in [fromMs, toMs) (the root holds that range too), counted in buckets
   * aligned to the step since the epoch (UTC): [k·stepMs, (k+1)·stepMs). The first and
   * last bucket may be partly outside the range.
   */
  fromMs: number;
  toMs: number;
  stepMs: number;
}

export interface FacetsJob {
  kind: 'facets';
  root: Node;
  fields: string[];
  top: number;
}

export type Job = SearchJob | CountJob | HitsJob | FacetsJob;

export interface SearchResult {
  kind: 'query';
  matched: number;
  /** Where the next page starts, or null when this page reached the end. */
  cursor: string | null;
  stats: ScanStats;
}

export interface CountResult {
  kind: 'count';
  count: number;
  stats: ScanStats;
}

export interface HitsResult {
  kind: 'hits';
  stepMs: number;
  buckets: { time: string; ms: number; count: number }[];
  total: number;
  stats: ScanStats;
}

export interface FacetsResult {
  kind: 'facets';
  facets: { field: string; values: { value: string; count: number }[]; distinct: number; approximate: boolean }[];
  total: number;
  stats: ScanStats;
}

export type JobResult = SearchResult | CountResult | HitsResult | FacetsResult;

/** What a job is given to report with and to be stopped by. */
export interface JobContext {
  /** A search's records, one at a time, in order; a promise asks the search to wait (flow control). */
  emit(record: LogRecord): void | Promise<void>;
  /** Throws to stop the job (cancelled, past its deadline); called between blocks. */
  check(): void;
}

export async function runJob(reader: StoreReader, job: Job, ctx: JobContext): Promise<JobResult> {
  switch (job.kind) {
    case 'query':
      return await runSearch(reader, job, ctx);
    case 'count':
      return runCount(reader, job, ctx);
    case 'hits':
      return runHits(reader, job, ctx);
    case 'facets':
      return runFacets(reader, job, ctx);
  }
}

async function runSearch(reader: StoreReader, job: SearchJob, ctx: JobContext): Promise<SearchResult> {
  const stats = newStats();
  const limit = job.limit > 0 ? job.limit : Infinity;
  let last: SortKey | null = null;
  let equal = 0;
  let emitted = 0;
  // Ask for one more than the limit: whether it exists says if there is a next page.
  for (const hit of reader.scanKeyed({ query: job.root, order: job.order, limit: limit === Infinity ? Infinity : limit + 1, after: job.after, receivedBefore: job.receivedBefore, check: ctx.check }, stats)) {
    if (emitted === limit) {
      stats.matched--;
      let skip = equal;
      if (job.after !== null && sameKey(job.after.key, last!)) skip += job.after.skip;
      return { kind: 'query', matched: emitted, cursor: encodeCursor({ key: last!, skip }, job.order, job.receivedBefore), stats };
    }
    if (last !== null && sameKey(last, hit.key)) equal++;
    else equal = 1;
    last = hit.key;
    const wait = ctx.emit(hit.record);
    emitted++;
    if (wait !== undefined) await wait;
  }
  return { kind: 'query', matched: emitted, cursor: null, stats };
}

function sameKey(a: SortKey, b: SortKey): boolean {
  return a.tsMs === b.tsMs && a.tsNs === b.tsNs && a.rcMs === b.rcMs && a.rcNs === b.rcNs && a.hash === b.hash;
}

function runCount(reader: StoreReader, job: CountJob, ctx: JobContext): CountResult {
  const stats = newStats();
  reader.forEachMatch({ query: job.root, check: ctx.check }, () => {}, stats);
  return { kind: 'count', count: stats.matched, stats };
}

function runHits(reader: StoreReader, job: HitsJob, ctx: JobContext): HitsResult {
  const { stepMs } = job;
  const fromMs = Math.floor(job.fromMs / stepMs) * stepMs;
  const n = Math.ceil((job.toMs - fromMs) / stepMs);
  if (!(n >= 1 && n <= MAX_BUCKETS)) throw new RinglogError('RL_QUERY_INVALID', `a histogram of ${n} buckets: the range divided by the step must give 1 to ${MAX_BUCKETS} buckets`);
  const counts = new Float64Array(n);
  const add = (ms: number) => {
    const k = Math.floor((ms - fromMs) / stepMs);
    if (k >= 0 && k < n) counts[k]!++;
  };
  const stats = newStats();
  reader.forEachMatch({ query: job.root, check: ctx.check }, (b, rows) => {
    const ts = b.tsMs;
    for (let i = 0; i < b.n; i++) if (rows[i] === 1) add(ts[i]!);
  }, stats);
  const buckets: HitsResult['buckets'] = [];
  let total = 0;
  for (let k = 0; k < n; k++) {
    const ms = fromMs + k * stepMs;
    buckets.push({ time: new Date(ms).toISOString(), ms, count: counts[k]! });
    total += counts[k]!;
  }
  return { kind: 'hits', stepMs, buckets, total, stats };
}

/** What a facet counts: a header slot, severity/facility, a source part or a field. */
type FacetTarget =
  | { kind: 'slot'; slot: number }
  | { kind: 'severity' | 'facility' }
  | { kind: 'source'; part: number }
  | { kind: 'field'; name: string };

export function facetTarget(name: string): FacetTarget {
  const lower = name.toLowerCase();
  const slotAlias: Record<string, number> = { host: 0, hostname: 0, app: 1, appname: 1, procid: 2, pid: 2, msgid: 3 };
  // Object.hasOwn, not `in`: `'constructor' in {}` is true (a field named constructor, toString, __proto__…).
  if (Object.hasOwn(slotAlias, lower)) return { kind: 'slot', slot: slotAlias[lower]! };
  if (lower === 'severity' || lower === 'level') return { kind: 'severity' };
  if (lower === 'facility') return { kind: 'facility' };
  const parts: Record<string, number> = { listener: 0, transport: 1, peer: 2 };
  if (Object.hasOwn(parts, lower)) return { kind: 'source', part: parts[lower]! };
  if (lower === 'message' || lower === 'msg' || lower === 'time' || lower === '_time') {
    throw new RinglogError('RL_QUERY_INVALID', `facets: "${name}" cannot be counted by value; use host, app, procid, msgid, severity, facility, listener, transport, peer or a field name`);
  }
  const field = name.startsWith('fields.') ? name.slice('fields.'.length) : name;
  if (field.length === 0) throw new RinglogError('RL_QUERY_INVALID', 'facets: an empty field name');
  return { kind: 'field', name: field };
}

/** Counts values with at most `cap` counters (Misra–Gries: on overflow every counter drops by the smallest). */
class ValueCounter {
  readonly counts = new Map<string, number>();
  approximate = false;
  distinctSeen = 0;
  constructor(private readonly cap: number) {}

  add(v: string, by = 1): void {
    const c = this.counts.get(v);
    if (c !== undefined) {
      this.counts.set(v, c + by);
      return;
    }
    this.distinctSeen++;
    this.counts.set(v, by);
    if (this.counts.size > this.cap) {
      this.approximate = true;
      let min = Infinity;
      for (const x of this.counts.values()) if (x < min) min = x;
      for (const [k, x] of this.counts) {
        if (x <= min) this.counts.delete(k);
        else this.counts.set(k, x - min);
      }
    }
  }
}

function runFacets(reader: StoreReader, job: FacetsJob, ctx: JobContext): FacetsResult {
  const targets = job.fields.map(facetTarget);
  const counters = targets.map(() => new ValueCounter(FACET_MAX_VALUES));
  const stats = newStats();
  reader.forEachMatch({ query: job.root, check: ctx.check }, (b, rows) => {
    targets.forEach((t, ti) => countBlock(b, rows, t, counters[ti]!));
  }, stats);
  const top = Math.max(1, job.top);
  return {
    kind: 'facets',
    total: stats.matched,
    facets: job.fields.map((field, ti) => {
      const c = counters[ti]!;
      const values = [...c.counts].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0)).slice(0, top);
      return { field, values, distinct: c.distinctSeen, approximate: c.approximate };
    }),
    stats,
  };
}

function countBlock(b: DecodedBlock, rows: Uint8Array, t: FacetTarget, c: ValueCounter): void {
  const n = b.n;
  switch (t.kind) {
    case 'slot': {
      // Count dictionary ids, then add each distinct value once.
      const ids = b.slotIds[t.slot]!;
      const dict = b.slotDicts[t.slot]!;
      const per = new Float64Array(dict.length + 1);
      for (let i = 0; i < n; i++) if (rows[i] === 1) per[ids[i]!]!++;
      for (let k = 1; k <= dict.length; k++) if (per[k]! > 0) c.add(dict[k - 1]!, per[k]!);
      return;
    }
    case 'severity':
    case 'facility': {
      const col = t.kind === 'severity' ? b.severity : b.facility;
      const per = new Float64Array(256);
      for (let i = 0; i < n; i++) if (rows[i] === 1) per[col[i]!]!++;
      const names: readonly string[] = t.kind === 'severity' ? SEVERITY_NAMES : FACILITY_NAMES;
      for (let v = 0; v < 256; v++) if (per[v]! > 0) c.add(names[v] ?? String(v), per[v]!);
      return;
    }
    case 'source': {
      const nsrc = b.sources.length / 3;
      const per = new Float64Array(nsrc);
      const ids = b.sourceIds;
      for (let i = 0; i < n; i++) if (rows[i] === 1) per[ids[i]!]!++;
      for (let s = 0; s < nsrc; s++) if (per[s]! > 0) c.add(b.sources[3 * s + t.part]!, per[s]!);
      return;
    }
    case 'field':
      for (const f of b.fields) {
        if (f.name !== t.name) continue;
        for (let k = 0; k < f.rows.length; k++) {
          const row = f.rows[k]!;
          // The last value of a repeated key, as LogRecord.fields keeps.
          if (rows[row] !== 1 || (k + 1 < f.rows.length && f.rows[k + 1] === row)) continue;
          c.add(b.payload.toString('utf8', f.starts[k]!, f.starts[k]! + f.lens[k]!));
        }
      }
  }
}

// ---- cursors ----

/**
 * A cursor is opaque to clients: base64url of a JSON array [version, order, ts ms,
 * ts ns, received ms, received ns, hash, skip, received bound]. The received bound
 * makes every page of one search see the same records: those received before the
 * first page was asked for.
 */
export function encodeCursor(c: ScanCursor, order: 'newest' | 'oldest', receivedBefore: bigint): string {
  const k = c.key;
  return Buffer.from(JSON.stringify([1, order === 'newest' ? 'n' : 'o', k.tsMs, k.tsNs, k.rcMs, k.rcNs, k.hash, c.skip, receivedBefore.toString()])).toString('base64url');
}

export function decodeCursor(text: string): { cursor: ScanCursor; order: 'newest' | 'oldest'; receivedBefore: bigint } {
  const bad = () => new RinglogError('RL_QUERY_INVALID', 'cursor: not a cursor this server gave out (pass the "cursor" of the previous page as it is)');
  let a: unknown;
  try {
    a = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(a) || a.length !== 9 || a[0] !== 1 || (a[1] !== 'n' && a[1] !== 'o')) throw bad();
  const nums = a.slice(2, 8) as unknown[];
  if (!nums.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) throw bad();
  if (typeof a[8] !== 'string' || !/^\d{1,25}$/.test(a[8])) throw bad();
  const [tsMs, tsNs, rcMs, rcNs, hash, skip] = nums as number[];
  if (tsNs! >= 1_000_000 || rcNs! >= 1_000_000 || hash! > 0xffffffff) throw bad();
  return { cursor: { key: { tsMs: tsMs!, tsNs: tsNs!, rcMs: rcMs!, rcNs: rcNs!, hash: hash! }, skip: skip! }, order: a[1] === 'n' ? 'newest' : 'oldest', receivedBefore: BigInt(a[8]) };
}

/** A step for about `target` buckets over `rangeMs`, rounded to a step people read easily. */
export function niceStep(rangeMs: number, target = 60): number {
  const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 7 * 86_400_000, 30 * 86_400_000];
  const want = rangeMs / target;
  for (const s of steps) if (s >= want) return s;
  return steps[steps.length - 1]!;
}

