/**
 * `POST /api/v1/ingest` bodies → frames, as the body streams in
 * (docs/ingest-compat.md, "ringlog NDJSON / JSON array / text").
 *
 *  - `ndjson`, `text`: one frame per line (LF or CR LF; the line end is not part of
 *    the frame). Lines of only spaces and tabs are skipped. The frames are not
 *    validated here: the route parses them with the `json` or `auto` format, where a
 *    line that does not parse becomes a raw record (docs/record.md, "Never throw,
 *    never lose").
 *  - `json-array`: `[ {…}, {…} ]`; one frame per element, the element's bytes as
 *    sent, found by a small scanner that follows strings, escapes and nesting
 *    without parsing the values (JSON.parse of the whole body would hold all of it,
 *    and every value, in memory). An element that is not an object is rejected
 *    (`not_object`).
 *  - `auto`: `json-array` when the first byte after whitespace (and a UTF-8 BOM) is
 *    `[`, else `ndjson`.
 *
 * A line that lies whole within one pushed chunk is returned as a view of that chunk
 * (no copy): the caller must not change a chunk while it holds frames from it. Lines
 * split across chunks, and array elements, are copies. With a `sink`, frames are not
 * collected but handed to it as they are found (buffer, start, end), as a framer hands
 * them to a BatchBuilder: no Buffer object per line.
 *
 * Memory is bounded by maxItem: an item (line or element) longer than that is not
 * kept; it is skipped to its end and rejected (`too_large`), and the items after it
 * are split as usual. Items are numbered from 0 in body order, rejected ones
 * included.
 *
 * The only exception thrown is IngestDecodeError('bad_json') for a json-array body
 * that is not an array (a stray byte between elements, brackets that do not match,
 * the end of the body inside the array). The push() that meets the error still
 * returns the frames before it, and the next push() or end() throws; frames returned
 * are complete elements that preceded the error.
 *
 * States of the array scanner:
 *
 *   Start ─[─► First ─{ or value─► Element ─end of value─► After ─,─► Next ─► Element
 *                 └─]─► Done                                  └─]─► Done (only whitespace may follow)
 */
import { IngestDecodeError } from './types.js';
import type { FrameSink } from '../framing/framer.js';
import { skipBom } from '../utf8-bom.js';

export type BodyKind = 'ndjson' | 'json-array' | 'text' | 'auto';

export interface SplitResult {
  /** The frames found (empty with a sink, which had them). */
  frames: Buffer[];
  rejected: { index: number; reason: 'too_large' | 'not_object' }[];
}

/** Containers open at once inside an element before the body is refused (as MAX_JSON_NESTING). */
const MAX_DEPTH = 512;

const enum A {
  Start, // before `[`
  First, // after `[`: an element or `]`
  Element, // inside an element
  After, // after an element: `,` or `]`
  Next, // after `,`: an element
  Done, // after `]`
}

