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

/**
 * SD-NAME at buf[p]: 1–255 printable ASCII bytes but `=`, SP, `]` and `"`. Returns
 * the position after it, or -1 when empty or too long.
 */
function sdName(buf: Uint8Array, p: number, end: number): number {
  const s = p;
  while (p < end) {
    const c = buf[p]!;
    if (c < 0x21 || c > 0x7e || c === EQUALS || c === RBRACKET || c === QUOTE) break;
    p++;
  }
  const len = p - s;
  return len === 0 || len > MAX_FIELD ? -1 : p;
}

/**
 * The SD names of recent records by their place in the SD (element k, name j: 0 for the
 * SD-ID, 1… for params). Most senders write the same SD-IDs and param names in every
 * record, so a name whose bytes equal the ones cached for its place (same prefix), and
 * which ends where they end, takes the cached id: sdName() passed those bytes before
 * and intern() gave that id, so neither runs again. Ids belong to one KeyDictionary: a
 * batch with another dictionary empties the cache.
 */
const NAME_SLOTS = 32;
const names = {
  keys: null as KeyDictionary | null,
  bytes: new Uint8Array(NAME_SLOTS * MAX_FIELD),
  len: new Int32Array(NAME_SLOTS),
  prefix: new Int32Array(NAME_SLOTS),
  id: new Int32Array(NAME_SLOTS),
  /** Where the name found by the last hit ends. */
  end: 0,
};

function nameSlot(k: number, j: number): number {
  return ((k & 3) << 3) | (j & 7);
}

/** The cached id of the name at buf[p] for `slot` (setting names.end), or -1. */
function cachedName(keys: KeyDictionary, slot: number, prefix: number, buf: Uint8Array, p: number, end: number): number {
  if (names.keys !== keys) {
    names.keys = keys;
    names.len.fill(0);
    return -1;
  }
  const n = names.len[slot]!;
  if (n === 0 || names.prefix[slot] !== prefix || p + n >= end) return -1;
  const bytes = names.bytes;
  const base = slot * MAX_FIELD;
  for (let k = 0; k < n; k++) if (buf[p + k] !== bytes[base + k]) return -1;
  // Where sdName() would have stopped: the byte after must not be a name byte.
  const c = buf[p + n]!;
  if (c >= 0x21 && c <= 0x7e && c !== EQUALS && c !== RBRACKET && c !== QUOTE) return -1;
  names.end = p + n;
  return names.id[slot]!;
}

function cacheName(slot: number, prefix: number, buf: Uint8Array, s: number, e: number, id: number): void {
  const base = slot * MAX_FIELD - s;
  for (let k = s; k < e; k++) names.bytes[base + k] = buf[k]!;
  names.len[slot] = e - s;
  names.prefix[slot] = prefix;
  names.id[slot] = id;
}

/** The name at buf[p] (SD-ID or PARAM-NAME) interned under `prefix`: its id (names.end set), or -1 when invalid. */
function sdNameId(keys: KeyDictionary, slot: number, prefix: number, buf: Uint8Array, p: number, end: number): number {
  const hit = cachedName(keys, slot, prefix, buf, p, end);
  if (hit >= 0) return hit;
  const e = sdName(buf, p, end);
  if (e < 0) return -1;
  const id = keys.intern(buf, p, e, prefix);
  cacheName(slot, prefix, buf, p, e, id);
  names.end = e;
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
    p = names.end;
    let params = 0;
    while (p < end && buf[p] === SP) {
      const name = sdNameId(keys, nameSlot(k, params + 1), sdId, buf, p + 1, end);
      if (name < 0) return -1;
      p = names.end;
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
