/**
 * JSON lines and GELF (JSON payload): one object per frame → record
 * (docs/record.md, "JSON lines" and "GELF").
 *
 * One pass over the bytes validates the whole frame (json-scanner.ts) and writes
 * fields as it goes: members whose key has no role are fields at once (nested objects
 * flattened with dots, interned with the parent's key id as prefix); members whose
 * key has a role, and `_` keys (which GELF renames), wait in `members` until the end
 * of the object, when mapMembers() decides what they become (well-known-keys.ts).
 * A syntax error anywhere makes the frame a raw record: w.fail() forgets whatever was
 * written for it.
 *
 * Nesting: objects down to MAX_FLATTEN levels below the top are flattened (recursion
 * at most that deep); deeper values are validated iteratively and kept as JSON text.
 */
import { ENC_JSON, ENC_UTF8, type RecordWriter } from '../../record/record-batch.js';
import type { KeyDictionary } from '../../record/key-dictionary.js';
import { RecentNames } from '../../record/recent-names.js';
import { unescapeJson } from '../../record/record.js';
import {
  COLON, COMMA, LBRACE, LBRACKET, QUOTE, RBRACE,
  scanLiteral, scanNumber, scanned, skipValue, skipWs,
} from './json-scanner.js';
import { hintedScanString } from './json-strings.js';
import { isBlank } from './raw.js';
import {
  R_NONE, R_SHORT_MESSAGE, R_VERSION, V_ARR, V_EMPTY_OBJ, V_LIT, V_NUM, V_OBJ, V_STR, V_STR_ESC,
  mapMembers, members, roleOf, roleOfName,
} from './well-known-keys.js';
import { skipBom } from '../utf8-bom.js';

/** Objects nested deeper than this below the top-level object are kept as JSON text. */
export const MAX_FLATTEN = 16;

const UNDERSCORE = 0x5f;

/** JSON lines: GELF mapping when the object has both `version` and `short_message`. */
export function parseJson(w: RecordWriter, i: number, start: number, end: number): void {
  parseObject(w, i, start, end, false);
}

/** A GELF listener: GELF mapping always; an object without `short_message` is invalid_gelf. */
export function parseGelf(w: RecordWriter, i: number, start: number, end: number): void {
  parseObject(w, i, start, end, true);
}

/**
 * Keys of recent records by their place (member j of the top-level object; member j of
 * an object nested at depth d; see keySlot): a key equal to the one remembered there
 * (unescaped, same prefix) takes the remembered role (tag) and id (-1 when it has a
 * role or starts with `_`: not interned where it is read) instead of roleOf() and
 * intern() again.
 */
const recentKeys = new RecentNames(64, 48);

function keySlot(depth: number, j: number): number {
  return ((depth & 3) << 4) | (j & 15);
}

/** True when buf[ks, ke) (no escapes) is the key remembered for `slot` under `prefix`. */
function rememberedKey(keys: KeyDictionary, slot: number, prefix: number, buf: Uint8Array, ks: number, ke: number): boolean {
  return recentKeys.startsAt(keys, slot, prefix, buf, ks, ke) === ke - ks;
}

/** The role of the key topKey() looked at last (a module-level out-parameter: no object per key). */
let keyRole = R_NONE;

/**
 * Member j of the top-level object, key buf[ks, ke) (`kesc`: it holds escapes): its key
 * id when its value is a field at once, else -1 with its role in keyRole (deferred:
 * a role, or a `_` key that GELF may rename).
 */
