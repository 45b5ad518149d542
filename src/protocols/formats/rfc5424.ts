/**
 * RFC 5424 syslog (§6):
 *
 *   <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]
 *
 * e.g. `<165>1 2003-10-11T22:14:15.003Z host evntslog - ID47 [exampleSDID@32473 iut="3"] msg`.
 * Any header field may be the NILVALUE `-` (absent). Each SD-PARAM becomes the field
 * `sdid.param`; an SD-ELEMENT without params becomes the field `sdid` = ''. MSG starts
 * after one SP; a UTF-8 BOM in front of it is dropped.
 *
 * Deliberately lenient where senders differ from the RFC without being ambiguous:
 *  - header fields and SD names may be up to 255 bytes (RFC: HOSTNAME 255, APP-NAME 48,
 *    PROCID 128, MSGID 32, SD-NAME 32), VERSION any 1–3 digits, PRI with leading zeros;
 *  - TIMESTAMP fractions up to 9 digits (RFC: 6), lower-case `t`/`z`, second 60, `±hhmm`;
 *  - an unescaped `]` inside a PARAM-VALUE (it is quoted, so unambiguous);
 *  - trailing CR/LF/NUL are not part of MSG (rsyslog's RSYSLOG_SyslogProtocol23Format).
 */
import { ENC_SD, ENC_UTF8, HOST, MESSAGE, MSGID, type RecordWriter } from '../../record/record-batch.js';
import type { KeyDictionary } from '../../record/key-dictionary.js';
import { RecentNames } from '../../record/recent-names.js';
import type { FrameParser } from './format.js';
import {
  BACKSLASH, DASH, EQUALS, LBRACKET, LT, NO_PRI, QUOTE, RBRACKET, SP,
  isBlank, parsePri, priStart, parseRfc3339, trimEnd,
} from './syslog-common.js';
import { skipBom } from '../utf8-bom.js';

/** Longest header field / SD name accepted (see the header comment). */
const MAX_FIELD = 255;

export const parseRfc5424: FrameParser = (w, i, start, end) => {
  const buf = w.buf;
  end = trimEnd(buf, start, end);
  const s = buf[start] === LT ? start : priStart(buf, start, end);
  const pri = parsePri(buf, s, end);
  if (pri < 0) {
    if (pri === NO_PRI && isBlank(buf, start, end)) w.fail(i, start, end, 'empty');
    else w.fail(i, start, end, 'invalid_pri');
    return;
  }
  w.facility[i] = (pri & 0xff) >> 3;
  w.severity[i] = pri & 7;
  rfc5424AfterPri(w, i, start, end, s + (pri >> 8));
};

/**
 * The frame buf[start, end) (end already trimmed) after its PRI, from `p` (at VERSION).
 * Facility and severity are set by the caller.
 */
export function rfc5424AfterPri(w: RecordWriter, i: number, start: number, end: number, p: number): void {
  const buf = w.buf;

  // VERSION SP
  let q = p;
  while (q < end && q - p < 3) {
    const c = buf[q]!;
    if (c < 0x30 || c > 0x39) break;
    q++;
  }
  if (q === p || q >= end || buf[q] !== SP) return w.fail(i, start, end, 'invalid_version');
  p = q + 1;

  // TIMESTAMP SP
  if (p < end && buf[p] === DASH && (p + 1 === end || buf[p + 1] === SP)) {
    p++;
  } else {
    p = parseRfc3339(w, i, buf, p, end, false);
    if (p < 0) return w.fail(i, start, end, 'invalid_timestamp');
  }
  if (p === end) return w.fail(i, start, end, 'invalid_header');
  p++;

  // HOSTNAME SP APP-NAME SP PROCID SP MSGID: printable ASCII, `-` = absent
  for (let slot = HOST; slot <= MSGID; slot++) {
    const s = p;
    while (p < end) {
      const c = buf[p]!;
      if (c === SP) break;
      if (c < 0x21 || c > 0x7e) return w.fail(i, start, end, 'invalid_header');
      p++;
    }
    const len = p - s;
    if (len === 0 || len > MAX_FIELD) return w.fail(i, start, end, 'invalid_header');
    // Only MSGID may end the frame: then it is the SD that is missing.
    if (p === end && slot !== MSGID) return w.fail(i, start, end, 'invalid_header');
    if (len !== 1 || buf[s] !== DASH) w.set(i, slot, s, p, ENC_UTF8);
    p++;
  }

  // STRUCTURED-DATA
  if (p >= end) return w.fail(i, start, end, 'invalid_structured_data');
  if (buf[p] === DASH) {
    p++;
  } else {
    if (buf[p] !== LBRACKET) return w.fail(i, start, end, 'invalid_structured_data');
    p = structuredData(w, buf, p, end);
    if (p < 0) return w.fail(i, start, end, 'invalid_structured_data');
  }

  // [SP MSG]
  if (p === end) return;
  if (buf[p] !== SP) return w.fail(i, start, end, 'invalid_structured_data');
  p++;
  p = skipBom(buf, p, end);
  if (p < end) w.set(i, MESSAGE, p, end, ENC_UTF8);
}

