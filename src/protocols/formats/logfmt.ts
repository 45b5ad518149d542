/**
 * logfmt: `key=value key2="quoted \"value\"" flag` → record (docs/record.md, "logfmt").
 *
 *  - Tokens are separated by spaces and tabs. A key is a run of bytes other than
 *    space, tab, `=` and `"`.
 *  - `key=value`: the value runs to the next space or tab; `key="…"` runs to the
 *    closing unescaped quote (an unterminated quote takes the rest of the line);
 *    `key=` is the empty value; a bare `key` is `true`.
 *  - A quoted value whose backslash escapes are all valid JSON escapes (and which has
 *    no raw control characters) is stored as ENC_JSON; otherwise its bytes are kept
 *    as they are (ENC_UTF8), backslashes included.
 *  - Keys map onto the record as in JSON lines (`time`/`ts`, `level`, `msg`, `host`,
 *    `app`…; well-known-keys.ts); every other pair is a field.
 *  - Stray tokens that are not pairs — a quoted string or `=value` with no key — are
 *    skipped.
 */
import { ENC_CONST, ENC_JSON, ENC_UTF8, type RecordWriter } from '../../record/record-batch.js';
import { STRING_STOP } from './json-scanner.js';
import { isBlank } from './raw.js';
import { R_NONE, V_BARE, V_STR, V_STR_ESC, mapMembers, members, roleOf } from './well-known-keys.js';

const SP = 0x20;
const TAB = 0x09;
const EQ = 0x3d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Bytes that may follow a backslash in JSON, other than `u`. */
const JSON_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') JSON_ESCAPE[c.charCodeAt(0)] = 1;

/** 1 for space and tab (end a key or a value), 2 for `=` and `"` (end a key). */
const KEY_STOP = new Uint8Array(256);
KEY_STOP[SP] = 1;
KEY_STOP[TAB] = 1;
KEY_STOP[EQ] = 2;
KEY_STOP[QUOTE] = 2;

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/** Set by scanQuoted: the value's kind (V_STR or V_STR_ESC) and where its text ends. */
let quotedType = V_STR;
let quotedEnd = 0;

/**
 * A quoted value whose text starts at p (after the opening quote): returns the
 * position after the closing quote (or e when there is none) and sets quotedType,
 * quotedEnd.
 */
function scanQuoted(buf: Uint8Array, p: number, e: number): number {
  let esc = 0;
  let bad = 0;
  for (;;) {
    while (p < e && STRING_STOP[buf[p]!] === 0) p++;
    if (p >= e) break;
    const c = buf[p]!;
    if (c === QUOTE) {
      quotedEnd = p;
      quotedType = esc === 1 && bad === 0 ? V_STR_ESC : V_STR;
      return p + 1;
    }
    if (c === BACKSLASH) {
      // The backslash escapes the next byte whatever it is (so `\"` never ends the value).
      if (p + 1 >= e) {
        bad = 1;
        p++;
        continue;
      }
      const x = buf[p + 1]!;
      esc = 1;
      if (x === 0x75) {
        if (p + 6 <= e && isHex(buf[p + 2]!) && isHex(buf[p + 3]!) && isHex(buf[p + 4]!) && isHex(buf[p + 5]!)) {
          p += 6;
          continue;
        }
        bad = 1;
      } else if (JSON_ESCAPE[x] !== 1) {
        bad = 1;
      }
      p += 2;
      continue;
    }
    if (c < 0x20) bad = 1; // JSON strings cannot hold raw control characters
    p++;
  }
  quotedEnd = e;
  quotedType = esc === 1 && bad === 0 ? V_STR_ESC : V_STR;
  return e;
}

function trimLineEnd(buf: Uint8Array, start: number, end: number): number {
  while (end > start) {
    const c = buf[end - 1]!;
    if (c !== 0x0a && c !== 0x0d && c !== 0x00) break;
    end--;
  }
  return end;
}