function topKey(w: RecordWriter, buf: Buffer, j: number, ks: number, ke: number, kesc: number): number {
  let key = -1;
  let role = R_NONE;
  const slot = keySlot(0, j);
  if (kesc === 0 && rememberedKey(w.keys, slot, -1, buf, ks, ke)) {
    key = recentKeys.id[slot]!;
    role = recentKeys.tag[slot]!;
  } else if (kesc === 0) {
    role = roleOf(buf, ks, ke);
    if (role === R_NONE && !(ke > ks && buf[ks] === UNDERSCORE)) key = w.keys.intern(buf, ks, ke, -1);
    recentKeys.remember(slot, -1, buf, ks, ke, key, role);
  } else {
    const name = unescapeJson(buf.toString('utf8', ks, ke));
    role = roleOfName(name);
    if (role === R_NONE && name.charCodeAt(0) !== UNDERSCORE) key = w.keys.internString(name, -1);
  }
  keyRole = role;
  return key;
}

function parseObject(w: RecordWriter, i: number, start: number, end: number, forceGelf: boolean): void {
  const buf = w.buf;
  let e = end;
  while (e > start) {
    const c = buf[e - 1]!;
    if (c !== 0x0a && c !== 0x0d && c !== 0x00) break;
    e--;
  }
  let p = start;
  // A UTF-8 BOM, which RFC 8259 §8.1 lets a parser ignore.
  p = skipBom(buf, p, e);
  p = skipWs(buf, p, e);
  if (p >= e || buf[p] !== LBRACE) {
    w.fail(i, start, end, isBlank(buf, start, end) ? 'empty' : 'invalid_json');
    return;
  }
  const m = members;
  m.reset();
  p = skipWs(buf, p + 1, e);
  if (p < e && buf[p] === RBRACE) {
    p++;
  } else {
    for (let j = 0; ; j++) {
      if (p >= e || buf[p] !== QUOTE) return w.fail(i, start, end, 'invalid_json');
      const ks = p + 1;
      p = hintedScanString(buf, ks, e);
      if (p < 0) return w.fail(i, start, end, 'invalid_json');
      const ke = p - 1;
      const kesc = scanned.esc;
      p = skipWs(buf, p, e);
      if (p >= e || buf[p] !== COLON) return w.fail(i, start, end, 'invalid_json');
      p = skipWs(buf, p + 1, e);
      const key = topKey(w, buf, j, ks, ke, kesc);
      const role = keyRole;
      if (key >= 0) {
        p = valueField(w, buf, p, e, key, 1);
      } else {
        p = deferValue(buf, p, e, role, ks, ke, kesc);
      }
      if (p < 0) return w.fail(i, start, end, 'invalid_json');
      p = skipWs(buf, p, e);
      if (p >= e) return w.fail(i, start, end, 'invalid_json');
      const c = buf[p];
      if (c === COMMA) {
        p = skipWs(buf, p + 1, e);
      } else if (c === RBRACE) {
        p++;
        break;
      } else {
        return w.fail(i, start, end, 'invalid_json');
      }
    }
  }
  if (skipWs(buf, p, e) !== e) return w.fail(i, start, end, 'invalid_json');

  const gelf = forceGelf || (m.last[R_VERSION]! >= 0 && m.last[R_SHORT_MESSAGE]! >= 0);
  if (forceGelf && m.last[R_SHORT_MESSAGE]! < 0) return w.fail(i, start, end, 'invalid_gelf');
  mapMembers(w, i, buf, gelf);
  for (let k = 0; k < m.n; k++) if (m.used[k] === 0) memberField(w, buf, k, gelf);
}

/**
 * The value at p (no leading whitespace) as field(s) under `key`; `depth` is the
 * number of containers open around it (1 for a top-level member). Returns the
 * position after the value, or -1.
 */
