/**
 * Interns byte strings (host names, app names, pids, message ids of one block) into
 * small ids without making a JS string per record: a hash of the bytes, open
 * addressing, the bytes themselves in one arena (arena.ts). A block builder has one per column
 * and starts over with each block.
 */
import { Arena } from './arena.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export class ByteDictionary {
  /** Open addressing: entry id + 1 per slot, 0 empty; never more than half full. (Read and written by the native append loop too, block-append.ts.) */
  table = new Int32Array(256);
  /** Each entry's FNV-1a hash. */
  hashes = new Int32Array(64);
  starts = new Uint32Array(64);
  lens = new Uint32Array(64);
  /** The entries' bytes: entry id is arena.buf[starts[id], starts[id] + lens[id]). */
  readonly arena = new Arena(4096);
  size = 0;

  /** The id intern() returned last: consecutive records mostly repeat it (same host, same app). */
  private last = -1;

  /** Id (0-based) of buf[start, end). */
  intern(buf: Buffer, start: number, end: number): number {
    const last = this.last;
    if (last >= 0 && this.lens[last] === end - start && this.same(last, buf, start, end - start)) return last;
    const id = this.lookup(buf, start, end);
    this.last = id;
    return id;
  }

  private lookup(buf: Buffer, start: number, end: number): number {
    let h = FNV_OFFSET;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, FNV_PRIME);
    const len = end - start;
    const mask = this.table.length - 1;
    let slot = h & mask;
    for (;;) {
      const e = this.table[slot]!;
      if (e === 0) break;
      const id = e - 1;
      if (this.hashes[id] === h && this.lens[id] === len && this.same(id, buf, start, len)) return id;
      slot = (slot + 1) & mask;
    }
    return this.insert(h, slot, buf, start, end);
  }

  private same(id: number, buf: Uint8Array, start: number, len: number): boolean {
    const a = this.arena.buf;
    const o = this.starts[id]!;
    for (let i = 0; i < len; i++) if (a[o + i] !== buf[start + i]) return false;
    return true;
  }

  private insert(h: number, slot: number, buf: Buffer, start: number, end: number): number {
    const id = this.size;
    const len = end - start;
    if (id === this.hashes.length) {
      const grow = <T extends Int32Array | Uint32Array>(a: T, b: T): T => {
        b.set(a);
        return b;
      };
      const n = id * 2;
      this.hashes = grow(this.hashes, new Int32Array(n));
      this.starts = grow(this.starts, new Uint32Array(n));
      this.lens = grow(this.lens, new Uint32Array(n));
    }
    this.hashes[id] = h;
    this.starts[id] = this.arena.put(buf, start, end);
    this.lens[id] = len;
    this.size = id + 1;
    this.table[slot] = id + 1;
    if (this.size * 2 > this.table.length) this.rehash();
    return id;
  }

  private rehash(): void {
    const table = new Int32Array(this.table.length * 2);
    const mask = table.length - 1;
    for (let id = 0; id < this.size; id++) {
      let slot = this.hashes[id]! & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = id + 1;
    }
    this.table = table;
  }
}