/** A byte an SD-NAME may hold: printable ASCII but `=`, SP, `]` and `"`. */
function isSdNameByte(c: number): boolean {
  return c >= 0x21 && c <= 0x7e && c !== EQUALS && c !== RBRACKET && c !== QUOTE;
}

/**
 * SD-NAME at buf[p]: 1–255 printable ASCII bytes but `=`, SP, `]` and `"`. Returns
 * the position after it, or -1 when empty or too long.
 */
function sdName(buf: Uint8Array, p: number, end: number): number {
  const s = p;
  while (p < end && isSdNameByte(buf[p]!)) p++;
  const len = p - s;
  return len === 0 || len > MAX_FIELD ? -1 : p;
}

/**
 * The SD names of recent records by their place in the SD (element k, name j: 0 for the
 * SD-ID, 1… for params; see nameSlot). A name whose bytes equal the ones remembered for
 * its place (same prefix), and which ends where they end, takes the remembered id:
 * sdName() passed those bytes before and intern() gave that id, so neither runs again.
 */
const recentNames = new RecentNames(32, MAX_FIELD);
/** Where the name found by the last sdNameId() ends. */
let nameEnd = 0;

function nameSlot(k: number, j: number): number {
  return ((k & 3) << 3) | (j & 7);
}

/** The name at buf[p] (SD-ID or PARAM-NAME) interned under `prefix`: its id (nameEnd set), or -1 when invalid. */
function sdNameId(keys: KeyDictionary, slot: number, prefix: number, buf: Uint8Array, p: number, end: number): number {
  const n = recentNames.startsAt(keys, slot, prefix, buf, p, end);
  // Where sdName() would have stopped: not at the end, and the byte after is not a name byte.
  if (n > 0 && p + n < end && !isSdNameByte(buf[p + n]!)) {
    nameEnd = p + n;
    return recentNames.id[slot]!;
  }
  const e = sdName(buf, p, end);
  if (e < 0) return -1;
  const id = keys.intern(buf, p, e, prefix);
  recentNames.remember(slot, prefix, buf, p, e, id);
  nameEnd = e;
  return id;
}

/**
 * One or more SD-ELEMENTs from buf[p] === '[': adds their fields to the record and
 * returns the position after the last `]`, or -1 when malformed.
 */
