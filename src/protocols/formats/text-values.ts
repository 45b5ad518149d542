/**
 * Time and level values as structured formats (JSON, GELF, logfmt) write them,
 * read from bytes without making strings: RFC 3339 text, epoch numbers in s/ms/µs/ns
 * kept exact to the ns, and level names or numbers.
 */
import { LEVEL_NAMES, severityFromNumber } from '../../record/severity.js';
import { daysInMonth, utcMs } from '../../record/time.js';
import { scanNumber } from './json-scanner.js';

/** Result of the last successful parseTimeText: ms since the epoch and ns within the ms. */
export const parsedTime = { ms: 0, ns: 0 };

function digit(buf: Uint8Array, p: number): number {
  const d = buf[p]! - 0x30;
  return d >= 0 && d <= 9 ? d : -100; // -100 keeps any sum of two negative
}

function d2(buf: Uint8Array, p: number): number {
  return digit(buf, p) * 10 + digit(buf, p + 1);
}

/**
 * A time at buf[s, e): RFC 3339 (`T`, `t` or a space between date and time; `.` or `,`
 * before the fraction; `Z`, `±hh:mm`, `±hhmm`, `±hh` or no offset, which means UTC), or
 * a non-negative epoch number. On success sets parsedTime and returns true.
 */
export function parseTimeText(buf: Uint8Array, s: number, e: number): boolean {
  if (e - s >= 19 && buf[s + 4] === 0x2d) return parseIsoTime(buf, s, e);
  return parseEpoch(buf, s, e);
}

/** ns of one unit of the k-th fraction digit (0.1 s, 0.01 s …). */
const FRACTION_SCALE = Float64Array.of(1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 100, 10, 1);

