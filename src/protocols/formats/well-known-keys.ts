/**
 * Keys of structured formats (JSON lines, GELF, logfmt) that have a place in the
 * record (docs/record.md, "JSON lines"), and how their values get there.
 *
 * A parser collects the top-level members whose key has a role (and, for JSON, the
 * `_` keys GELF renames) in `members` while it scans; everything else goes straight
 * to fields. At the end of the frame mapMembers() picks, per record slot, the first
 * key in priority order whose value is usable (an unparseable time or unknown level
 * falls through to the next key), and the parser writes every member not consumed as
 * a field. The decision waits for the end because the priority is by key name, not
 * by position, and because whether an object is GELF depends on keys anywhere in it.
 *
 * A key that appears twice: the last occurrence counts (as with JSON.parse); the
 * earlier one stays a field.
 */
import { APP, ENC_JSON, ENC_UTF8, HOST, MESSAGE, MSGID, PROCID, type RecordWriter } from '../../record/record-batch.js';
import { parseLevelText, parseTimeText, parsedTime } from './text-values.js';

// Roles, by the key that has them. Within a group the order is the priority.
export const R_NONE = 0;
export const R_TIME = 1;
export const R_TIMESTAMP = 2;
export const R_TS = 3;
export const R_AT_TIMESTAMP = 4;
export const R_DATE = 5;
export const R_LEVEL = 6;
export const R_SEVERITY = 7;
export const R_LVL = 8;
export const R_MSG = 9;
export const R_MESSAGE = 10;
export const R_LOG = 11;
export const R_HOST = 12;
export const R_HOSTNAME = 13;
export const R_APP = 14;
export const R_SERVICE = 15;
export const R_LOGGER = 16;
export const R_PID = 17;
export const R_MSGID = 18;
export const R_VERSION = 19;
export const R_SHORT_MESSAGE = 20;
const ROLES = 21;

/** Key name of each role (index = role). */
export const KEY_NAMES: readonly string[] = [
  '', 'time', 'timestamp', 'ts', '@timestamp', 'date', 'level', 'severity', 'lvl', 'msg', 'message', 'log',
  'host', 'hostname', 'app', 'service', 'logger', 'pid', 'msgid', 'version', 'short_message',
];

// Role lookup by bytes: buckets by (length, first byte), each holding its roles.
const BUCKETS = 64;
function bucketOf(len: number, c0: number): number {
  return (len * 7 + c0) & (BUCKETS - 1);
}
const NAME_BYTES: Uint8Array[] = KEY_NAMES.map((n) => Buffer.from(n, 'latin1'));
const bucketRoles: number[][] = Array.from({ length: BUCKETS }, () => []);
for (let r = 1; r < ROLES; r++) bucketRoles[bucketOf(KEY_NAMES[r]!.length, KEY_NAMES[r]!.charCodeAt(0))]!.push(r);
/** Bucket b holds roles BUCKET_ROLES[BUCKET_START[b] .. BUCKET_START[b + 1]). */
const BUCKET_START = new Uint8Array(BUCKETS + 1);
const BUCKET_ROLES = new Uint8Array(ROLES);
{
  let at = 0;
  for (let b = 0; b < BUCKETS; b++) {
    BUCKET_START[b] = at;
    for (const r of bucketRoles[b]!) BUCKET_ROLES[at++] = r;
  }
  BUCKET_START[BUCKETS] = at;
}
const ROLE_BY_NAME = new Map(KEY_NAMES.map((n, r) => [n, r] as const).filter(([, r]) => r > 0));

/** Role of the key buf[s, e) (exact, case-sensitive), or R_NONE. */
export function roleOf(buf: Uint8Array, s: number, e: number): number {
  const len = e - s;
  if (len < 2 || len > 13) return R_NONE;
  const b = bucketOf(len, buf[s]!);
  for (let k = BUCKET_START[b]!; k < BUCKET_START[b + 1]!; k++) {
    const r = BUCKET_ROLES[k]!;
    const name = NAME_BYTES[r]!;
    if (name.length !== len) continue;
    let j = 0;
    while (j < len && buf[s + j] === name[j]) j++;
    if (j === len) return r;
  }
  return R_NONE;
}

