/**
 * Tokens for the block index (docs/storage.md, "Index"). A token is a maximal run of
 * ASCII letters, digits and `_`, or of bytes ≥ 0x80 (so UTF-8 words stay whole),
 * lower-cased (ASCII) before hashing: word search is case-insensitive. Tokens are
 * never made into strings on the write path: each is hashed from its bytes (FNV-1a,
 * 32 bits) straight into a HashSet32.
 *
 *   "GET /api/v1/orders 200"  →  get · api · v1 · orders · 200
 *
 * Field values, host and app are indexed whole, as `name=value` (exact match), also
 * lower-cased: `host=web-1`, `fields.req.id=7`.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** 1 for bytes that belong to a token. */
const TOKEN_BYTE = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  TOKEN_BYTE[c] = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c >= 0x80 ? 1 : 0;
}
/** ASCII lower-case; other bytes unchanged. */
const LOWER = new Uint8Array(256);
for (let c = 0; c < 256; c++) LOWER[c] = c >= 0x41 && c <= 0x5a ? c + 32 : c;

/** Set of 32-bit hashes, open addressing; 0 is the empty slot, so hash 0 is stored as 1. */
export class HashSet32 {
  private table: Uint32Array;
  size = 0;

  constructor(capacity = 1024) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.table = new Uint32Array(n);
  }

  /** The slot holding h (as stored: 0 becomes 1), or the empty slot where it would go. */
  private find(h: number): number {
    const t = this.table;
    const mask = t.length - 1;
    let i = Math.imul(h, 0x9e3779b1) >>> 0 & mask;
    for (;;) {
      const v = t[i]!;
      if (v === h || v === 0) return i;
      i = (i + 1) & mask;
    }
  }

  add(h: number): void {
    h = h >>> 0 || 1;
    const i = this.find(h);
    if (this.table[i] === h) return;
    this.table[i] = h;
    if (++this.size * 2 > this.table.length) this.grow();
  }

  has(h: number): boolean {
    h = h >>> 0 || 1;
    return this.table[this.find(h)] === h;
  }

  /** The slots: every non-zero entry is a hash of the set (for a loop without a call per hash). */
  get slots(): Uint32Array {
    return this.table;
  }

  /** Calls fn for every hash in the set. */
  forEach(fn: (h: number) => void): void {
    const t = this.table;
    for (let i = 0; i < t.length; i++) if (t[i] !== 0) fn(t[i]!);
  }

  /** Empties the set, keeping its table (the next block of a partition has about as many tokens). */
  clear(): void {
    this.table.fill(0);
    this.size = 0;
  }

  private grow(): void {
    const old = this.table;
    this.table = new Uint32Array(old.length * 2);
    this.size = 0;
    for (let i = 0; i < old.length; i++) if (old[i] !== 0) this.add(old[i]!);
  }
}

/** Adds the hash of every token of buf[start, end) to `out`. */
export function addTokens(out: HashSet32, buf: Uint8Array, start: number, end: number): void {
  let h = FNV_OFFSET;
  let inToken = false;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (TOKEN_BYTE[c] === 1) {
      h = Math.imul(h ^ LOWER[c]!, FNV_PRIME);
      inToken = true;
    } else if (inToken) {
      out.add(h);
      h = FNV_OFFSET;
      inToken = false;
    }
  }
  if (inToken) out.add(h);
}

/**
 * For a field value: adds `name=value` (whole, from pairPrefix(name)) and the words of
 * the value, in one pass over its bytes.
 */
export function addValueTokens(out: HashSet32, prefix: number, buf: Uint8Array, start: number, end: number): void {
  let pair = prefix;
  let h = FNV_OFFSET;
  let inToken = false;
  let whole = true; // the value is one token, nothing else
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    const l = LOWER[c]!;
    pair = Math.imul(pair ^ l, FNV_PRIME);
    if (TOKEN_BYTE[c] === 1) {
      h = Math.imul(h ^ l, FNV_PRIME);
      inToken = true;
    } else {
      whole = false;
      if (inToken) {
        out.add(h);
        h = FNV_OFFSET;
        inToken = false;
      }
    }
  }
  if (inToken) out.add(h);
  // A one-token value (an id, a number, a word) is found through its word hash; only
  // other values need `name=value` (see pairProbe): half the index for unique ids.
  if (!whole || end === start) out.add(pair);
}

/**
 * The hash a `name=value` query probes a block's bloom filter with: the word hash
 * when the value is one token (see addValueTokens), else the pair hash.
 */
export function pairProbe(name: string, value: string): number {
  const v = Buffer.from(value);
  let whole = v.length > 0;
  for (const c of v) if (TOKEN_BYTE[c] !== 1) whole = false;
  if (!whole) return hashPairFrom(pairPrefix(name), v, 0, v.length);
  let h = FNV_OFFSET;
  for (const c of v) h = Math.imul(h ^ LOWER[c]!, FNV_PRIME);
  return h >>> 0;
}

/** Hash state after `name=`, to continue with a value's bytes (hashPairFrom). */
export function pairPrefix(name: string): number {
  let h = FNV_OFFSET;
  for (const c of Buffer.from(`${name}=`)) h = Math.imul(h ^ LOWER[c]!, FNV_PRIME);
  return h;
}

/** Hash of `name=value` given pairPrefix(name) and the value's bytes. */
export function hashPairFrom(prefix: number, buf: Uint8Array, start: number, end: number): number {
  let h = prefix;
  for (let i = start; i < end; i++) h = Math.imul(h ^ LOWER[buf[i]!]!, FNV_PRIME);
  return h >>> 0;
}

/** Hash of `name=value` for a query. */
export function hashPair(name: string, value: string): number {
  const v = Buffer.from(value);
  return hashPairFrom(pairPrefix(name), v, 0, v.length);
}

/** Hashes of the tokens of a query word or phrase ("disk full" → two hashes). */
export function tokenHashes(text: string): number[] {
  const set = new HashSet32(16);
  const b = Buffer.from(text);
  addTokens(set, b, 0, b.length);
  const out: number[] = [];
  set.forEach((h) => out.push(h));
  return out;
}

/** The tokens of a text as strings (lower-cased), for query planning and tests. */
export function tokensOf(text: string): string[] {
  const b = Buffer.from(text);
  const out: string[] = [];
  let s = -1;
  for (let i = 0; i <= b.length; i++) {
    const tok = i < b.length && TOKEN_BYTE[b[i]!] === 1;
    if (tok && s < 0) s = i;
    else if (!tok && s >= 0) {
      out.push(Buffer.from(b.subarray(s, i).map((c) => LOWER[c]!)).toString('utf8'));
      s = -1;
    }
  }
  return out;
}

/** True when the byte at buf[i] is part of a token (for whole-word matching in filters). */
export function isTokenByte(c: number): boolean {
  return TOKEN_BYTE[c] === 1;
}