function parseIsoTime(buf: Uint8Array, s: number, e: number): boolean {
  const yHi = d2(buf, s);
  const yLo = d2(buf, s + 2);
  const y = yHi * 100 + yLo;
  const mo = d2(buf, s + 5);
  const d = d2(buf, s + 8);
  const sep = buf[s + 10];
  const h = d2(buf, s + 11);
  const mi = d2(buf, s + 14);
  const sec = d2(buf, s + 17);
  if (yHi < 0 || yLo < 0 || buf[s + 7] !== 0x2d || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return false;
  if (sep !== 0x54 && sep !== 0x74 && sep !== 0x20) return false;
  // Second 60 is RFC 3339's leap second: it lands on the next minute's :00.
  if (buf[s + 13] !== 0x3a || buf[s + 16] !== 0x3a || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60) return false;
  let p = s + 19;
  let frac = 0;
  if (p < e && (buf[p] === 0x2e || buf[p] === 0x2c)) {
    p++;
    const f = p;
    // Digits past the 9th (below a ns) are read and dropped.
    while (p < e && buf[p]! >= 0x30 && buf[p]! <= 0x39) {
      if (p - f < 9) frac += (buf[p]! - 0x30) * FRACTION_SCALE[p - f]!;
      p++;
    }
    if (p === f) return false;
  }
  let off = 0;
  if (p < e) {
    const c = buf[p]!;
    if (c === 0x5a || c === 0x7a) {
      p++;
    } else if (c === 0x2b || c === 0x2d) {
      if (p + 3 > e) return false;
      const oh = d2(buf, p + 1);
      if (oh < 0 || oh > 23) return false;
      p += 3;
      let om = 0;
      if (p < e) {
        if (buf[p] === 0x3a) p++;
        if (p + 2 > e) return false;
        om = d2(buf, p);
        if (om < 0 || om > 59) return false;
        p += 2;
      }
      off = (oh * 60 + om) * 60_000;
      if (c === 0x2b) off = -off;
    } else {
      return false;
    }
  }
  if (p !== e) return false;
  const fracMs = Math.floor(frac / 1_000_000);
  parsedTime.ms = utcMs(y, mo, d, h, mi, sec) + off + fracMs;
  parsedTime.ns = frac - fracMs * 1_000_000;
  return true;
}

/**
 * An epoch number `digits[.digits][(e|E)[+-]digits]` at buf[s, e). Its unit follows
 * from its magnitude: < 1e11 seconds, < 1e14 ms, < 1e17 µs, else ns (up to 1e20).
 *
 * Done on the decimal digits, not through a double: an ns timestamp such as
 * 1763805600123456789 is beyond 2^53. The digits (integer and fraction, leading zeros
 * dropped) are a sequence with the decimal point after `point` of them; the ms part is
 * the digits before the ms boundary, the next six are the ns within that ms.
 */
function parseEpoch(buf: Uint8Array, s: number, e: number): boolean {
  let p = s;
  while (p < e && buf[p]! >= 0x30 && buf[p]! <= 0x39) p++;
  const intEnd = p;
  const nInt = intEnd - s;
  if (nInt === 0) return false;
  let fs = p;
  let nFrac = 0;
  if (p < e && buf[p] === 0x2e) {
    fs = ++p;
    while (p < e && buf[p]! >= 0x30 && buf[p]! <= 0x39) p++;
    nFrac = p - fs;
    if (nFrac === 0) return false;
  }
  let exp = 0;
  if (p < e && (buf[p] === 0x65 || buf[p] === 0x45)) {
    p++;
    let neg = false;
    if (p < e && (buf[p] === 0x2b || buf[p] === 0x2d)) neg = buf[p++] === 0x2d;
    const x = p;
    while (p < e && buf[p]! >= 0x30 && buf[p]! <= 0x39) {
      if (exp < 10_000) exp = exp * 10 + buf[p]! - 0x30;
      p++;
    }
    if (p === x) return false;
    if (neg) exp = -exp;
  }
  if (p !== e) return false;
  const n = nInt + nFrac;
  let lz = 0;
  while (lz < n && digitOf(buf, s, nInt, fs, lz) === 0) lz++;
  const point = nInt + exp - lz; // digits before the decimal point, once leading zeros are gone
  if (lz === n || point < -30) {
    parsedTime.ms = 0;
    parsedTime.ns = 0;
    return true;
  }
  let unit: number; // digits of the value that lie below 1 ms: s -3, ms 0, µs 3, ns 6
  if (point <= 11) unit = -3;
  else if (point <= 14) unit = 0;
  else if (point <= 17) unit = 3;
  else if (point <= 20) unit = 6;
  else return false;
  const msEnd = point - unit;
  const len = n - lz;
  let ms = 0;
  for (let j = 0; j < msEnd; j++) ms = ms * 10 + (j < len ? digitOf(buf, s, nInt, fs, lz + j) : 0);
  let ns = 0;
  for (let j = msEnd; j < msEnd + 6; j++) ns = ns * 10 + (j >= 0 && j < len ? digitOf(buf, s, nInt, fs, lz + j) : 0);
  parsedTime.ms = ms;
  parsedTime.ns = ns;
  return true;
}

/** Digit k of the integer digits at [is, is + nInt) followed by the fraction digits at fs. */
function digitOf(buf: Uint8Array, is: number, nInt: number, fs: number, k: number): number {
  return buf[k < nInt ? is + k : fs + k - nInt]! - 0x30;
}

// ---- levels -------------------------------------------------------------------

/** LEVEL_NAMES as bytes, for matching without a string: names[k] bytes at NAME_BYTES[k*16…]. */
const NAME_SLOT = 16;
const LEVEL_ENTRIES = [...LEVEL_NAMES];
const NAME_BYTES = new Uint8Array(LEVEL_ENTRIES.length * NAME_SLOT);
const NAME_LEN = new Uint8Array(LEVEL_ENTRIES.length);
const NAME_SEV = new Uint8Array(LEVEL_ENTRIES.length);
LEVEL_ENTRIES.forEach(([name, sev], k) => {
  if (name.length > NAME_SLOT) throw new Error(`level name too long: ${name}`);
  for (let j = 0; j < name.length; j++) NAME_BYTES[k * NAME_SLOT + j] = name.charCodeAt(j);
  NAME_LEN[k] = name.length;
  NAME_SEV[k] = sev;
});
// The names by (length, lower-cased first byte), so that a value is compared with one or
// two of them rather than every name of its length: bucket b holds names
// LEVEL_BUCKET[LEVEL_BUCKET_START[b] .. LEVEL_BUCKET_START[b + 1]).
const LEVEL_BUCKETS = 64;
function levelBucket(len: number, c0: number): number {
  return (len * 7 + (c0 | 0x20)) & (LEVEL_BUCKETS - 1);
}
const LEVEL_BUCKET_START = new Uint8Array(LEVEL_BUCKETS + 1);
const LEVEL_BUCKET = new Uint8Array(LEVEL_ENTRIES.length);
{
  const lists: number[][] = Array.from({ length: LEVEL_BUCKETS }, () => []);
  LEVEL_ENTRIES.forEach(([name], k) => lists[levelBucket(name.length, name.charCodeAt(0))]!.push(k));
  let at = 0;
  for (let b = 0; b < LEVEL_BUCKETS; b++) {
    LEVEL_BUCKET_START[b] = at;
    for (const k of lists[b]!) LEVEL_BUCKET[at++] = k;
  }
  LEVEL_BUCKET_START[LEVEL_BUCKETS] = at;
}

/**
 * Severity (0–7) of a level value at buf[s, e): a name from LEVEL_NAMES in any case,
 * or an integer through severityFromNumber (0–7 syslog, 10–60 pino/bunyan; with
 * `syslogOnly`, as GELF defines it, only 0–7). -1 when it means nothing we know.
 */
export function parseLevelText(buf: Buffer, s: number, e: number, syslogOnly: boolean): number {
  const len = e - s;
  if (len <= 0 || len > NAME_SLOT) return -1;
  const c0 = buf[s]!;
  if ((c0 >= 0x30 && c0 <= 0x39) || c0 === 0x2d) return levelNumber(buf, s, e, syslogOnly);
  const b = levelBucket(len, c0);
  for (let x = LEVEL_BUCKET_START[b]!; x < LEVEL_BUCKET_START[b + 1]!; x++) {
    const k = LEVEL_BUCKET[x]!;
    if (NAME_LEN[k] !== len) continue;
    const o = k * NAME_SLOT;
    let j = 0;
    // `| 0x20` lower-cases ASCII letters and maps no other byte onto a lower-case letter.
    while (j < len && (buf[s + j]! | 0x20) === NAME_BYTES[o + j]) j++;
    if (j === len) return NAME_SEV[k]!;
  }
  return -1;
}

function levelNumber(buf: Buffer, s: number, e: number, syslogOnly: boolean): number {
  let p = s;
  const neg = buf[p] === 0x2d;
  if (neg) p++;
  let n = 0;
  const d = p;
  while (p < e && p - d < 9 && buf[p]! >= 0x30 && buf[p]! <= 0x39) n = n * 10 + buf[p++]! - 0x30;
  let v: number;
  if (p === e && p > d) {
    v = neg ? -n : n;
  } else {
    // 30.0, 3e1: rare, so a string is fine here; JSON number syntax only (Number()
    // alone would also take 0x1e).
    if (scanNumber(buf, s, e) !== e) return -1;
    v = Number(buf.toString('latin1', s, e));
  }
  if (syslogOnly) return Number.isInteger(v) && v >= 0 && v <= 7 ? v : -1;
  return severityFromNumber(v);
}
