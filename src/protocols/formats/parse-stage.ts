/**
 * The parse step of a listener: frame batch in, record batch out (same object, with
 * columns added), synchronously, on the thread that read the bytes. One stage per
 * listener; connections share it because a batch is parsed in one go.
 *
 * After the parser, two rules of the record model apply to every format:
 *  - a frame cut at max-frame gets the field `truncated` = `true`;
 *  - an absurd timestamp (before 1970, or more than FUTURE_LIMIT_MS after receipt:
 *    a sender with a broken clock) is replaced by the receive time, and the original
 *    is kept in the field `original_timestamp`.
 * Counts (records per format, parse errors per reason) are plain numbers here and
 * reach prom-client at scrape time.
 *
 * Before the loop, the addon's passes go over the whole batch where the format allows
 * (rfc5424-native.ts, json-native.ts): the loop then finishes the frames they took from
 * their items and gives every other frame to the JavaScript parsers, which define what
 * both paths produce.
 */
import { FRAME_TRUNCATED } from '../framing/framer.js';
import type { FrameBatch } from '../../pipeline/batch.js';
import { RecordWriter, type RecordBatch } from '../../record/record-batch.js';
import { formatTimestamp } from '../../record/time.js';
import type { FormatName } from './format.js';
import { parserFor } from './index.js';
import { parseSyslog } from './syslog.js';
import { parseJson } from './json.js';
import { looksLikeLogfmt, parseLogfmt } from './logfmt.js';
import { parseRaw } from './raw.js';
import { skipBom } from '../utf8-bom.js';
import { clearHints, hintFrame, prepareHints } from './json-strings.js';
import { scanRfc5424, scanned, sdFieldsRun } from './rfc5424-native.js';
import { sdItemFields } from './rfc5424.js';
import { jsonScanned, scanJsonLines } from './json-native.js';
import { jsonItemFields } from './json.js';

/** How far ahead of the receive time a timestamp may be before it counts as absurd. */
export const FUTURE_LIMIT_MS = 7 * 86_400_000;

/** Detected formats in auto mode, in counter order. */
const AUTO_FORMATS = ['syslog', 'json', 'logfmt', 'raw'] as const;

export interface ParseCounts {
  /** format → records since the last take. */
  formats: Map<string, number>;
  /** reason → records since the last take. */
  errors: Map<string, number>;
  timestampsReplaced: number;
}

export class ParseStage {
  private readonly w: RecordWriter;
  private readonly auto: boolean;
  private readonly parser;
  /**
   * Formats whose frames are JSON objects. String hints (json-strings.ts) are made for
   * what json.ts reads from the bytes itself: before the first frame when the native
   * JSON pass did not run (or took nothing) or a frame it took has an object to
   * flatten; otherwise at the first frame it did not take that goes to json.ts (in auto
   * mode, the first such frame that looks like JSON: syslog traffic never pays for them).
   */
  private readonly jsonish: boolean;
  /** Formats whose RFC 5424 frames the native pass (rfc5424-native.ts) may parse first. */
  private readonly syslogish: boolean;
  /** Formats whose JSON lines the native pass (json-native.ts) may check and split first. */
  private readonly jsonLines: boolean;
  /** Records per AUTO_FORMATS index (auto) or in slot 0 (forced format). */
  private readonly perFormat = new Float64Array(AUTO_FORMATS.length);
  private replaced = 0;
  /** Called with the error of a parser that threw (a bug); the record is kept raw. */
  onInternalError: ((err: unknown) => void) | null = null;

  /** `reuseColumns`: every batch parsed gets the same column memory (see RecordWriter): valid until the next parse(). */
  constructor(readonly format: FormatName, reuseColumns = false) {
    this.w = new RecordWriter(reuseColumns);
    this.auto = format === 'auto';
    this.parser = parserFor(format);
    this.jsonish = format === 'json' || format === 'gelf';
    this.syslogish = format === 'auto' || format === 'syslog' || format === 'rfc5424';
    this.jsonLines = format === 'auto' || format === 'json' || format === 'gelf';
  }

