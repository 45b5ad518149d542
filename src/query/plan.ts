/**
 * A query compiled for the store (docs/query.md, "How a query runs"). The same tree
 * is tested at three levels:
 *
 *   blockMayMatch  a block's index entry (time range, severity and facility masks,
 *                  token filter): false means no record of the block can match, and
 *                  the block is never read;
 *   rows           a decoded block, column at a time: one pass per term over the
 *                  column it needs (a word search runs over all messages of the
 *                  block at once), returning the matching rows;
 *   record         one LogRecord (records still in the WAL, live tail): the
 *                  reference semantics of evaluate.ts.
 *
 * `rows` must agree with `record` on every record; the property tests in
 * test/query/ check it against brute force.
 */
import type { FieldRef, Match, Node } from './ast.js';
import { matches, strictNumber } from './evaluate.js';
import type { DecodedBlock } from '../store/block-decoder.js';
import type { BlockSummary } from '../store/segment.js';
import { hashPair, isTokenByte, pairProbe, tokenHashes } from '../store/tokenizer.js';
import { SLOT_NAMES } from '../store/block-builder.js';
import type { LogRecord } from '../record/record.js';

const NS_PER_MS = 1_000_000n;

/** A time bound as the store keeps times: whole ms and ns within the ms. */
export interface TimePoint {
  ms: number;
  ns: number;
}

export function toTimePoint(ns: bigint): TimePoint {
  let ms = ns / NS_PER_MS;
  let rest = ns % NS_PER_MS;
  if (rest < 0n) {
    rest += NS_PER_MS;
    ms -= 1n;
  }
  return { ms: Number(ms), ns: Number(rest) };
}

/** (ms, ns) → ns since the epoch. */
export function fromTimePoint(t: TimePoint): bigint {
  return BigInt(t.ms) * NS_PER_MS + BigInt(t.ns);
}

/** The node with what the block-level tests need computed once. */
type Compiled =
  | { kind: 'all' }
  | { kind: 'and' | 'or'; items: Compiled[] }
  | { kind: 'not'; item: Compiled }
  | { kind: 'text'; field: FieldRef | null; match: Match; /** token-filter hashes that must all be present; null = no index help */ hashes: number[] | null; needle: TextNeedle | null; node: Node }
  | { kind: 'mask'; what: 'severity' | 'facility'; mask: number }
  | { kind: 'compare'; name: string; op: string; value: number }
  | { kind: 'time'; from: TimePoint | null; to: TimePoint | null };

/** A words match prepared for column search. */
interface TextNeedle {
  /**
   * The needle's UTF-8 bytes as a pattern over a latin1 view of a column (one char per
   * byte): ASCII letters as [xX] classes, every other byte as itself. V8 scans such a
   * pattern at GB/s, several times faster than lower-casing the column and searching it.
   */
  re: RegExp;
  /** Its length in bytes. */
  len: number;
  startsTok: boolean;
  endsTok: boolean;
}

export interface Plan {
  root: Node;
  /** The widest time range any matching record can be in (for partition pruning). */
  from: TimePoint | null;
  to: TimePoint | null;
  /** False when the block's time range lies outside [from, to). */
  blockInTime(entry: BlockSummary): boolean;
  blockMayMatch(entry: BlockSummary): boolean;
  /** Matching rows of a block: 1 at each row that matches. */
  rows(block: DecodedBlock): Uint8Array;
}

export function planQuery(root: Node): Plan {
  const c = compile(root);
  const hull = timeHull(c);
  return {
    root,
    from: hull.from,
    to: hull.to,
    blockInTime: (e) => blockMayMatch({ kind: 'time', from: hull.from, to: hull.to }, e),
    blockMayMatch: (e) => blockMayMatch(c, e),
    rows(b: DecodedBlock): Uint8Array {
      const cand = new Uint8Array(b.n).fill(1);
      return evalRows(c, new BlockContext(b), cand);
    },
  };
}