const LF = 0x0a;
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const EMPTY = Buffer.alloc(0);

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export class IngestBodySplitter {
  private mode: 'lines' | 'array' | 'undecided';
  /** Bytes of the current item held so far (at most maxItem + 1 of them). */
  private parts: Buffer[] = [];
  private held = 0;
  /** Length of the current item, held or not (over maxItem: it is being skipped). */
  private itemLen = 0;
  private index = 0;
  private bomDone = false;
  private head: Buffer = EMPTY;

  // Array scanner state.
  private state = A.Start;
  private inString = false;
  private escape = false;
  private readonly stack = new Uint8Array(MAX_DEPTH);
  private depth = 0;
  /** The element is a number or literal: it ends before a delimiter. */
  private scalar = false;
  private isObject = false;
  /** Bytes of the body before the current chunk (for error messages). */
  private offset = 0;
  /** A structural error found by push(): thrown by the next push() or end(). */
  private failure: IngestDecodeError | null = null;

  /** Frames handed to the sink so far. */
  emitted = 0;

  constructor(readonly kind: BodyKind, readonly maxItem: number, private readonly sink: FrameSink | null = null) {
    if (!(maxItem >= 1)) throw new RangeError('maxItem must be at least 1');
    this.mode = kind === 'json-array' ? 'array' : kind === 'auto' ? 'undecided' : 'lines';
  }

  /** The kind in use: for `auto`, what the body turned out to be (`auto` until its first byte). */
  get detected(): BodyKind {
    if (this.mode === 'undecided') return 'auto';
    if (this.mode === 'array') return 'json-array';
    return this.kind === 'text' ? 'text' : 'ndjson';
  }

  push(input: Buffer): SplitResult {
    if (this.failure !== null) throw this.failure;
    const out: SplitResult = { frames: [], rejected: [] };
    const chunk = this.bomless(input);
    if (chunk === null) return out;
    let p = 0;
    if (this.mode === 'undecided') {
      while (p < chunk.length && isWs(chunk[p]!)) p++;
      if (p === chunk.length) return out;
      this.mode = chunk[p] === 0x5b ? 'array' : 'lines';
    }
    try {
      if (this.mode === 'lines') this.lines(chunk, p, out);
      else this.array(chunk, p, out);
    } catch (err) {
      // The frames of this chunk before the error are returned now; the error is
      // thrown by the next push() or end().
      if (!(err instanceof IngestDecodeError)) throw err;
      this.failure = err;
    }
    this.offset += chunk.length;
    return out;
  }

  /** The body is complete: the last line without a line end; for an array, the check that it was closed. */
  end(): SplitResult {
    if (this.failure !== null) throw this.failure;
    const out: SplitResult = { frames: [], rejected: [] };
    if (!this.bomDone && this.head.length > 0) {
      // One or two bytes that began like a BOM and then the body ended: they are the body.
      const rest = this.head;
      this.bomDone = true;
      this.head = EMPTY;
      const r = this.push(rest);
      out.frames.push(...r.frames);
      out.rejected.push(...r.rejected);
      if (this.failure !== null) throw this.failure;
    }
    if (this.mode === 'undecided') return out;
    if (this.mode === 'lines') {
      if (this.itemLen > 0) this.endLine(out);
    } else if (this.state !== A.Done) {
      throw new IngestDecodeError('bad_json', this.state === A.Start
        ? 'the body is empty: expected a JSON array'
        : `the body ends inside the JSON array (after ${this.offset} bytes)`);
    }
    return out;
  }

  /**
   * Drops a UTF-8 BOM at the very start of the body, even when it arrives split across
   * chunks: up to 2 bytes that may begin one wait in `head`.
   */
  private bomless(chunk: Buffer): Buffer | null {
    if (this.bomDone) return chunk;
    const b = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
    if (b.length < 3 && BOM.subarray(0, b.length).equals(b)) {
      this.head = Buffer.from(b);
      return null;
    }
    this.bomDone = true;
    this.head = EMPTY;
    return b.subarray(skipBom(b, 0, b.length));
  }

  // ---- lines ----

  private lines(chunk: Buffer, p: number, out: SplitResult): void {
    const e = chunk.length;
    while (p < e) {
      const nl = chunk.indexOf(LF, p);
      if (nl < 0) {
        this.take(chunk, p, e);
        return;
      }
      if (this.itemLen === 0) {
        this.wholeLine(chunk, p, nl, out);
      } else {
        this.take(chunk, p, nl);
        this.endLine(out);
      }
      p = nl + 1;
    }
  }

  /** A line that lies whole in the chunk, [s, e) without its LF: as endLine() takes one, but as a view. */
  private wholeLine(chunk: Buffer, s: number, e: number, out: SplitResult): void {
    if (this.tooLarge(out, e - s, e > s ? chunk[e - 1]! : -1)) return;
    this.keepLine(chunk, s, e, out);
  }

  private endLine(out: SplitResult): void {
    if (this.tooLarge(out, this.itemLen, this.lastByte())) {
      this.reset();
      return;
    }
    const frame = Buffer.concat(this.parts, this.held);
    this.reset();
    this.keepLine(frame, 0, frame.length, out);
  }

  /** A line of `len` bytes ending in `last` is over maxItem: rejected (it takes an index). maxItem + 1 bytes are fine when the last is the CR of a CR LF. */
  private tooLarge(out: SplitResult, len: number, last: number): boolean {
    if (len <= this.maxItem || (len === this.maxItem + 1 && last === CR)) return false;
    out.rejected.push({ index: this.index++, reason: 'too_large' });
    return true;
  }

  /** A complete line, buf[s, e) (its LF not in it): a frame without its CR, unless it is blank. */
  private keepLine(buf: Buffer, s: number, e: number, out: SplitResult): void {
    if (e > s && buf[e - 1] === CR) e--;
    if (isBlank(buf, s, e)) return;
    this.frame(buf, s, e, out);
  }

  private frame(buf: Buffer, s: number, e: number, out: SplitResult): void {
    this.index++;
    if (this.sink !== null) {
      this.sink(buf, s, e, 0);
      this.emitted++;
    } else {
      out.frames.push(s === 0 && e === buf.length ? buf : buf.subarray(s, e));
    }
  }

  private lastByte(): number {
    const last = this.parts[this.parts.length - 1];
    return last === undefined || last.length === 0 ? -1 : last[last.length - 1]!;
  }

  /**
   * Adds chunk[s, e) to the current item, holding bytes only up to maxItem + 1 (a line
   * of maxItem bytes may still have its CR); past that the item is only counted.
   */
  private take(chunk: Buffer, s: number, e: number): void {
    if (e <= s) return;
    const room = this.maxItem + 1 - this.held;
    if (this.itemLen === this.held && room > 0) {
      const n = Math.min(room, e - s);
      this.parts.push(Buffer.from(chunk.subarray(s, s + n))); // a copy: the caller may reuse its chunk
      this.held += n;
    }
    this.itemLen += e - s;
  }

  private reset(): void {
    this.parts = [];
    this.held = 0;
    this.itemLen = 0;
  }

  // ---- JSON array ----

  private array(chunk: Buffer, p: number, out: SplitResult): void {
    const e = chunk.length;
    while (p < e) {
      switch (this.state) {
        case A.Start: {
          const c = chunk[p]!;
          if (isWs(c)) { p++; break; }
          if (c !== 0x5b) this.fail(p, 'the body is not a JSON array');
          this.state = A.First;
          p++;
          break;
        }
        case A.First:
        case A.Next:
        case A.After: {
          const c = chunk[p]!;
          if (isWs(c)) { p++; break; }
          if (this.state === A.After) {
            if (c === 0x2c) this.state = A.Next;
            else if (c === 0x5d) this.state = A.Done;
            else this.fail(p, `expected , or ] after element ${this.index - 1}`);
            p++;
            break;
          }
          if (c === 0x5d && this.state === A.First) {
            this.state = A.Done;
            p++;
            break;
          }
          if (c === 0x5d || c === 0x2c) this.fail(p, 'expected an array element');
          this.startElement(c);
          break;
        }
        case A.Element:
          p = this.element(chunk, p, out);
          break;
        case A.Done:
          if (!isWs(chunk[p]!)) this.fail(p, 'data after the end of the JSON array');
          p++;
          break;
      }
    }
  }

  private startElement(c: number): void {
    this.state = A.Element;
    this.reset();
    this.depth = 0;
    this.inString = false;
    this.escape = false;
    this.isObject = c === 0x7b;
    this.scalar = c !== 0x7b && c !== 0x5b && c !== 0x22;
  }

  /**
   * Scans the element from chunk[p]: returns the position after its last byte once it
   * ended (the element is emitted), or chunk.length when it goes on in the next chunk.
   */
  private element(chunk: Buffer, p: number, out: SplitResult): number {
    const s = p;
    const e = chunk.length;
    while (p < e) {
      const c = chunk[p]!;
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === 0x5c) this.escape = true;
        else if (c === 0x22) {
          this.inString = false;
          if (this.depth === 0) {
            // A string element ends with its closing quote.
            this.take(chunk, s, p + 1);
            this.endElement(out);
            return p + 1;
          }
        }
        p++;
        continue;
      }
      if (this.scalar) {
        // A number or literal ends before a delimiter.
        if (c === 0x2c || c === 0x5d || isWs(c)) {
          this.take(chunk, s, p);
          this.endElement(out);
          return p;
        }
        p++;
        continue;
      }
      if (c === 0x22) {
        this.inString = true;
      } else if (c === 0x7b || c === 0x5b) {
        if (this.depth === MAX_DEPTH) this.fail(p, `an element nests more than ${MAX_DEPTH} containers`);
        this.stack[this.depth++] = c;
      } else if (c === 0x7d || c === 0x5d) {
        const open = this.depth > 0 ? this.stack[this.depth - 1] : -1;
        if (open !== (c === 0x7d ? 0x7b : 0x5b)) this.fail(p, 'brackets do not match');
        this.depth--;
        if (this.depth === 0) {
          this.take(chunk, s, p + 1);
          this.endElement(out);
          return p + 1;
        }
      }
      p++;
    }
    this.take(chunk, s, e);
    return e;
  }

  private endElement(out: SplitResult): void {
    this.state = A.After;
    const len = this.itemLen;
    if (!this.isObject) {
      out.rejected.push({ index: this.index++, reason: 'not_object' });
    } else if (len > this.maxItem) {
      out.rejected.push({ index: this.index++, reason: 'too_large' });
    } else {
      const elem = Buffer.concat(this.parts, this.held);
      this.frame(elem, 0, elem.length, out);
    }
    this.reset();
  }

  private fail(p: number, what: string): never {
    throw new IngestDecodeError('bad_json', `${what} (at byte ${this.offset + p} of the body)`);
  }
}

function isBlank(b: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (b[i] !== 0x20 && b[i] !== 0x09) return false;
  return true;
}