function valueField(w: RecordWriter, buf: Buffer, p: number, e: number, key: number, depth: number): number {
  if (p >= e) return -1;
  const c = buf[p]!;
  let q: number;
  if (c === QUOTE) {
    q = hintedScanString(buf, p + 1, e);
    if (q < 0) return -1;
    w.field(key, p + 1, q - 1, scanned.esc === 0 ? ENC_UTF8 : ENC_JSON);
    return q;
  }
  if (c === LBRACE) {
    if (depth <= MAX_FLATTEN) {
      q = skipWs(buf, p + 1, e);
      if (q < e && buf[q] !== RBRACE) return flattenMembers(w, buf, q, e, key, depth);
    }
    q = skipValue(buf, p, e, depth); // {} and objects too deep to flatten: their text
  } else if (c === LBRACKET) {
    q = skipValue(buf, p, e, depth);
  } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
    q = scanNumber(buf, p, e);
  } else {
    q = scanLiteral(buf, p, e);
  }
  if (q < 0) return -1;
  w.field(key, p, q, ENC_UTF8);
  return q;
}

/**
 * The members of an object (p at the first member's key, after `{`) as fields named
 * `prefix.key`; `depth` counts the containers open outside this object. Returns the
 * position after the closing brace, or -1.
 */
function flattenMembers(w: RecordWriter, buf: Buffer, p: number, e: number, prefix: number, depth: number): number {
  for (let j = 0; ; j++) {
    if (p >= e || buf[p] !== QUOTE) return -1;
    const ks = p + 1;
    p = hintedScanString(buf, ks, e);
    if (p < 0) return -1;
    const ke = p - 1;
    let key: number;
    if (scanned.esc !== 0) {
      key = w.keys.internString(unescapeJson(buf.toString('utf8', ks, ke)), prefix);
    } else {
      const slot = keySlot(depth, j);
      if (rememberedKey(w.keys, slot, prefix, buf, ks, ke)) {
        key = recentKeys.id[slot]!;
      } else {
        key = w.keys.intern(buf, ks, ke, prefix);
        recentKeys.remember(slot, prefix, buf, ks, ke, key);
      }
    }
    p = skipWs(buf, p, e);
    if (p >= e || buf[p] !== COLON) return -1;
    p = valueField(w, buf, skipWs(buf, p + 1, e), e, key, depth + 1);
    if (p < 0) return -1;
    p = skipWs(buf, p, e);
    if (p >= e) return -1;
    const c = buf[p];
    if (c === RBRACE) return p + 1;
    if (c !== COMMA) return -1;
    p = skipWs(buf, p + 1, e);
  }
}

/** Validates the value at p and keeps it in `members` for mapMembers(); returns its end or -1. */
function deferValue(buf: Buffer, p: number, e: number, role: number, ks: number, ke: number, kesc: number): number {
  if (p >= e) return -1;
  const c = buf[p]!;
  let q: number;
  let vtype: number;
  let vs = p;
  let ve: number;
  if (c === QUOTE) {
    q = hintedScanString(buf, p + 1, e);
    if (q < 0) return -1;
    vtype = scanned.esc === 0 ? V_STR : V_STR_ESC;
    vs = p + 1;
    ve = q - 1;
  } else {
    if (c === LBRACE) {
      const r = skipWs(buf, p + 1, e);
      vtype = r < e && buf[r] === RBRACE ? V_EMPTY_OBJ : V_OBJ;
      q = skipValue(buf, p, e, 1);
    } else if (c === LBRACKET) {
      vtype = V_ARR;
      q = skipValue(buf, p, e, 1);
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      vtype = V_NUM;
      q = scanNumber(buf, p, e);
    } else {
      vtype = V_LIT;
      q = scanLiteral(buf, p, e);
    }
    if (q < 0) return -1;
    ve = q;
  }
  members.add(role, ks, ke, kesc, vs, ve, vtype);
  return q;
}

/**
 * A deferred member that was not mapped, as field(s): under its own key, or for GELF
 * a `_name` additional field under `name` (GELF 1.1; `_id` too becomes `id`).
 */
