/**
 * Writing the JSON lines the decoders produce (docs/ingest.md): one object per item,
 * members in a fixed order, so that the same request always gives the same bytes.
 *
 * Only the keys the JSON-lines parser gives a role to on purpose (`time`, `level`,
 * `host`, `app`, `message`) stand at the top level next to keys that have no role
 * there (docs/record.md, "JSON lines"); everything else is nested under a prefix.
 */
import { formatTimestamp } from '../../record/time.js';

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z in ns: the years RFC 3339 can write. */
const MIN_NS = -62_135_596_800n * 1_000_000_000n;
const MAX_NS = 253_402_300_800n * 1_000_000_000n - 1n;

/** ns since the epoch → RFC 3339 UTC with 9 fraction digits, or null outside years 1–9999. */
export function rfc3339FromNs(ns: bigint): string | null {
  if (ns < MIN_NS || ns > MAX_NS) return null;
  let ms = ns / 1_000_000n;
  let rem = ns % 1_000_000n;
  if (rem < 0n) {
    rem += 1_000_000n;
    ms -= 1n;
  }
  return formatTimestamp(Number(ms), Number(rem));
}

/** A JSON string literal (JSON.stringify: lone surrogates are written as \u escapes, RFC 8259 §8.2). */
export function str(s: string): string {
  return JSON.stringify(s);
}

/** Lower-case hex of bytes (trace and span ids). */
export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Builds one JSON object: `add` members in order, then `done`. */
export class JsonLine {
  private s = '{';

  /** Adds `"key":<json>` where json is already JSON text. */
  add(key: string, json: string): this {
    this.s += (this.s.length === 1 ? '' : ',') + str(key) + ':' + json;
    return this;
  }

  /** Adds `"key":"text"`. */
  text(key: string, value: string): this {
    return this.add(key, str(value));
  }

  /** Adds `"key":{…}` from members (name, JSON text), in order; nothing when there are none. */
  object(key: string, members: readonly (readonly [string, string])[]): this {
    if (members.length === 0) return this;
    return this.add(key, objectText(members));
  }

  done(): Buffer {
    return Buffer.from(this.s + '}', 'utf8');
  }
}

/** `{"name":json,…}` from members (name, JSON text). Duplicate names are written as they come. */
export function objectText(members: readonly (readonly [string, string])[]): string {
  let s = '{';
  for (let i = 0; i < members.length; i++) s += (i === 0 ? '' : ',') + str(members[i]![0]) + ':' + members[i]![1];
  return s + '}';
}