function compile(n: Node): Compiled {
  switch (n.kind) {
    case 'all':
      return n;
    case 'and':
    case 'or':
      return { kind: n.kind, items: n.items.map(compile) };
    case 'not':
      return { kind: 'not', item: compile(n.item) };
    case 'time':
      return { kind: 'time', from: n.from === null ? null : toTimePoint(n.from), to: n.to === null ? null : toTimePoint(n.to) };
    case 'level': {
      let mask = 0;
      for (const v of n.values) if (Number.isInteger(v) && v >= 0 && v < 32) mask |= 1 << v;
      return { kind: 'mask', what: n.field.kind, mask: mask >>> 0 };
    }
    case 'compare': {
      if (n.field.kind === 'severity' || n.field.kind === 'facility') {
        const top = n.field.kind === 'severity' ? 7 : 23;
        let mask = 0;
        for (let v = 0; v <= top; v++) if (compareNum(v, n.op, n.value)) mask |= 1 << v;
        return { kind: 'mask', what: n.field.kind, mask: mask >>> 0 };
      }
      const name = n.field.kind === 'field' ? n.field.name : '';
      return { kind: 'compare', name, op: n.op, value: n.value };
    }
    case 'match':
      return { kind: 'text', field: n.field, match: n.match, hashes: filterHashes(n.field, n.match), needle: textNeedle(n.field, n.match), node: n };
  }
}

/**
 * Whether a query text holds U+FFFD. Blocks keep text as the bytes received: an
 * invalid UTF-8 sequence is stored (and indexed) as its own bytes, and reads as U+FFFD
 * only once decoded. A U+FFFD in a query may stand for such bytes, so neither the
 * index nor a byte comparison can decide: such terms are tested on decoded text.
 */
function hasReplacement(s: string): boolean {
  return s.includes('\uFFFD');
}

/** The token-filter hashes a block must hold for this term to match anywhere in it; null when the index cannot tell. */
function filterHashes(field: FieldRef | null, m: Match): number[] | null {
  if ((m.kind === 'words' && hasReplacement(m.text)) || (m.kind === 'exact' && hasReplacement(m.value))) return null;
  if (m.kind === 'words' && (field === null || field.kind === 'message')) {
    // Every token of the words occurs in the message or a field value, both indexed by word.
    const h = tokenHashes(m.text);
    return h.length > 0 ? h : null;
  }
  if (m.kind !== 'exact' || field === null) return null;
  // The index holds lower-cased pairs; an exact (case-sensitive) match implies its lower-cased pair.
  if (field.kind === 'slot') return [hashPair(field.name, m.value)];
  if (field.kind === 'field') return [pairProbe(field.name, m.value)];
  return null;
}