function memberField(w: RecordWriter, buf: Buffer, k: number, gelf: boolean): void {
  const m = members;
  const ks = m.ks[k]!;
  const ke = m.ke[k]!;
  let key: number;
  if (m.kesc[k] === 0) {
    const strip = gelf && ke - ks > 1 && buf[ks] === UNDERSCORE ? 1 : 0;
    key = w.keys.intern(buf, ks + strip, ke, -1);
  } else {
    let name = unescapeJson(buf.toString('utf8', ks, ke));
    if (gelf && name.length > 1 && name.charCodeAt(0) === UNDERSCORE) name = name.slice(1);
    key = w.keys.internString(name, -1);
  }
  typedField(w, buf, key, m.vs[k]!, m.ve[k]!, m.vtype[k]!);
}

/** A value the scanner typed, buf[vs, ve) of type t, as field(s) under `key`: an object flattened, any other its text. */
function typedField(w: RecordWriter, buf: Buffer, key: number, vs: number, ve: number, t: number): void {
  if (t === V_OBJ) flattenMembers(w, buf, skipWs(buf, vs + 1, ve), ve, key, 1);
  else w.field(key, vs, ve, t === V_STR_ESC ? ENC_JSON : ENC_UTF8);
}

/** Member words from the native JSON pass (native/json_strings.cc scanJsonLines, json-native.ts). */
const M_KESC = 0x80000000;
const M_SAME = 0x40000000;
const M_POS = 0x0fffffff;
/** Members per record the native pass compares with those of the previous frame it took (SAME). */
const MEMBERS_COMPARED = 64;
/** Key id (or -1) and role of each member of the last record jsonItemFields() added, by index. */
const memberKey = new Int32Array(MEMBERS_COMPARED);
const memberRole = new Uint8Array(MEMBERS_COMPARED);
/** False while jsonItemFields() runs: after one that threw (a bug), the next takes no SAME key from a half-written record. */
let memberKeysWhole = true;

/**
 * Record i from the native JSON pass's members items[a, b) of its top-level object
 * (the frame is valid JSON: the pass checked it as parseObject() does): the same fields,
 * in the same order, and the same mapping as parseObject() gives. A key marked SAME is
 * the one at its index in the previous record the pass took, which this function added
 * last, so it takes that record's id and role. `forceGelf` for a GELF listener, as
 * parseGelf(): then an object without `short_message` fails the frame [start, end).
 */
export function jsonItemFields(w: RecordWriter, i: number, items: Uint32Array, a: number, b: number, forceGelf: boolean, start: number, end: number): void {
  const buf = w.buf;
  const m = members;
  m.reset();
  const sameOk = memberKeysWhole;
  memberKeysWhole = false;
  for (let x = a, j = 0; x < b; x += 4, j++) {
    const k1 = items[x + 1]!;
    const ks = items[x]!;
    const ke = k1 & M_POS;
    const kesc = (k1 & M_KESC) !== 0 ? 1 : 0;
    const vs = items[x + 2]!;
    const v1 = items[x + 3]!;
    const ve = v1 & M_POS;
    const vtype = v1 >>> 28;
    let key: number;
    let role: number;
    if ((k1 & M_SAME) !== 0 && sameOk && j < MEMBERS_COMPARED) {
      key = memberKey[j]!;
      role = memberRole[j]!;
    } else {
      key = topKey(w, buf, j, ks, ke, kesc);
      role = keyRole;
    }
    if (j < MEMBERS_COMPARED) {
      memberKey[j] = key;
      memberRole[j] = role;
    }
    if (key < 0) m.add(role, ks, ke, kesc, vs, ve, vtype);
    else typedField(w, buf, key, vs, ve, vtype);
  }
  memberKeysWhole = true;
  const gelf = forceGelf || (m.last[R_VERSION]! >= 0 && m.last[R_SHORT_MESSAGE]! >= 0);
  if (forceGelf && m.last[R_SHORT_MESSAGE]! < 0) return w.fail(i, start, end, 'invalid_gelf');
  mapMembers(w, i, buf, gelf);
  for (let k = 0; k < m.n; k++) if (m.used[k] === 0) memberField(w, buf, k, gelf);
}