/** Role of a key given as a string (keys that held escapes). */
export function roleOfName(name: string): number {
  return ROLE_BY_NAME.get(name) ?? R_NONE;
}

// Kinds of values, as the parsers saw them.
/** A string without escapes (or a logfmt value to take as it is): [vs, ve) is the text. */
export const V_STR = 0;
/** A string with valid JSON escapes: [vs, ve) is the inside of the literal (ENC_JSON). */
export const V_STR_ESC = 1;
export const V_NUM = 2;
/** true, false, null. */
export const V_LIT = 3;
export const V_ARR = 4;
/** An object with members: [vs, ve) is `{…}`, flattened into fields. */
export const V_OBJ = 5;
/** `{}` (or with whitespace inside): kept as its text. */
export const V_EMPTY_OBJ = 6;
/** A logfmt key without `=`: the value `true`. */
export const V_BARE = 7;

/**
 * The deferred members of the frame being parsed (one set per process: parsing is
 * synchronous and a parser finishes a frame before the next starts).
 */
export class Members {
  n = 0;
  role = new Uint8Array(32);
  /** 1 when the key holds escapes (decode before interning). */
  kesc = new Uint8Array(32);
  ks = new Uint32Array(32);
  ke = new Uint32Array(32);
  vs = new Uint32Array(32);
  ve = new Uint32Array(32);
  vtype = new Uint8Array(32);
  /** 1 once mapMembers put the member into the record (not to be written as a field). */
  used = new Uint8Array(32);
  /** Index of the last member with each role, or -1. */
  readonly last = new Int32Array(ROLES).fill(-1);

  reset(): void {
    // Only add() sets `last`, at the roles of the members it added: those go back to -1 (a fill() per record cost more).
    for (let k = 0; k < this.n; k++) this.last[this.role[k]!] = -1;
    this.n = 0;
  }

  add(role: number, ks: number, ke: number, kesc: number, vs: number, ve: number, vtype: number): void {
    const k = this.n;
    if (k === this.role.length) this.grow();
    this.role[k] = role;
    this.kesc[k] = kesc;
    this.ks[k] = ks;
    this.ke[k] = ke;
    this.vs[k] = vs;
    this.ve[k] = ve;
    this.vtype[k] = vtype;
    this.used[k] = 0;
    this.last[role] = k;
    this.n = k + 1;
  }

  private grow(): void {
    const n = this.role.length * 2;
    const role = new Uint8Array(n);
    const kesc = new Uint8Array(n);
    const vtype = new Uint8Array(n);
    const used = new Uint8Array(n);
    const ks = new Uint32Array(n);
    const ke = new Uint32Array(n);
    const vs = new Uint32Array(n);
    const ve = new Uint32Array(n);
    role.set(this.role);
    kesc.set(this.kesc);
    vtype.set(this.vtype);
    used.set(this.used);
    ks.set(this.ks);
    ke.set(this.ke);
    vs.set(this.vs);
    ve.set(this.ve);
    this.role = role;
    this.kesc = kesc;
    this.vtype = vtype;
    this.used = used;
    this.ks = ks;
    this.ke = ke;
    this.vs = vs;
    this.ve = ve;
  }
}

export const members = new Members();

/**
 * Puts the usable members into record i (time, severity, text slots) and marks them
 * used. `gelf`: GELF 1.1's keys instead of the JSON-lines ones (`timestamp`, `level`
 * as syslog 0–7, `host`, `short_message`; `version` is consumed).
 */