function textNeedle(field: FieldRef | null, m: Match): TextNeedle | null {
  // A U+FFFD may stand for invalid bytes in the column (hasReplacement): tested on decoded text instead.
  if (m.kind !== 'words' || !(field === null || field.kind === 'message') || m.text.length === 0 || hasReplacement(m.text)) return null;
  const bytes = Buffer.from(m.text, 'utf8');
  let src = '';
  for (const b of bytes) {
    const lower = b >= 0x41 && b <= 0x5a ? b + 32 : b;
    if (lower >= 0x61 && lower <= 0x7a) src += `[${String.fromCharCode(lower)}${String.fromCharCode(lower - 32)}]`;
    else src += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return { re: new RegExp(src, 'g'), len: bytes.length, startsTok: isTokenByte(bytes[0]!), endsTok: isTokenByte(bytes[bytes.length - 1]!) };
}

function compareNum(x: number, op: string, v: number): boolean {
  switch (op) {
    case '<': return x < v;
    case '<=': return x <= v;
    case '>': return x > v;
    default: return x >= v;
  }
}

function cmpTP(a: TimePoint, b: TimePoint): number {
  return a.ms !== b.ms ? (a.ms < b.ms ? -1 : 1) : a.ns - b.ns;
}

/** The hull of the time ranges a match can be in: AND intersects, OR joins, anything else is unbounded. */
function timeHull(c: Compiled): { from: TimePoint | null; to: TimePoint | null } {
  switch (c.kind) {
    case 'time':
      return { from: c.from, to: c.to };
    case 'and': {
      let from: TimePoint | null = null;
      let to: TimePoint | null = null;
      for (const it of c.items) {
        const h = timeHull(it);
        if (h.from !== null && (from === null || cmpTP(h.from, from) > 0)) from = h.from;
        if (h.to !== null && (to === null || cmpTP(h.to, to) < 0)) to = h.to;
      }
      return { from, to };
    }
    case 'or': {
      if (c.items.length === 0) return { from: null, to: null };
      const hs = c.items.map(timeHull);
      const from = hs.some((h) => h.from === null) ? null : hs.map((h) => h.from!).reduce((a, b) => (cmpTP(a, b) <= 0 ? a : b));
      const to = hs.some((h) => h.to === null) ? null : hs.map((h) => h.to!).reduce((a, b) => (cmpTP(a, b) >= 0 ? a : b));
      return { from, to };
    }
    default:
      return { from: null, to: null };
  }
}

function blockMayMatch(c: Compiled, e: BlockSummary): boolean {
  switch (c.kind) {
    case 'and':
      for (const it of c.items) if (!blockMayMatch(it, e)) return false;
      return true;
    case 'or':
      for (const it of c.items) if (blockMayMatch(it, e)) return true;
      return c.items.length === 0;
    case 'time': {
      const h = e.header;
      if (c.from !== null && cmpTP({ ms: h.maxMs, ns: h.maxNs }, c.from) < 0) return false;
      if (c.to !== null && cmpTP({ ms: h.minMs, ns: h.minNs }, c.to) >= 0) return false;
      return true;
    }
    case 'mask':
      return ((c.what === 'severity' ? e.header.sevMask : e.header.facMask) & c.mask) >>> 0 !== 0;
    case 'text':
      if (c.hashes !== null) for (const h of c.hashes) if (!e.filter.mayContain(h)) return false;
      return true;
    default:
      // NOT, comparisons on fields, match-all: the index cannot rule a block out.
      return true;
  }
}

/** Per-block memo of column views shared by the terms of one query. */
class BlockContext {
  private views = new Map<string, string>();
  constructor(readonly b: DecodedBlock) {}

  /** The bytes [start, end) of the payload as a latin1 string: one char per byte, so offsets carry over. */
  latin1(key: string, start: number, end: number): string {
    let s = this.views.get(key);
    if (s === undefined) {
      s = this.b.payload.toString('latin1', start, end);
      this.views.set(key, s);
    }
    return s;
  }
}

/** Rows of `cand` that match `c` (a new array; `cand` is not changed). */
function evalRows(c: Compiled, ctx: BlockContext, cand: Uint8Array): Uint8Array {
  const b = ctx.b;
  const n = b.n;
  switch (c.kind) {
    case 'all':
      return cand.slice();
    case 'and': {
      let cur = cand;
      for (const it of c.items) {
        cur = evalRows(it, ctx, cur);
        if (cur.indexOf(1) < 0) break;
      }
      return cur === cand ? cand.slice() : cur;
    }
    case 'or': {
      const res = new Uint8Array(n);
      const rest = cand.slice();
      for (const it of c.items) {
        if (rest.indexOf(1) < 0) break;
        const r = evalRows(it, ctx, rest);
        for (let i = 0; i < n; i++) if (r[i] === 1) {
          res[i] = 1;
          rest[i] = 0;
        }
      }
      return res;
    }
    case 'not': {
      const r = evalRows(c.item, ctx, cand);
      const res = cand.slice();
      for (let i = 0; i < n; i++) if (r[i] === 1) res[i] = 0;
      return res;
    }
    case 'time': {
      const tsMs = b.tsMs;
      const tsNs = b.tsNs;
      const res = new Uint8Array(n);
      const { from, to } = c;
      for (let i = 0; i < n; i++) {
        if (cand[i] !== 1) continue;
        const ms = tsMs[i]!;
        const ns = tsNs[i]!;
        if (from !== null && (ms < from.ms || (ms === from.ms && ns < from.ns))) continue;
        if (to !== null && (ms > to.ms || (ms === to.ms && ns >= to.ns))) continue;
        res[i] = 1;
      }
      return res;
    }
    case 'mask': {
      const col = c.what === 'severity' ? b.severity : b.facility;
      const res = new Uint8Array(n);
      for (let i = 0; i < n; i++) if (cand[i] === 1 && ((1 << col[i]!) & c.mask) !== 0) res[i] = 1;
      return res;
    }
    case 'compare': {
      const res = new Uint8Array(n);
      forFieldValues(b, c.name, cand, (row, start, end) => {
        const x = strictNumber(b.payload.toString('utf8', start, end));
        res[row] = x !== null && compareNum(x, c.op, c.value) ? 1 : 0;
      });
      return res;
    }
    case 'text':
      return textRows(c, ctx, cand);
  }
}

/**
 * Calls fn(row, start, end) for the value of field `name` in every candidate row that
 * has one; when a record repeats a key, only its last value (as LogRecord.fields keeps).
 */
function forFieldValues(b: DecodedBlock, name: string, cand: Uint8Array, fn: (row: number, start: number, end: number) => void): void {
  for (const f of b.fields) {
    if (f.name !== name) continue;
    const rows = f.rows;
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k]!;
      if (cand[row] !== 1 || (k + 1 < rows.length && rows[k + 1] === row)) continue;
      fn(row, f.starts[k]!, f.starts[k]! + f.lens[k]!);
    }
  }
}


