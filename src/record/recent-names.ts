/**
 * Names (JSON keys, RFC 5424 SD names) of recent records, remembered by their place in
 * the record: records of one source repeat their names in the same order, so a parser
 * that finds, at a place, the bytes it remembered there takes the remembered id (and
 * tag: the JSON key's role) instead of validating, hashing and interning them again.
 *
 * Ids belong to one KeyDictionary: asked with another, the memory is emptied first.
 * Names longer than `maxBytes` are not remembered. One instance per parser and thread
 * (parsing is synchronous).
 */
import type { KeyDictionary } from './key-dictionary.js';

export class RecentNames {
  private keys: KeyDictionary | null = null;
  private readonly bytes: Uint8Array;
  /** Length of the name remembered in a slot; -1 for none. */
  private readonly len: Int32Array;
  private readonly prefix: Int32Array;
  readonly id: Int32Array;
  readonly tag: Uint8Array;

  constructor(slots: number, private readonly maxBytes: number) {
    this.bytes = new Uint8Array(slots * maxBytes);
    this.len = new Int32Array(slots).fill(-1);
    this.prefix = new Int32Array(slots);
    this.id = new Int32Array(slots);
    this.tag = new Uint8Array(slots);
  }

  /**
   * The length of the name remembered in `slot` under `prefix` when buf[p, end) starts
   * with it, else -1. The caller checks that the name ends there.
   */
  startsAt(keys: KeyDictionary, slot: number, prefix: number, buf: Uint8Array, p: number, end: number): number {
    if (this.keys !== keys) {
      this.keys = keys;
      this.len.fill(-1);
      return -1;
    }
    const n = this.len[slot]!;
    if (n < 0 || this.prefix[slot] !== prefix || p + n > end) return -1;
    const base = slot * this.maxBytes - p;
    for (let k = p; k < p + n; k++) if (buf[k] !== this.bytes[base + k]) return -1;
    return n;
  }

  /** Remembers buf[s, e) in `slot` (for the dictionary last asked about). */
  remember(slot: number, prefix: number, buf: Uint8Array, s: number, e: number, id: number, tag = 0): void {
    if (e - s > this.maxBytes) return;
    const base = slot * this.maxBytes - s;
    for (let k = s; k < e; k++) this.bytes[base + k] = buf[k]!;
    this.len[slot] = e - s;
    this.prefix[slot] = prefix;
    this.id[slot] = id;
    this.tag[slot] = tag;
  }
}