export function mapMembers(w: RecordWriter, i: number, buf: Buffer, gelf: boolean): void {
  const m = members;
  if (m.n === 0) return;
  if (gelf) {
    pickTime(w, i, buf, R_TIMESTAMP, R_TIMESTAMP);
    pickLevel(w, i, buf, R_LEVEL, R_LEVEL, true);
    pickText(w, i, buf, MESSAGE, R_SHORT_MESSAGE, R_SHORT_MESSAGE);
    pickText(w, i, buf, HOST, R_HOST, R_HOST);
    for (let k = 0; k < m.n; k++) if (m.role[k] === R_VERSION) m.used[k] = 1;
    return;
  }
  pickTime(w, i, buf, R_TIME, R_DATE);
  pickLevel(w, i, buf, R_LEVEL, R_LVL, false);
  pickText(w, i, buf, MESSAGE, R_MSG, R_LOG);
  pickText(w, i, buf, HOST, R_HOST, R_HOSTNAME);
  pickText(w, i, buf, APP, R_APP, R_LOGGER);
  pickText(w, i, buf, PROCID, R_PID, R_PID);
  pickText(w, i, buf, MSGID, R_MSGID, R_MSGID);
}

/** The first role in [from, to] whose (last) member has a time. */
function pickTime(w: RecordWriter, i: number, buf: Buffer, from: number, to: number): void {
  const m = members;
  for (let r = from; r <= to; r++) {
    const k = m.last[r]!;
    if (k < 0) continue;
    const t = m.vtype[k];
    let ok: boolean;
    if (t === V_STR || t === V_NUM) {
      ok = parseTimeText(buf, m.vs[k]!, m.ve[k]!);
    } else if (t === V_STR_ESC) {
      const n = unescapeShort(buf, m.vs[k]!, m.ve[k]!);
      ok = n >= 0 && parseTimeText(unescaped, 0, n);
    } else {
      continue;
    }
    if (ok) {
      w.timeMs[i] = parsedTime.ms;
      w.timeNs[i] = parsedTime.ns;
      m.used[k] = 1;
      return;
    }
  }
}

function pickLevel(w: RecordWriter, i: number, buf: Buffer, from: number, to: number, syslogOnly: boolean): void {
  const m = members;
  for (let r = from; r <= to; r++) {
    const k = m.last[r]!;
    if (k < 0) continue;
    const t = m.vtype[k];
    let sev: number;
    if (t === V_STR || t === V_NUM) {
      sev = parseLevelText(buf, m.vs[k]!, m.ve[k]!, syslogOnly);
    } else if (t === V_STR_ESC) {
      const n = unescapeShort(buf, m.vs[k]!, m.ve[k]!);
      sev = n >= 0 ? parseLevelText(unescaped, 0, n, syslogOnly) : -1;
    } else {
      continue;
    }
    if (sev >= 0) {
      w.severity[i] = sev;
      m.used[k] = 1;
      return;
    }
  }
}

/**
 * A text slot from the first usable role in [from, to]. Strings and numbers are
 * usable everywhere; the message also takes any other value as its JSON text, except
 * an object under `log` (ECS puts `log.level`, `log.logger` there), which stays fields.
 */
function pickText(w: RecordWriter, i: number, buf: Buffer, slot: number, from: number, to: number): void {
  const m = members;
  for (let r = from; r <= to; r++) {
    const k = m.last[r]!;
    if (k < 0) continue;
    const t = m.vtype[k];
    // `service` is not the app when its value is a number or starts with a digit:
    // Heroku's router (logfmt) writes its service time there (`service=2ms`).
    if (r === R_SERVICE && (t === V_NUM || startsWithDigit(buf, m.vs[k]!, m.ve[k]!))) continue;
    if (t === V_STR || t === V_NUM) {
      w.set(i, slot, m.vs[k]!, m.ve[k]!, ENC_UTF8);
    } else if (t === V_STR_ESC) {
      const s = m.vs[k]!;
      let e = m.ve[k]!;
      if (slot === MESSAGE) e = trimEscapedLineEnds(buf, s, e);
      w.set(i, slot, s, e, e === m.ve[k] || hasBackslash(buf, s, e) ? ENC_JSON : ENC_UTF8);
    } else if (slot === MESSAGE && t !== V_BARE && !(r === R_LOG && (t === V_OBJ || t === V_EMPTY_OBJ))) {
      w.set(i, slot, m.vs[k]!, m.ve[k]!, ENC_UTF8);
    } else {
      continue;
    }
    m.used[k] = 1;
    return;
  }
}