/** A string test for a field, slot or source value (exact, glob, regex; `exists` is handled by the callers). */
function valueTester(m: Match, node: Node): (v: string) => boolean {
  switch (m.kind) {
    case 'exact':
      return (v) => v === m.value;
    case 'exists':
      return () => true;
    default:
      // glob, regex, words on a value: the reference semantics on a one-field record.
      return (v) => matches(node, { ...EMPTY_RECORD, fields: { [VALUE_PROBE]: v } });
  }
}

const VALUE_PROBE = 'v';
const EMPTY_RECORD: LogRecord = {
  timestamp: 0n, received: 0n, host: null, app: null, procid: null, msgid: null, facility: 1, severity: 6, message: '', fields: {},
  source: { listener: '', transport: 'tcp', peer: '' },
};

function textRows(c: Extract<Compiled, { kind: 'text' }>, ctx: BlockContext, cand: Uint8Array): Uint8Array {
  const b = ctx.b;
  const n = b.n;
  const res = new Uint8Array(n);
  const f = c.field;
  const m = c.match;
  if (f !== null && f.kind === 'slot') {
    const slot = SLOT_NAMES.indexOf(f.name);
    const dict = b.slotDicts[slot]!;
    // Test each dictionary entry once; rows look their id up.
    const probe = valueTester(m, { kind: 'match', field: { kind: 'field', name: VALUE_PROBE }, match: m });
    const ok = new Uint8Array(dict.length + 1);
    for (let k = 0; k < dict.length; k++) ok[k + 1] = m.kind === 'exists' || probe(dict[k]!) ? 1 : 0;
    const ids = b.slotIds[slot]!;
    for (let i = 0; i < n; i++) if (cand[i] === 1 && ok[ids[i]!] === 1) res[i] = 1;
    return res;
  }
  if (f !== null && f.kind === 'source') {
    const part = f.name === 'listener' ? 0 : f.name === 'transport' ? 1 : 2;
    const nsrc = b.sources.length / 3;
    const probe = valueTester(m, { kind: 'match', field: { kind: 'field', name: VALUE_PROBE }, match: m });
    const ok = new Uint8Array(nsrc);
    for (let s = 0; s < nsrc; s++) ok[s] = m.kind === 'exists' || probe(b.sources[3 * s + part]!) ? 1 : 0;
    const srcIds = b.sourceIds;
    for (let i = 0; i < n; i++) if (cand[i] === 1 && ok[srcIds[i]!] === 1) res[i] = 1;
    return res;
  }
  if (f !== null && f.kind === 'field') {
    const probe = valueTester(m, { kind: 'match', field: { kind: 'field', name: VALUE_PROBE }, match: m });
    const exact = m.kind === 'exact' && !hasReplacement(m.value) ? Buffer.from(m.value, 'utf8') : null;
    if (exact !== null && exact.length > 0) {
      for (const fc of b.fields) if (fc.name === f.name) findExactValues(b.payload, fc, exact, cand, res);
      return res;
    }
    forFieldValues(b, f.name, cand, (row, start, end) => {
      if (exact !== null) res[row] = end - start === exact.length && b.payload.compare(exact, 0, exact.length, start, end) === 0 ? 1 : 0;
      else res[row] = probe(b.payload.toString('utf8', start, end)) ? 1 : 0;
    });
    return res;
  }
  if (f !== null && (f.kind === 'severity' || f.kind === 'facility')) {
    // The parser gives these as level/compare nodes; any other match: reference semantics per row.
    for (let i = 0; i < n; i++) if (cand[i] === 1 && matches(c.node, b.record(i))) res[i] = 1;
    return res;
  }
  // The message (bare terms: the message or any field value).
  const bare = f === null;
  if (c.needle !== null) {
    searchColumn(ctx, 'm', b.msgStarts, b.msgLens, null, c.needle, cand, res);
    if (bare) {
      for (let fi = 0; fi < b.fields.length; fi++) {
        const fc = b.fields[fi]!;
        searchColumn(ctx, `f${fi}`, fc.starts, fc.lens, fc.rows, c.needle, cand, res);
      }
    }
    return res;
  }
  if (m.kind === 'exists') {
    // Every record has a message; `name:*` on a bare term does not occur.
    res.set(cand);
    return res;
  }
  // glob / regex on the message (and field values for bare terms): the reference
  // semantics on the text, a value tested as a message would be.
  const textNode: Node = { kind: 'match', field: { kind: 'message' }, match: m };
  for (let i = 0; i < n; i++) {
    if (cand[i] !== 1) continue;
    if (matches(textNode, { ...EMPTY_RECORD, message: b.message(i) })) res[i] = 1;
  }
  if (bare) {
    for (const fc of b.fields) {
      for (let k = 0; k < fc.rows.length; k++) {
        const row = fc.rows[k]!;
        if (cand[row] !== 1 || res[row] === 1 || (k + 1 < fc.rows.length && fc.rows[k + 1] === row)) continue;
        const v = b.payload.toString('utf8', fc.starts[k]!, fc.starts[k]! + fc.lens[k]!);
        if (matches(textNode, { ...EMPTY_RECORD, message: v })) res[row] = 1;
      }
    }
  }
  return res;
}

