/**
 * Byte-level pieces shared by the syslog parsers (rfc5424.ts, rfc3164.ts, syslog.ts):
 * the `<PRI>` prefix, frame trimming, and the two timestamp grammars —
 *
 *   RFC 3339 (RFC 5424 §6.2.3, rsyslog's ForwardFormat, syslog-ng ISO dates):
 *     2026-11-22T10:00:00[.1-9 digits](Z | ±hh:mm | ±hhmm)   (offset optional for BSD senders)
 *   BSD (RFC 3164 §4.1.2 and what real senders add to it):
 *     Mmm dd [yyyy] hh:mm:ss[.1-9 digits][ UTC|GMT|UT|Z][:]
 *
 * Everything works on `buf[p]` with integer arithmetic. Times without an offset are in
 * the server's local time zone; Date objects are made only on a miss of a tiny
 * (date, hour) → ms cache, so a stream of records costs two Dates per new hour.
 */
import { daysInMonth, utcMs } from '../../record/time.js';
import type { RecordWriter } from '../../record/record-batch.js';

export const SP = 0x20;
export const LT = 0x3c;
export const GT = 0x3e;
export const DASH = 0x2d;
export const PLUS = 0x2b;
export const COLON = 0x3a;
export const DOT = 0x2e;
export const STAR = 0x2a;
export const PERCENT = 0x25;
export const LBRACKET = 0x5b;
export const RBRACKET = 0x5d;
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const EQUALS = 0x3d;

/** parsePri: the frame does not start with `<` (RFC 3164 allows that). */
export const NO_PRI = -2;
/** parsePri: `<` not followed by 1–3 digits ≤ 191 and `>`. */
export const BAD_PRI = -1;

/**
 * `<PRI>` at buf[s]: returns `pri | (bytes consumed << 8)`, NO_PRI or BAD_PRI.
 * Leading zeros (`<013>`) are accepted: RFC 3164 only says senders should not send them.
 */
export function parsePri(buf: Uint8Array, s: number, e: number): number {
  if (s >= e || buf[s] !== LT) return NO_PRI;
  const lim = s + 4 < e ? s + 4 : e;
  let p = s + 1;
  let v = 0;
  while (p < lim) {
    const c = buf[p]! - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
    p++;
  }
  if (p === s + 1 || p >= e || buf[p] !== GT || v > 191) return BAD_PRI;
  return v | ((p + 1 - s) << 8);
}

/** End of the frame without trailing CR, LF and NUL (rsyslog leaves an LF in octet-counted frames). */
export function trimEnd(buf: Uint8Array, s: number, e: number): number {
  while (e > s) {
    const c = buf[e - 1];
    if (c !== 0x0a && c !== 0x0d && c !== 0) break;
    e--;
  }
  return e;
}

/** True when buf[s, e) is nothing but whitespace, line ends and NULs (parse_error 'empty'). */
export function isBlank(buf: Uint8Array, s: number, e: number): boolean {
  for (; s < e; s++) {
    const c = buf[s]!;
    if (c !== SP && c !== 0 && (c < 0x09 || c > 0x0d)) return false;
  }
  return true;
}

/**
 * Where the PRI starts: some senders pad with spaces or tabs before `<` (and `auto`
 * detection skips them too). A frame without `<` is left as it is.
 */
export function priStart(buf: Uint8Array, start: number, end: number): number {
  let s = start;
  while (s < end && (buf[s] === SP || buf[s] === 0x09)) s++;
  return s < end && buf[s] === LT ? s : start;
}

/** Two decimal digits at buf[p], or -1. The caller has checked p + 2 <= end. */
export function d2(buf: Uint8Array, p: number): number {
  const a = buf[p]! - 48;
  const b = buf[p + 1]! - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1;
  return a * 10 + b;
}

/** 10^(9 - n): scales an n-digit fraction to nanoseconds. */
const FRAC_SCALE = [0, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 100, 10, 1];

/** Nanoseconds of the last fraction read by parseFrac (a module-level out-parameter: no object per call). */
let fracNs = 0;

