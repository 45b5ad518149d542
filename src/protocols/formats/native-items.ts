/**
 * The scratch memory of a native parsing pass (rfc5424-native.ts, json-native.ts): per
 * frame of the batch, whether the pass took it, and the items it lists for the frames
 * it took (those of frame i are items[itemAt[i], itemAt[i+1]), 4 words each). One per
 * pass and thread, for the batch being parsed: parsing is synchronous.
 */
export class ItemScratch {
  taken = new Uint8Array(0);
  items = new Uint32Array(0);
  itemAt = new Uint32Array(0);
  /** Frames the last run() took (0 when the pass took none or did not run). */
  took = 0;

  /** `maxWords`: item room per batch at most; frames whose items do not fit go to JavaScript. */
  constructor(private readonly maxWords: number) {}

  /**
   * Runs `pass` over a batch of `n` frames with room for `words` item words to begin
   * with. The pass returns the frames it took, or -1 when some valid frame's items did
   * not fit (it marks those 2 and writes nothing for them); it then runs again with four
   * times the room, up to maxWords (a run writes nothing a later run would not write the
   * same). Returns the taken flags, or null when the pass took no frame.
   */
  run(n: number, words: number, pass: (s: ItemScratch) => number): Uint8Array | null {
    if (this.taken.length < n) {
      this.taken = new Uint8Array(Math.max(n, 1024));
      this.itemAt = new Uint32Array(Math.max(n, 1024) + 1);
    }
    const want = Math.min(this.maxWords, words);
    if (this.items.length < want) this.items = new Uint32Array(Math.max(want, 64 * 1024));
    this.took = 0;
    for (;;) {
      const took = pass(this);
      if (took >= 0) {
        this.took = took;
        return took > 0 ? this.taken : null;
      }
      if (this.items.length >= this.maxWords) return this.taken;
      this.items = new Uint32Array(Math.min(this.maxWords, this.items.length * 4));
    }
  }
}
