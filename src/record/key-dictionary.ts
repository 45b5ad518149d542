/**
 * Interns field names (and a few constant values) by their bytes, so that a parser
 * turns `"user_id"` or `origin@123.ip` into a small integer without making a JS
 * string per record: the string is built once, the first time a name is seen.
 *
 * A name is (prefix id, bytes): `prefix` is the id of the enclosing name for nested
 * JSON objects and RFC 5424 SD-IDs, and the interned string is `prefix + "." + bytes`.
 *
 *   table (open addressing, power of two): slot → id + 1, 0 = empty
 *   per id: hash, prefix, [byteStart, byteLen) in `arena`, strings[id]
 *
 * Bounded: a dictionary stops growing at MAX_KEYS names or MAX_ARENA bytes; the
 * parser then starts a new one for the next batch (batches keep the dictionary they
 * were built with, so ids stay valid for as long as a batch lives). Hostile input
 * with endless distinct keys therefore costs bounded memory per batch, not a leak.
 */

/** Names per dictionary: far more than any real source uses; a batch past it still completes. */
export const MAX_KEYS = 1 << 16;
/** Bytes of names per dictionary. */
export const MAX_ARENA = 4 << 20;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** What a parsed batch's readers need of its key dictionary: the name of each id. */
export interface KeyNames {
  readonly strings: readonly string[];
  readonly size: number;
}

export class KeyDictionary implements KeyNames {
  /** id → name. Read-only for users of a batch. */
  readonly strings: string[] = [];
  private table = new Int32Array(1024);
  private hashes = new Int32Array(256);
  private prefixes = new Int32Array(256);
  private starts = new Uint32Array(256);
  private lens = new Uint32Array(256);
  private arena = Buffer.allocUnsafe(16 * 1024);
  private arenaUsed = 0;

  get size(): number {
    return this.strings.length;
  }

  /** True once the dictionary should be replaced (checked between batches). */
  get full(): boolean {
    return this.strings.length >= MAX_KEYS || this.arenaUsed >= MAX_ARENA;
  }

  /** Id of the name `buf[start, end)` (UTF-8), under `prefix` (-1 for none). */
  intern(buf: Uint8Array, start: number, end: number, prefix = -1): number {
    let h = FNV_OFFSET ^ (prefix + 1);
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, FNV_PRIME);
    const mask = this.table.length - 1;
    const len = end - start;
    let slot = h & mask;
    for (;;) {
      const e = this.table[slot]!;
      if (e === 0) break;
      const id = e - 1;
      if (this.hashes[id] === h && this.prefixes[id] === prefix && this.lens[id] === len && this.same(id, buf, start, len)) return id;
      slot = (slot + 1) & mask;
    }
    return this.insert(h, slot, buf, start, end, prefix);
  }

  /** Id of a name given as a string (escaped JSON keys, constants): the slow path. */
  internString(s: string, prefix = -1): number {
    const b = Buffer.from(s, 'utf8');
    return this.intern(b, 0, b.length, prefix);
  }

  private same(id: number, buf: Uint8Array, start: number, len: number): boolean {
    const a = this.arena;
    const o = this.starts[id]!;
    for (let i = 0; i < len; i++) if (a[o + i] !== buf[start + i]) return false;
    return true;
  }

  private insert(h: number, slot: number, buf: Uint8Array, start: number, end: number, prefix: number): number {
    const id = this.strings.length;
    const len = end - start;
    if (id === this.hashes.length) this.growIds();
    if (this.arenaUsed + len > this.arena.length) {
      const next = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.arenaUsed + len));
      this.arena.copy(next, 0, 0, this.arenaUsed);
      this.arena = next;
    }
    this.arena.set(buf.subarray(start, end), this.arenaUsed);
    this.hashes[id] = h;
    this.prefixes[id] = prefix;
    this.starts[id] = this.arenaUsed;
    this.lens[id] = len;
    this.arenaUsed += len;
    const name = this.arena.toString('utf8', this.starts[id]!, this.arenaUsed);
    this.strings.push(prefix >= 0 ? `${this.strings[prefix]}.${name}` : name);
    this.table[slot] = id + 1;
    if ((id + 1) * 2 > this.table.length) this.rehash();
    return id;
  }

  private growIds(): void {
    const n = this.hashes.length * 2;
    const grow = <T extends Int32Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.hashes = grow(this.hashes, (k) => new Int32Array(k));
    this.prefixes = grow(this.prefixes, (k) => new Int32Array(k));
    this.starts = grow(this.starts, (k) => new Uint32Array(k));
    this.lens = grow(this.lens, (k) => new Uint32Array(k));
  }

  private rehash(): void {
    const table = new Int32Array(this.table.length * 2);
    const mask = table.length - 1;
    for (let id = 0; id < this.strings.length; id++) {
      let slot = this.hashes[id]! & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = id + 1;
    }
    this.table = table;
  }
}
