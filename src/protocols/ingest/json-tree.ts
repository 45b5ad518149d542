/**
 * A JSON body (RFC 8259) → a tree, for the shippers' JSON requests (Loki push, OTLP/JSON).
 *
 * Why not JSON.parse: numbers. Loki and OTLP carry 64-bit integers (nanosecond
 * timestamps, AnyValue intValue) and OTLP/JSON lets a sender write them as numbers
 * (`"timeUnixNano": 1544712660300000000`, as in the upstream examples); JSON.parse
 * rounds those to the nearest double. Here a number stays its text (JsonNumber), so
 * it can be read exactly as a BigInt or kept as written.
 *
 * Objects are Maps (a key `__proto__` is a key like any other; the last of duplicate
 * keys wins, as with JSON.parse). Strings and numbers are validated by the scanners
 * ringlog's JSON-lines parser uses (json-scanner.ts); invalid UTF-8 in a string
 * becomes U+FFFD. Nesting is limited to MAX_JSON_NESTING containers, so recursion is
 * bounded; anything malformed is an IngestDecodeError('bad_json').
 */
import { unescapeJson } from '../../record/record.js';
import {
  COLON, COMMA, LBRACE, LBRACKET, QUOTE, RBRACE, RBRACKET,
  scanLiteral, scanNumber, scanString, scanned, skipWs,
} from '../formats/json-scanner.js';
import { IngestDecodeError, MAX_JSON_NESTING } from './types.js';
import { skipBom } from '../utf8-bom.js';

/** A JSON number as written (already validated against the RFC 8259 grammar). */
export class JsonNumber {
  constructor(readonly text: string) {}
}

export type JsonValue = string | JsonNumber | boolean | null | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

export function isObject(v: JsonValue | undefined): v is JsonObject {
  return v instanceof Map;
}

class Syntax extends Error {}

/** Parses a whole body: one value, whitespace around it, a UTF-8 BOM before it. */
export function parseJsonTree(buf: Buffer): JsonValue {
  let p = 0;
  const e = buf.length;
  p = skipBom(buf, p, e);
  try {
    p = skipWs(buf, p, e);
    const out = { p };
    const v = value(buf, out, e, 0);
    if (skipWs(buf, out.p, e) !== e) throw new Syntax(`unexpected data at byte ${skipWs(buf, out.p, e)}`);
    return v;
  } catch (err) {
    if (err instanceof Syntax) throw new IngestDecodeError('bad_json', `the body is not valid JSON: ${err.message}`);
    throw err;
  }
}

/** The value at out.p (no leading whitespace); leaves out.p after it. `depth`: containers open around it. */
function value(buf: Buffer, out: { p: number }, e: number, depth: number): JsonValue {
  const p = out.p;
  if (p >= e) throw new Syntax('unexpected end of the body');
  const c = buf[p]!;
  if (c === QUOTE) return string(buf, out, e);
  if (c === LBRACE || c === LBRACKET) {
    if (depth >= MAX_JSON_NESTING) throw new Syntax(`more than ${MAX_JSON_NESTING} nested containers`);
    return c === LBRACE ? object(buf, out, e, depth + 1) : array(buf, out, e, depth + 1);
  }
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
    const q = scanNumber(buf, p, e);
    if (q < 0) throw new Syntax(`bad number at byte ${p}`);
    out.p = q;
    return new JsonNumber(buf.toString('latin1', p, q));
  }
  const q = scanLiteral(buf, p, e);
  if (q < 0) throw new Syntax(`unexpected byte at ${p}`);
  out.p = q;
  return c === 0x74 ? true : c === 0x66 ? false : null;
}

function string(buf: Buffer, out: { p: number }, e: number): string {
  const s = out.p + 1;
  const q = scanString(buf, s, e);
  if (q < 0) throw new Syntax(`bad string at byte ${out.p}`);
  out.p = q;
  const raw = buf.toString('utf8', s, q - 1);
  return scanned.esc === 0 ? raw : unescapeJson(raw);
}

function object(buf: Buffer, out: { p: number }, e: number, depth: number): JsonObject {
  const m: JsonObject = new Map();
  let p = skipWs(buf, out.p + 1, e);
  if (p < e && buf[p] === RBRACE) {
    out.p = p + 1;
    return m;
  }
  for (;;) {
    if (p >= e || buf[p] !== QUOTE) throw new Syntax(`expected a member name at byte ${p}`);
    out.p = p;
    const key = string(buf, out, e);
    p = skipWs(buf, out.p, e);
    if (p >= e || buf[p] !== COLON) throw new Syntax(`expected ':' at byte ${p}`);
    out.p = skipWs(buf, p + 1, e);
    const v = value(buf, out, e, depth);
    m.delete(key); // the last of duplicate keys wins, in its own position
    m.set(key, v);
    p = skipWs(buf, out.p, e);
    if (p < e && buf[p] === COMMA) {
      p = skipWs(buf, p + 1, e);
    } else if (p < e && buf[p] === RBRACE) {
      out.p = p + 1;
      return m;
    } else {
      throw new Syntax(`expected ',' or '}' at byte ${p}`);
    }
  }
}

function array(buf: Buffer, out: { p: number }, e: number, depth: number): JsonValue[] {
  const a: JsonValue[] = [];
  let p = skipWs(buf, out.p + 1, e);
  if (p < e && buf[p] === RBRACKET) {
    out.p = p + 1;
    return a;
  }
  for (;;) {
    out.p = p;
    a.push(value(buf, out, e, depth));
    p = skipWs(buf, out.p, e);
    if (p < e && buf[p] === COMMA) {
      p = skipWs(buf, p + 1, e);
    } else if (p < e && buf[p] === RBRACKET) {
      out.p = p + 1;
      return a;
    } else {
      throw new Syntax(`expected ',' or ']' at byte ${p}`);
    }
  }
}

/** A JSON value's kind, for messages: `string`, `number`, `object`… */
export function kindOf(v: JsonValue | undefined): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (v instanceof JsonNumber) return 'number';
  if (v instanceof Map) return 'object';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}
