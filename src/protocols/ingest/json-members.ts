/**
 * The top-level members of a JSON object as byte ranges, and a builder that writes a
 * new object from copied ranges: for the Elasticsearch bulk and Splunk HEC decoders
 * (docs/ingest-compat.md), which rearrange a sender's document into the JSON line
 * ringlog's JSON-lines parser maps onto the record.
 *
 * Why ranges and not JSON.parse: a value must reach the parser as the sender wrote
 * it. JSON.parse turns `1.50` into 1.5 and 12345678901234567890 into
 * 12345678901234567000, and the record keeps numbers "as their JSON text as written"
 * (docs/record.md). So member values are copied byte for byte; only keys and the
 * few values a decoder reads (a time, a host name) are decoded.
 *
 * Validation is the JSON-lines parser's own (json-scanner.ts): a value this scanner
 * accepts, the parser accepts.
 */
import { unescapeJson } from '../../record/record.js';
import { formatTimestamp } from '../../record/time.js';
import { parseTimeText, parsedTime } from '../formats/text-values.js';
import {
  COLON, COMMA, LBRACE, LBRACKET, QUOTE, RBRACE,
  scanLiteral, scanNumber, scanString, scanned, skipValue, skipWs,
} from '../formats/json-scanner.js';

export type ValueKind = 'string' | 'number' | 'object' | 'array' | 'literal';

/** One member: the key decoded, the raw value buf[vs, ve). */
export interface Member {
  key: string;
  vs: number;
  ve: number;
  kind: ValueKind;
  /** For an object: true when it has no members (`{}`). */
  empty: boolean;
}

/**
 * The object at buf[p] (`{`, no leading whitespace) up to at most e, `depth`
 * containers open around it. Returns its members and the position after its `}`,
 * or null when it is not a well-formed object.
 */
export function scanObject(buf: Buffer, p: number, e: number, depth = 0): { members: Member[]; end: number } | null {
  if (p >= e || buf[p] !== LBRACE) return null;
  const members: Member[] = [];
  p = skipWs(buf, p + 1, e);
  if (p < e && buf[p] === RBRACE) return { members, end: p + 1 };
  for (;;) {
    if (p >= e || buf[p] !== QUOTE) return null;
    const ks = p + 1;
    p = scanString(buf, ks, e);
    if (p < 0) return null;
    const key = scanned.esc === 0 ? buf.toString('utf8', ks, p - 1) : unescapeJson(buf.toString('utf8', ks, p - 1));
    p = skipWs(buf, p, e);
    if (p >= e || buf[p] !== COLON) return null;
    const vs = skipWs(buf, p + 1, e);
    if (vs >= e) return null;
    const c = buf[vs]!;
    let kind: ValueKind;
    let ve: number;
    let empty = false;
    if (c === QUOTE) {
      kind = 'string';
      ve = scanString(buf, vs + 1, e);
    } else if (c === LBRACE) {
      kind = 'object';
      const q = skipWs(buf, vs + 1, e);
      empty = q < e && buf[q] === RBRACE;
      ve = skipValue(buf, vs, e, depth + 1);
    } else if (c === LBRACKET) {
      kind = 'array';
      ve = skipValue(buf, vs, e, depth + 1);
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      kind = 'number';
      ve = scanNumber(buf, vs, e);
    } else {
      kind = 'literal';
      ve = scanLiteral(buf, vs, e);
    }
    if (ve < 0) return null;
    members.push({ key, vs, ve, kind, empty });
    p = skipWs(buf, ve, e);
    if (p >= e) return null;
    if (buf[p] === RBRACE) return { members, end: p + 1 };
    if (buf[p] !== COMMA) return null;
    p = skipWs(buf, p + 1, e);
  }
}

/**
 * A whole frame buf[s, e) that must be one object (whitespace around it allowed):
 * its members, or null.
 */
export function objectMembers(buf: Buffer, s: number, e: number): Member[] | null {
  const p = skipWs(buf, s, e);
  const r = scanObject(buf, p, e);
  if (r === null || skipWs(buf, r.end, e) !== e) return null;
  return r.members;
}

/** The decoded text of a string member. */
export function stringOf(buf: Buffer, m: Member): string {
  const raw = buf.toString('utf8', m.vs + 1, m.ve - 1);
  return raw.includes('\\') ? unescapeJson(raw) : raw;
}