/** At buf[p] === '.': 1–9 digits → fracNs; returns the position after them, or -1 (no digit, or more than 9). */
function parseFrac(buf: Uint8Array, p: number, e: number): number {
  const s = ++p;
  let f = 0;
  while (p < e) {
    const c = buf[p]! - 48;
    if (c < 0 || c > 9) break;
    if (p - s === 9) return -1;
    f = f * 10 + c;
    p++;
  }
  if (p === s) return -1;
  fracNs = f * FRAC_SCALE[p - s]!;
  return p;
}

/** Sets record i's event time to `ms` whole ms plus `ns` (0..999,999,999) nanoseconds. */
function setTime(w: RecordWriter, i: number, ms: number, ns: number): void {
  const extraMs = Math.floor(ns / 1_000_000);
  w.timeMs[i] = ms + extraMs;
  w.timeNs[i] = ns - extraMs * 1_000_000;
}

// ---- local time ---------------------------------------------------------------

/**
 * Direct-mapped cache (y, m, d, h) → ms of that local hour's start. Real streams hit
 * one or two hours; 1024 slots also absorb replays and senders with wrong clocks.
 */
const LC_SLOTS = 1024;
const lcKey = new Float64Array(LC_SLOTS).fill(-1);
const lcVal = new Float64Array(LC_SLOTS);
/** 1 when the zone offset is the same all through the hour, so minutes and seconds can be added to its start. */
const lcRegular = new Uint8Array(LC_SLOTS);

function localDate(y: number, m: number, d: number, h: number, mi: number, s: number): number {
  // setFullYear: `new Date(y, …)` would map years 0–99 to 1900–1999.
  const date = new Date(2000, 0, 1, 0, 0, 0, 0);
  date.setFullYear(y, m - 1, d);
  date.setHours(h, mi, s, 0);
  return date.getTime();
}

/**
 * ms since the epoch of local time y-m-d h:mi:s (m 1..12) in the process time zone,
 * as `new Date(y, m - 1, d, h, mi, s)` gives it, but with one Date per (date, hour):
 * the offset is constant within almost every hour, so minutes and seconds are added
 * arithmetically. Only an hour with a transition inside it (Lord Howe's 30-minute
 * DST) takes the slow path for each time.
 */
export function localMs(y: number, m: number, d: number, h: number, mi: number, s: number): number {
  const key = ((y * 16 + m) * 32 + d) * 32 + h;
  const slot = Math.imul(key, 0x9e3779b1) >>> 22; // Fibonacci hashing: top 10 bits
  if (lcKey[slot] !== key) {
    const start = localDate(y, m, d, h, 0, 0);
    lcKey[slot] = key;
    lcVal[slot] = start;
    lcRegular[slot] = localDate(y, m, d, h, 59, 59) - start === 3_599_000 ? 1 : 0;
  }
  if (lcRegular[slot] === 1) return lcVal[slot]! + mi * 60_000 + s * 1000;
  return localDate(y, m, d, h, mi, s);
}

/** Local-time year of the receive time, cached by the [start, end) ms of that year. */
let ryStart = 0;
let ryEnd = -1;
let ryYear = 0;
export function localYearOf(ms: number): number {
  if (ms >= ryStart && ms < ryEnd) return ryYear;
  const y = new Date(ms).getFullYear();
  ryStart = localMs(y, 1, 1, 0, 0, 0);
  ryEnd = localMs(y + 1, 1, 1, 0, 0, 0);
  ryYear = y;
  return y;
}

/** Within this distance of the receive time, the receive year is the closest candidate (years are ≥ 365 days). */
const HALF_YEAR_MS = 182 * 86_400_000;

/** ms of a civil time in year y, UTC or local; NaN when the day does not exist in that year (Feb 29). */
function civilMs(y: number, m: number, d: number, h: number, mi: number, s: number, utc: boolean): number {
  if (d > daysInMonth(y, m)) return NaN;
  return utc ? utcMs(y, m, d, h, mi, s) : localMs(y, m, d, h, mi, s);
}