  parse(batch: FrameBatch): RecordBatch {
    const w = this.w;
    w.begin(batch);
    const { offsets, flags, count } = batch;
    const buf = batch.buf;
    const limit = w.receivedMs + FUTURE_LIMIT_MS;
    // Frames the native passes parsed (RFC 5424: columns written, structured data left as
    // items) or checked and split (JSON lines: members left as items).
    const taken = this.syslogish ? scanRfc5424(w, batch) : null;
    const { items, itemAt } = scanned;
    // Every frame RFC 5424 and taken by the native pass (syslog traffic): the loop below in short.
    if (taken !== null && scanned.took === count) return this.allTaken(batch, limit);
    const jsonTaken = this.jsonLines ? scanJsonLines(batch, this.auto) : null;
    const { items: members, itemAt: memberAt } = jsonScanned;
    // String hints for what the JSON parser reads itself: frames the pass did not take (at
    // the first such frame), and objects to flatten in frames it took (3: before the loop).
    const flatten = jsonTaken !== null && jsonTaken.subarray(0, count).includes(3);
    let hintsTried = (this.jsonish && jsonTaken === null) || flatten;
    let hints = hintsTried && prepareHints(batch);
    for (let i = 0; i < count; i++) {
      if (hints) hintFrame(i);
      let s = offsets[2 * i]!;
      const e = offsets[2 * i + 1]!;
      // A UTF-8 byte order mark before the frame (some Windows shippers write one per line) is not content.
      s = skipBom(buf, s, e);
      try {
        if (taken !== null && taken[i] === 1) {
          sdItemFields(w, items, itemAt[i]!, itemAt[i + 1]!);
          this.perFormat[0]!++;
        } else if (jsonTaken !== null && (jsonTaken[i]! & 1) === 1) {
          jsonItemFields(w, i, members, memberAt[i]!, memberAt[i + 1]!, this.format === 'gelf', s, e);
          this.perFormat[this.auto ? 1 : 0]!++;
        } else if (this.auto) {
          // The same decision as parseAuto (index.ts), inlined to count formats.
          let p = s;
          while (p < e && (buf[p] === 0x20 || buf[p] === 0x09)) p++;
          const c = p < e ? buf[p] : -1;
          if (c === 0x3c) {
            parseSyslog(w, i, s, e);
            this.perFormat[0]!++;
          } else if (c === 0x7b) {
            if (!hintsTried) {
              hintsTried = true;
              hints = prepareHints(batch);
              if (hints) hintFrame(i);
            }
            parseJson(w, i, s, e);
            this.perFormat[1]!++;
          } else if (looksLikeLogfmt(buf, p, e)) {
            parseLogfmt(w, i, s, e);
            this.perFormat[2]!++;
          } else {
            parseRaw(w, i, s, e);
            this.perFormat[3]!++;
          }
        } else {
          if (!hintsTried && this.jsonish) {
            hintsTried = true;
            hints = prepareHints(batch);
            if (hints) hintFrame(i);
          }
          this.parser(w, i, s, e);
          this.perFormat[0]!++;
        }
      } catch (err) {
        this.failed(i, s, e, err);
      }
      this.endRecord(i, flags, limit);
    }
    if (hints) clearHints();
    return w.finish(this.format);
  }

  /**
   * parse() of a batch whose every frame the native RFC 5424 pass took. Records whose
   * items all repeat the previous record's names (SAME) are done natively, many in a
   * call (sdFieldsRun); the others here. After a call that did none, the next few
   * records skip it (up to 256, doubling): a batch whose records each differ from the
   * one before pays for few calls.
   */
  private allTaken(batch: FrameBatch, limit: number): RecordBatch {
    const w = this.w;
    const { items, itemAt } = scanned;
    const { count, flags } = batch;
    // Not the first record: it has no previous record in this batch to be SAME as.
    let nextTry = 1;
    let backoff = 1;
    for (let i = 0; i < count; i++) {
      if (i >= nextTry) {
        const j = sdFieldsRun(w, i, count, flags, limit);
        if (j > i) {
          this.perFormat[0]! += j - i;
          backoff = 1;
          i = j;
          if (i === count) break;
        } else {
          nextTry = i + backoff;
          backoff = Math.min(backoff * 2, 256);
        }
      }
      try {
        sdItemFields(w, items, itemAt[i]!, itemAt[i + 1]!);
        this.perFormat[0]!++;
      } catch (err) {
        const e = batch.offsets[2 * i + 1]!;
        this.failed(i, skipBom(batch.buf, batch.offsets[2 * i]!, e), e, err);
      }
      this.endRecord(i, flags, limit);
    }
    return w.finish(this.format);
  }

  /** Record i [s, e) after a parser threw (a bug): kept raw, the error reported. */
  private failed(i: number, s: number, e: number, err: unknown): void {
    this.w.fail(i, s, e, 'internal_error');
    this.onInternalError?.(err);
  }

  /** The rules every record gets after its parser (see the top of this file), then the record is done. */
  private endRecord(i: number, flags: Uint8Array | null, limit: number): void {
    const w = this.w;
    if (flags !== null && (flags[i]! & FRAME_TRUNCATED) !== 0) w.constField(w.constId('truncated'), 'true');
    const t = w.timeMs[i]!;
    if (!(t >= 0 && t <= limit)) this.replaceTimestamp(i, t);
    w.next(i);
  }

  private replaceTimestamp(i: number, t: number): void {
    const w = this.w;
    const original = Number.isFinite(t) && Math.abs(t) < 8.64e15 ? formatTimestamp(t, w.timeNs[i]!) : `${t}ms`;
    w.timeMs[i] = w.receivedMs;
    w.timeNs[i] = w.receivedNs;
    w.constField(w.constId('original_timestamp'), original);
    this.replaced++;
  }

  /** Counts since the last call, then resets them. */
  take(): ParseCounts {
    const formats = new Map<string, number>();
    if (this.auto) {
      AUTO_FORMATS.forEach((f, k) => {
        if (this.perFormat[k]! > 0) formats.set(f, this.perFormat[k]!);
      });
    } else if (this.perFormat[0]! > 0) formats.set(this.format, this.perFormat[0]!);
    this.perFormat.fill(0);
    const errors = new Map(this.w.errorCounts);
    this.w.errorCounts.clear();
    const timestampsReplaced = this.replaced;
    this.replaced = 0;
    return { formats, errors, timestampsReplaced };
  }
}