/** The last member named `key`, or undefined (the last one counts, as with JSON.parse). */
export function lastMember(members: readonly Member[], key: string): Member | undefined {
  for (let i = members.length - 1; i >= 0; i--) if (members[i]!.key === key) return members[i];
  return undefined;
}

/** True for a value the JSON-lines parser can use as host or app: non-empty text, or a number. */
export function usableText(m: Member | undefined): boolean {
  if (m === undefined) return false;
  if (m.kind === 'number') return true;
  return m.kind === 'string' && m.ve - m.vs > 2;
}

/** `null`. */
export function isNull(buf: Buffer, m: Member): boolean {
  return m.kind === 'literal' && buf[m.vs] === 0x6e;
}

/** 9999-12-31T23:59:59.999Z: the largest time RFC 3339 can write with a 4-digit year. */
const MAX_MS = 253_402_300_799_999;

/**
 * A time as text or a number (what the JSON-lines parser reads as a time, docs/record.md)
 * → RFC 3339 UTC with 9 fraction digits, exact to the ns; null when it is not one, or
 * outside years 1970–9999.
 */
export function rfc3339Of(text: string): string | null {
  const b = Buffer.from(text, 'utf8');
  if (b.length > 64 || !parseTimeText(b, 0, b.length)) return null;
  if (parsedTime.ms < 0 || parsedTime.ms > MAX_MS) return null;
  return formatTimestamp(parsedTime.ms, parsedTime.ns);
}

/** rfc3339Of for a string or number member. */
export function memberTime(buf: Buffer, m: Member | undefined): string | null {
  if (m === undefined) return null;
  if (m.kind === 'string') return rfc3339Of(stringOf(buf, m));
  if (m.kind === 'number') return rfc3339Of(buf.toString('latin1', m.vs, m.ve));
  return null;
}

/**
 * Writes one JSON object from members given as JSON text or as byte ranges copied
 * from a source buffer, in the order added. Keys are written as given: the caller
 * decides names (see KeyNames).
 */
export class RawLine {
  private readonly parts: Buffer[] = [];
  private n = 0;

  /** `"key":json` with json already JSON text. */
  json(key: string, json: string): this {
    this.parts.push(Buffer.from((this.n++ === 0 ? '{' : ',') + JSON.stringify(key) + ':' + json, 'utf8'));
    return this;
  }

  /** `"key":"text"`. */
  text(key: string, value: string): this {
    return this.json(key, JSON.stringify(value));
  }

  /** `"key":` and the bytes src[vs, ve) as they are. */
  raw(key: string, src: Buffer, vs: number, ve: number): this {
    this.json(key, '');
    this.parts.push(src.subarray(vs, ve));
    return this;
  }

  done(): Buffer {
    this.parts.push(Buffer.from(this.n === 0 ? '{}' : '}', 'latin1'));
    return Buffer.concat(this.parts);
  }
}

/**
 * Key names of one output line. The decoder claims the keys it writes first
 * (`claim`); a document member whose key was claimed is written under the key with
 * `_` in front, as many times as it takes to be free (`time` → `_time`). Document
 * members that share a key among themselves keep it: the parser's rule for repeated
 * keys (the last one counts) applies to them as it would without the decoder.
 */
export class KeyNames {
  private readonly claimed = new Set<string>();
  private readonly taken = new Set<string>();

  /** `docKeys`: every key the document itself uses (so that a rename never lands on one). */
  constructor(docKeys: Iterable<string>) {
    for (const k of docKeys) this.taken.add(k);
  }

  claim(key: string): string {
    this.claimed.add(key);
    this.taken.add(key);
    return key;
  }

  /** The key a document member named `key` is written under. */
  docKey(key: string): string {
    if (!this.claimed.has(key)) return key;
    let k = '_' + key;
    while (this.taken.has(k)) k = '_' + k;
    this.taken.add(k);
    return k;
  }
}

/**
 * The JSON-lines parser reads an object with both `version` and `short_message` at
 * the top level as GELF (docs/record.md, "GELF"), where `time`, `message`, `app`…
 * have no meaning. Decoders claim `version` in that case, so the document's `version`
 * is written as `_version` and the line stays a JSON line.
 */
export function wouldBeGelf(keys: ReadonlySet<string>): boolean {
  return keys.has('version') && keys.has('short_message');
}