/**
 * A BSD timestamp has no year: of the receive year Y (local time) and Y±1, take the
 * one that puts the time closest to the receive time (Dec 31 received on Jan 1 is
 * last year's; Jan 1 received on Dec 31, a sender with a fast clock, is next year's).
 */
function yearlessMs(recv: number, m: number, d: number, h: number, mi: number, s: number, utc: boolean): number {
  const y = localYearOf(recv);
  let best = civilMs(y, m, d, h, mi, s, utc);
  let dist = Math.abs(best - recv);
  if (dist <= HALF_YEAR_MS) return best;
  if (best !== best) dist = Infinity; // NaN: Feb 29 of a common year
  for (let k = -1; k <= 1; k += 2) {
    const t = civilMs(y + k, m, d, h, mi, s, utc);
    const dt = Math.abs(t - recv);
    if (dt < dist) {
      best = t;
      dist = dt;
    }
  }
  return best;
}

// ---- RFC 3339 -----------------------------------------------------------------

/**
 * RFC 3339 timestamp at buf[p, e). On success writes record i's time and returns the
 * position after it (which is SP or e); else returns -1 and writes nothing.
 * `bsd`: the offset may be missing (local time) and a trailing `:` is skipped.
 * Seconds may be 60 (RFC 3339 leap second; it lands on the next minute's :00).
 */
export function parseRfc3339(w: RecordWriter, i: number, buf: Uint8Array, p: number, e: number, bsd: boolean): number {
  if (p + 19 > e) return -1;
  const yHi = d2(buf, p);
  const yLo = d2(buf, p + 2);
  if (yHi < 0 || yLo < 0 || buf[p + 4] !== DASH || buf[p + 7] !== DASH) return -1;
  const y = yHi * 100 + yLo;
  const mo = d2(buf, p + 5);
  if (mo < 1 || mo > 12) return -1;
  const d = d2(buf, p + 8);
  if (d < 1 || d > daysInMonth(y, mo)) return -1;
  const t = buf[p + 10];
  if (t !== 0x54 && t !== 0x74) return -1; // T t
  const h = d2(buf, p + 11);
  const mi = d2(buf, p + 14);
  const s = d2(buf, p + 17);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60 || buf[p + 13] !== COLON || buf[p + 16] !== COLON) return -1;
  p += 19;
  let ns = 0;
  if (p < e && buf[p] === DOT) {
    p = parseFrac(buf, p, e);
    if (p < 0) return -1;
    ns = fracNs;
  }
  let ms: number;
  const c = p < e ? buf[p]! : -1;
  if (c === 0x5a || c === 0x7a) {
    // Z z
    p++;
    ms = utcMs(y, mo, d, h, mi, s);
  } else if (c === PLUS || c === DASH) {
    if (p + 5 > e) return -1;
    const oh = d2(buf, p + 1);
    if (oh < 0 || oh > 23) return -1;
    p += 3;
    if (buf[p] === COLON) p++;
    if (p + 2 > e) return -1;
    const om = d2(buf, p);
    if (om < 0 || om > 59) return -1;
    p += 2;
    const off = (oh * 60 + om) * 60_000;
    ms = utcMs(y, mo, d, h, mi, s) + (c === PLUS ? -off : off);
  } else {
    if (!bsd) return -1;
    ms = localMs(y, mo, d, h, mi, s);
  }
  if (bsd && p < e && buf[p] === COLON) p++;
  if (p < e && buf[p] !== SP) return -1;
  setTime(w, i, ms, ns);
  return p;
}

// ---- BSD ----------------------------------------------------------------------

/** Month names packed as three lower-case bytes. */
const MONTHS = new Int32Array(
  ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'].map(
    (m) => (m.charCodeAt(0) << 16) | (m.charCodeAt(1) << 8) | m.charCodeAt(2),
  ),
);

/** 1..12 for a month abbreviation in any case, else 0. (`| 0x20` only turns letters into letters.) */
function monthAt(buf: Uint8Array, p: number): number {
  const k = ((buf[p]! | 0x20) << 16) | ((buf[p + 1]! | 0x20) << 8) | (buf[p + 2]! | 0x20);
  for (let m = 0; m < 12; m++) if (MONTHS[m] === k) return m + 1;
  return 0;
}