export function parseLogfmt(w: RecordWriter, i: number, start: number, end: number): void {
  const buf = w.buf;
  const e = trimLineEnd(buf, start, end);
  const m = members;
  m.reset();
  let pairs = 0;
  let p = start;
  for (;;) {
    while (p < e && (buf[p] === SP || buf[p] === TAB)) p++;
    if (p >= e) break;
    const c = buf[p]!;
    if (c === QUOTE) {
      p = scanQuoted(buf, p + 1, e);
      continue;
    }
    if (c === EQ) {
      p++;
      if (p < e && buf[p] === QUOTE) p = scanQuoted(buf, p + 1, e);
      else while (p < e && KEY_STOP[buf[p]!] !== 1) p++;
      continue;
    }
    const ks = p;
    while (p < e && KEY_STOP[buf[p]!] === 0) p++;
    const ke = p;
    let vs = p;
    let ve = p;
    let vtype = V_BARE;
    if (p < e && buf[p] === EQ) {
      pairs++;
      p++;
      if (p < e && buf[p] === QUOTE) {
        vs = p + 1;
        p = scanQuoted(buf, vs, e);
        ve = quotedEnd;
        vtype = quotedType;
      } else {
        vs = p;
        while (p < e && KEY_STOP[buf[p]!] !== 1) p++;
        ve = p;
        vtype = V_STR;
      }
    }
    const role = roleOf(buf, ks, ke);
    if (role !== R_NONE) {
      m.add(role, ks, ke, 0, vs, ve, vtype);
    } else {
      const key = w.keys.intern(buf, ks, ke, -1);
      if (vtype === V_BARE) w.field(key, w.constId('true'), 0, ENC_CONST);
      else w.field(key, vs, ve, vtype === V_STR_ESC ? ENC_JSON : ENC_UTF8);
    }
  }
  if (pairs === 0) {
    w.fail(i, start, end, isBlank(buf, start, end) ? 'empty' : 'invalid_logfmt');
    return;
  }
  mapMembers(w, i, buf, false);
  for (let k = 0; k < m.n; k++) {
    if (m.used[k] === 1) continue;
    const key = w.keys.intern(buf, m.ks[k]!, m.ke[k]!, -1);
    const t = m.vtype[k];
    if (t === V_BARE) w.field(key, w.constId('true'), 0, ENC_CONST);
    else w.field(key, m.vs[k]!, m.ve[k]!, t === V_STR_ESC ? ENC_JSON : ENC_UTF8);
  }
}

/** [A-Za-z_]: the first byte of a key in looksLikeLogfmt. */
function isKeyStart(c: number): boolean {
  const l = c | 0x20;
  return (l >= 0x61 && l <= 0x7a) || c === 0x5f;
}

/** [A-Za-z0-9_.-]: the other bytes of such a key. */
function isKeyByte(c: number): boolean {
  return isKeyStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d;
}

/**
 * Auto-detection: is buf[start, end) clearly logfmt rather than raw text?
 *
 * Rule: every space-separated token is a pair `key=value` with a key matching
 * [A-Za-z_][A-Za-z0-9_.-]* (the value unquoted up to the next space, or quoted, where
 * the closing quote must end the token), and there are at least two pairs.
 *
 * Why this strict: taking a text line for logfmt is the costly mistake — its words
 * become `word=true` fields and the sentence is gone — while taking a logfmt line for
 * raw text loses nothing (the line is the message). Loggers that write logfmt
 * (logrus, log15, go-kit, slog, Heroku's router) write only pairs, quoting values
 * that hold spaces; prose with an `=` in it has bare words between its pairs
 * (`a=b is what we saw`, `user=bob logged in port=22`), and its first token is
 * rarely a pair at all. A single pair (`a=b`) is too little evidence. Bare keys,
 * which parseLogfmt accepts on a logfmt listener, thus do not count here.
 */
export function looksLikeLogfmt(buf: Uint8Array, start: number, end: number): boolean {
  const e = trimLineEnd(buf, start, end);
  let p = start;
  let pairs = 0;
  for (;;) {
    while (p < e && (buf[p] === SP || buf[p] === TAB)) p++;
    if (p >= e) return pairs >= 2;
    if (!isKeyStart(buf[p]!)) return false;
    p++;
    while (p < e && isKeyByte(buf[p]!)) p++;
    if (p >= e || buf[p] !== EQ) return false;
    p++;
    if (p < e && buf[p] === QUOTE) {
      p = scanQuoted(buf, p + 1, e);
      if (p < e && buf[p] !== SP && buf[p] !== TAB) return false;
    } else {
      while (p < e && KEY_STOP[buf[p]!] !== 1) p++;
    }
    pairs++;
  }
}