/**
 * The end of an escaped string without its trailing `\n` / `\r` escapes: Docker's
 * json-file driver (and many loggers) end every message with "\n", which is no more
 * part of the message than a frame's trailing LF. An escape is one only after an odd
 * run of backslashes (`\\n` is a backslash and an `n`).
 */
export function trimEscapedLineEnds(buf: Uint8Array, s: number, e: number): number {
  while (e - s >= 2 && (buf[e - 1] === 0x6e || buf[e - 1] === 0x72) && buf[e - 2] === 0x5c) {
    let b = e - 2;
    while (b > s && buf[b - 1] === 0x5c) b--;
    if (((e - 1 - b) & 1) === 0) break;
    e -= 2;
  }
  return e;
}

function startsWithDigit(buf: Uint8Array, s: number, e: number): boolean {
  return s < e && buf[s]! >= 0x30 && buf[s]! <= 0x39;
}

/**
 * Scratch for a time or level value written with JSON escapes (System.Text.Json, .NET's
 * default, writes `+` as \u002B: "2026-11-22T10:00:00\u002B01:00"). Such values are
 * rare, so they take this slower path; plain ones are read in place.
 */
const unescaped = Buffer.alloc(64);

/** Value of a simple escape's second byte (`\n` → LF …), 0 for `u` and invalid ones. */
const SIMPLE_UNESCAPE = new Uint8Array(128);
SIMPLE_UNESCAPE[0x22] = 0x22;
SIMPLE_UNESCAPE[0x5c] = 0x5c;
SIMPLE_UNESCAPE[0x2f] = 0x2f;
SIMPLE_UNESCAPE[0x62] = 0x08;
SIMPLE_UNESCAPE[0x66] = 0x0c;
SIMPLE_UNESCAPE[0x6e] = 0x0a;
SIMPLE_UNESCAPE[0x72] = 0x0d;
SIMPLE_UNESCAPE[0x74] = 0x09;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/**
 * The JSON string contents buf[s, e) (escapes already validated) unescaped into
 * `unescaped`: its length, or -1 when it does not fit or an escape stands for a
 * non-ASCII character (neither can be a time or a level).
 */
function unescapeShort(buf: Uint8Array, s: number, e: number): number {
  let n = 0;
  let p = s;
  while (p < e) {
    if (n === unescaped.length) return -1;
    let c = buf[p]!;
    if (c !== 0x5c) {
      p++;
    } else if (p + 1 < e && buf[p + 1] === 0x75) {
      if (p + 6 > e) return -1;
      const h0 = hexValue(buf[p + 2]!);
      const h1 = hexValue(buf[p + 3]!);
      const h2 = hexValue(buf[p + 4]!);
      const h3 = hexValue(buf[p + 5]!);
      if ((h0 | h1 | h2 | h3) < 0) return -1;
      c = (h0 << 12) | (h1 << 8) | (h2 << 4) | h3;
      if (c >= 0x80) return -1;
      p += 6;
    } else {
      c = p + 1 < e && buf[p + 1]! < 0x80 ? SIMPLE_UNESCAPE[buf[p + 1]!]! : 0;
      if (c === 0) return -1;
      p += 2;
    }
    unescaped[n++] = c;
  }
  return n;
}

function hasBackslash(buf: Uint8Array, s: number, e: number): boolean {
  for (let p = s; p < e; p++) if (buf[p] === 0x5c) return true;
  return false;
}