function isUpper(c: number | undefined): boolean {
  return c !== undefined && c >= 0x41 && c <= 0x5a;
}

/** buf[p, p+len) is UTC, GMT, UT or Z. */
function isUtcName(buf: Uint8Array, p: number, len: number): boolean {
  const a = buf[p]!;
  if (len === 1) return a === 0x5a; // Z
  const b = buf[p + 1]!;
  if (len === 2) return a === 0x55 && b === 0x54; // UT
  if (len !== 3) return false;
  const c = buf[p + 2]!;
  return (a === 0x55 && b === 0x54 && c === 0x43) || (a === 0x47 && b === 0x4d && c === 0x54); // UTC GMT
}

/**
 * BSD timestamp at buf[p, e): `Mmm dd hh:mm:ss` with the day space-padded or not, an
 * optional year after the day (`Nov 22 2026 10:00:00`, Cisco ASA), an optional 1–9
 * digit fraction, an optional zone and an optional trailing `:` (Cisco IOS). Returns
 * the position after it (SP or e) and writes record i's time, or -1 and writes nothing.
 *
 * Zones: UTC, GMT, UT and Z mean UTC. Other abbreviations are ambiguous (CST, IST), so
 * a zone such as `CET:` is skipped, keeping local time, only where it cannot be a tag:
 * in Cisco-style lines (`cisco`: sequence number or `*`/`.` marker) or before `: %`.
 */
export function parseBsdTime(w: RecordWriter, i: number, buf: Uint8Array, p: number, e: number, cisco: boolean): number {
  if (p + 14 > e) return -1; // "Mmm d hh:mm:ss"
  const mo = monthAt(buf, p);
  if (mo === 0 || buf[p + 3] !== SP) return -1;
  p += 4;
  if (buf[p] === SP) p++;
  let d = buf[p]! - 48;
  if (d < 0 || d > 9) return -1;
  p++;
  const d1 = buf[p]! - 48;
  if (d1 >= 0 && d1 <= 9) {
    d = d * 10 + d1;
    p++;
  }
  if (d < 1 || d > 31 || buf[p] !== SP) return -1;
  p++;
  let y = -1;
  if (p + 5 <= e && buf[p + 4] === SP) {
    const yHi = d2(buf, p);
    const yLo = d2(buf, p + 2);
    if (yHi < 0 || yLo < 0) return -1;
    y = yHi * 100 + yLo;
    p += 5;
  }
  if (p + 8 > e) return -1;
  const h = d2(buf, p);
  const mi = d2(buf, p + 3);
  const s = d2(buf, p + 6);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60 || buf[p + 2] !== COLON || buf[p + 5] !== COLON) return -1;
  p += 8;
  let ns = 0;
  if (p < e && buf[p] === DOT) {
    p = parseFrac(buf, p, e);
    if (p < 0) return -1;
    ns = fracNs;
  }
  let utc = false;
  if (p + 1 < e && buf[p] === SP && isUpper(buf[p + 1])) {
    const z = p + 1;
    let q = z;
    while (q < e && q - z < 5 && isUpper(buf[q])) q++;
    const len = q - z;
    const after = q < e ? buf[q]! : -1;
    if (after === -1 || after === SP || after === COLON) {
      if (isUtcName(buf, z, len)) {
        utc = true;
        p = q;
      } else if (len >= 2 && after === COLON && (cisco || (q + 2 < e && buf[q + 1] === SP && buf[q + 2] === PERCENT))) {
        p = q;
      }
    }
  }
  if (p < e && buf[p] === COLON) p++;
  if (p < e && buf[p] !== SP) return -1;
  const ms = y >= 0 ? civilMs(y, mo, d, h, mi, s, utc) : yearlessMs(w.receivedMs, mo, d, h, mi, s, utc);
  if (ms !== ms) return -1; // a day the month does not have
  setTime(w, i, ms, ns);
  return p;
}