function structuredData(w: RecordWriter, buf: Uint8Array, p: number, end: number): number {
  const keys = w.keys;
  let k = 0;
  while (p < end && buf[p] === LBRACKET) {
    const sdId = sdNameId(keys, nameSlot(k, 0), -1, buf, p + 1, end);
    if (sdId < 0) return -1;
    p = nameEnd;
    let params = 0;
    while (p < end && buf[p] === SP) {
      const name = sdNameId(keys, nameSlot(k, params + 1), sdId, buf, p + 1, end);
      if (name < 0) return -1;
      p = nameEnd;
      if (p + 2 > end || buf[p] !== EQUALS || buf[p + 1] !== QUOTE) return -1;
      p += 2;
      const valueStart = p;
      let escaped = false;
      for (;;) {
        if (p >= end) return -1;
        const c = buf[p]!;
        if (c === QUOTE) break;
        if (c === BACKSLASH) {
          escaped = true;
          // `\"` `\\` `\]` are escapes; any other backslash is an ordinary character (§6.3.3).
          const n = buf[p + 1];
          p += p + 1 < end && (n === QUOTE || n === BACKSLASH || n === RBRACKET) ? 2 : 1;
        } else {
          p++;
        }
      }
      w.field(name, valueStart, p, escaped ? ENC_SD : ENC_UTF8);
      p++; // closing quote
      params++;
    }
    if (p >= end || buf[p] !== RBRACKET) return -1;
    p++;
    if (params === 0) w.field(sdId, 0, 0, ENC_UTF8);
    k++;
  }
  return p;
}

/** Item words from the native pass (native/syslog5424.cc, rfc5424-native.ts). */
const ITEM_ELEM = 0x80000000;
const ITEM_ESC = 0x40000000;
const ITEM_SAME = 0x20000000;
const ITEM_POS = 0x1fffffff;
/** Items per record the native pass compares with those of the previous frame it took (SAME). */
const ITEMS_COMPARED = 64;
/** Key ids of the items of the last record sdItemFields() added, by item index. */
const itemIds = new Uint32Array(ITEMS_COMPARED);
/** False while sdItemFields() runs: after one that threw (a bug), the next takes no SAME id from a half-written record. */
let itemIdsWhole = true;

/**
 * The key ids of the last record sdItemFields() added, by item index, for the native
 * loop that adds the fields of records whose items are all SAME (rfc5424-native.ts
 * sdFieldsRun): null when that record was not added whole.
 */
export function lastItemIds(): Uint32Array | null {
  return itemIdsWhole ? itemIds : null;
}

/** Id of the SD name buf[s, e), already found valid, interned under `prefix`. */
function validNameId(keys: KeyDictionary, slot: number, prefix: number, buf: Uint8Array, s: number, e: number): number {
  if (recentNames.startsAt(keys, slot, prefix, buf, s, e) === e - s) return recentNames.id[slot]!;
  const id = keys.intern(buf, s, e, prefix);
  recentNames.remember(slot, prefix, buf, s, e, id);
  return id;
}

/**
 * The fields of record i from the native pass's structured-data items
 * items[a, b): the same fields, in the same order, as structuredData() adds. A name
 * marked SAME is the one at its item index in the previous record the native pass
 * took (it compared the bytes), which sdItemFields() added last, so it takes that
 * record's id.
 */
export function sdItemFields(w: RecordWriter, items: Uint32Array, a: number, b: number): void {
  const keys = w.keys;
  const buf = w.buf;
  let sdId = -1;
  let k = -1;
  let params = 0;
  const sameOk = itemIdsWhole;
  itemIdsWhole = false;
  for (let x = a, idx = 0; x < b; x += 4, idx++) {
    const last = items[x + 3]!;
    const same = (last & ITEM_SAME) !== 0 && sameOk && idx < ITEMS_COMPARED;
    let id: number;
    if ((last & ITEM_ELEM) !== 0) {
      k++;
      params = 0;
      id = same ? itemIds[idx]! : validNameId(keys, nameSlot(k, 0), -1, buf, items[x]!, items[x + 1]!);
      sdId = id;
      if (items[x + 2] === 0) w.field(id, 0, 0, ENC_UTF8);
    } else {
      params++;
      id = same ? itemIds[idx]! : validNameId(keys, nameSlot(k, params), sdId, buf, items[x]!, items[x + 1]!);
      w.field(id, items[x + 2]!, last & ITEM_POS, (last & ITEM_ESC) !== 0 ? ENC_SD : ENC_UTF8);
    }
    if (idx < ITEMS_COMPARED) itemIds[idx] = id;
  }
  itemIdsWhole = true;
}