/**
 * Marks the candidate rows whose value of field column `fc` is exactly `value`: the
 * column's values lie one after the other, so one Buffer.indexOf pass over them finds
 * every place the bytes occur (memmem speed), and only those are checked to be a whole
 * value. A needle (an id that occurs once) costs a scan, not a comparison per row.
 * For a repeated key only the last value of a row counts (as LogRecord.fields keeps).
 */
function findExactValues(payload: Buffer, fc: DecodedBlock['fields'][number], value: Buffer, cand: Uint8Array, res: Uint8Array): void {
  const count = fc.starts.length;
  if (count === 0) return;
  const { starts, lens, rows } = fc;
  const end = starts[count - 1]! + lens[count - 1]!;
  let k = 0;
  for (let at = payload.indexOf(value, starts[0]!); at >= 0 && at + value.length <= end; at = payload.indexOf(value, at + 1)) {
    // Empty values share their start with the next value and never match: step over them.
    while (k < count && (starts[k]! < at || lens[k] === 0)) k++;
    if (k >= count) return;
    if (starts[k] !== at || lens[k] !== value.length) continue;
    const row = rows[k]!;
    if (cand[row] !== 1 || (k + 1 < count && rows[k + 1] === row)) continue;
    res[row] = 1;
  }
}

/**
 * Marks in `res` the candidate rows whose value in a column holds the needle. The
 * column's values lie one after the other in the payload (starts[k], lens[k]); `rows`
 * maps value k to its row (null: value k is row k). The whole column is searched at
 * once, as one latin1 string; each hit is checked for token boundaries and for lying
 * inside one value.
 */
function searchColumn(ctx: BlockContext, key: string, starts: Uint32Array, lens: Uint32Array, rows: Uint32Array | null, nd: TextNeedle, cand: Uint8Array, res: Uint8Array): void {
  const count = starts.length;
  if (count === 0) return;
  const base = starts[0]!;
  const end = starts[count - 1]! + lens[count - 1]!;
  const text = ctx.latin1(key, base, end);
  const len = nd.len;
  const re = nd.re;
  const payload = ctx.b.payload;
  let k = 0;
  re.lastIndex = 0;
  for (;;) {
    const m = re.exec(text);
    if (m === null) return;
    const at = m.index;
    re.lastIndex = at + 1; // overlapping occurrences: "aa" twice in "aaa"
    const abs = at + base;
    // Advance to the value holding the hit (hits come in order).
    while (k < count && starts[k]! + lens[k]! <= abs) k++;
    if (k >= count) return;
    const vStart = starts[k]!;
    const vEnd = vStart + lens[k]!;
    if (abs < vStart || abs + len > vEnd) continue;
    const row = rows === null ? k : rows[k]!;
    if (cand[row] !== 1 || res[row] === 1) continue;
    if (rows !== null && k + 1 < count && rows[k + 1] === row) continue; // an earlier value of a repeated key
    if (nd.startsTok && abs > vStart && isTokenByte(payload[abs - 1]!)) continue;
    if (nd.endsTok && abs + len < vEnd && isTokenByte(payload[abs + len]!)) continue;
    res[row] = 1;
  }
}
