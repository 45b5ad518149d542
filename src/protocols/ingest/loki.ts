/**
 * Loki push (`POST /loki/api/v1/push`) → JSON lines (docs/ingest.md, "Loki push").
 *
 * Two bodies, chosen by Content-Type as Loki chooses:
 *  - `application/json`: `{"streams":[{"stream":{labels},"values":[["<ns>","line"(,{metadata})]]}]}`
 *    (Loki's HTTP API reference, "Ingest logs"; Fluent Bit's loki output sends this);
 *  - `application/x-protobuf`, or no Content-Type: a snappy block holding a
 *    logproto.PushRequest (Loki's pkg/push/push.proto; Promtail and Grafana Alloy send this).
 *
 * Every entry becomes one line: time, a level/host/app taken from well-known labels,
 * the line as message, all labels under `labels`, structured metadata under `metadata`.
 */
import protobuf from 'protobufjs';
import { isObject, JsonNumber, kindOf, parseJsonTree, type JsonValue } from './json-tree.js';
import { JsonLine, objectText, rfc3339FromNs, str } from './json-line.js';
import { parseLabelSet } from './label-set.js';
import { int64, type PbLong } from './pb-int.js';
import { uncompressSnappyBlock } from './snappy-block.js';
import {
  DEFAULT_LIMITS, IngestDecodeError, ItemReject, levelFromName, mediaType,
  type DecodeLimits, type DecodedBody,
} from './types.js';

/** Labels whose value is the record's host / app / level; the first non-empty one wins (the label stays under `labels` too). */
export const LOKI_HOST_LABELS = ['host', 'hostname'] as const;
export const LOKI_APP_LABELS = ['app', 'application', 'service_name', 'service', 'job'] as const;
/** Also looked up in structured metadata (Loki 3 puts `detected_level` there) when no label has a level. */
export const LOKI_LEVEL_LABELS = ['level', 'severity', 'detected_level'] as const;

/**
 * logproto.PushRequest as protobufjs reflection, written from the field table of
 * Loki's push.proto (names as in the .proto; numbers and types are what matter on the
 * wire). Fields Loki only uses internally (PushRequest.format, EntryAdapter's field 4)
 * are left out: a decoder skips unknown fields.
 */
const LOKI_SCHEMA = protobuf.Root.fromJSON({
  nested: {
    logproto: {
      nested: {
        PushRequest: { fields: { streams: { rule: 'repeated', type: 'StreamAdapter', id: 1 } } },
        StreamAdapter: {
          fields: {
            labels: { type: 'string', id: 1 },
            entries: { rule: 'repeated', type: 'EntryAdapter', id: 2 },
            hash: { type: 'uint64', id: 3 },
          },
        },
        EntryAdapter: {
          fields: {
            timestamp: { type: 'google.protobuf.Timestamp', id: 1 },
            line: { type: 'string', id: 2 },
            structuredMetadata: { rule: 'repeated', type: 'LabelPairAdapter', id: 3 },
          },
        },
        LabelPairAdapter: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
      },
    },
    google: {
      nested: {
        protobuf: {
          nested: {
            // google/protobuf/timestamp.proto
            Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
          },
        },
      },
    },
  },
});

export const PushRequest = LOKI_SCHEMA.lookupType('logproto.PushRequest');

/** protobufjs's decoded shapes. */
interface PbPushRequest { streams: PbStream[] }
interface PbStream { labels: string; entries: PbEntry[] }
interface PbEntry { timestamp: { seconds: PbLong | number; nanos: number } | null; line: string; structuredMetadata: { name: string; value: string }[] }

/** Decodes a Loki push body into JSON lines. Throws only IngestDecodeError. */
export function decodeLokiPush(body: Buffer, contentType: string, limits: DecodeLimits = DEFAULT_LIMITS): DecodedBody {
  const mt = mediaType(contentType);
  try {
    if (mt === 'application/json') return fromJson(parseJsonTree(body));
    // Loki takes a request without Content-Type as protobuf too.
    if (mt === 'application/x-protobuf' || mt === '') return fromProtobuf(uncompressSnappyBlock(body, limits.maxDecompressed));
  } catch (err) {
    if (err instanceof IngestDecodeError) throw err;
    throw new IngestDecodeError('internal_error', `Loki push decoder failed: ${(err as Error)?.message ?? String(err)}`);
  }
  throw new IngestDecodeError('unsupported_content_type', `Content-Type ${JSON.stringify(contentType)}: Loki push takes application/json or application/x-protobuf (snappy-compressed)`);
}

/** What a stream gives each of its entries, worked out once per stream. */
interface Stream {
  /** `"labels":{…}` member text, or '' without labels. */
  labels: string;
  host: string | null;
  app: string | null;
  level: string | null;
}

function streamOf(pairs: readonly (readonly [string, string])[]): Stream {
  return {
    labels: pairs.length === 0 ? '' : objectText(pairs.map(([n, v]) => [n, str(v)] as const)),
    host: pick(pairs, LOKI_HOST_LABELS),
    app: pick(pairs, LOKI_APP_LABELS),
    level: pickLevel(pairs),
  };
}

/** The value of the first name in `names` that has a non-empty value. */
function pick(pairs: readonly (readonly [string, string])[], names: readonly string[]): string | null {
  for (const n of names) {
    for (const [k, v] of pairs) if (k === n && v !== '') return v;
  }
  return null;
}

function pickLevel(pairs: readonly (readonly [string, string])[]): string | null {
  for (const n of LOKI_LEVEL_LABELS) {
    for (const [k, v] of pairs) {
      if (k !== n) continue;
      const level = levelFromName(v);
      if (level !== null) return level;
    }
  }
  return null;
}

/** One entry's line. `ns` null: the entry has no timestamp (the record gets the receive time). */
function lineOf(s: Stream, ns: bigint | null, line: string, metadata: readonly (readonly [string, string])[]): Buffer {
  const out = new JsonLine();
  if (ns !== null) {
    const t = rfc3339FromNs(ns);
    if (t === null) throw new ItemReject('invalid_timestamp', 'the timestamp is outside years 1–9999');
    out.text('time', t);
  }
  const level = s.level ?? pickLevel(metadata);
  if (level !== null) out.text('level', level);
  if (s.host !== null) out.text('host', s.host);
  if (s.app !== null) out.text('app', s.app);
  out.text('message', line);
  if (s.labels !== '') out.add('labels', s.labels);
  out.object('metadata', metadata.map(([n, v]) => [n, str(v)] as const));
  return out.done();
}

// ---- JSON ----------------------------------------------------------------------

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function fromJson(root: JsonValue): DecodedBody {
  const out: DecodedBody = { lines: [], rejected: [] };
  if (!isObject(root)) throw new IngestDecodeError('invalid_request', `a Loki push body is an object with "streams", not ${kindOf(root)}`);
  const streams = root.get('streams');
  if (!Array.isArray(streams)) throw new IngestDecodeError('invalid_request', `"streams" must be an array, not ${kindOf(streams)}`);
  let index = 0;
  for (let si = 0; si < streams.length; si++) {
    const st = streams[si]!;
    if (!isObject(st)) throw new IngestDecodeError('invalid_request', `streams[${si}] must be an object, not ${kindOf(st)}`);
    const values = st.get('values');
    if (values === undefined || values === null) continue;
    if (!Array.isArray(values)) throw new IngestDecodeError('invalid_request', `streams[${si}].values must be an array, not ${kindOf(values)}`);
    const labels = stringMap(st.get('stream') ?? null);
    const stream = labels === null ? null : streamOf(labels);
    for (const v of values) {
      const i = index++;
      try {
        if (stream === null) throw new ItemReject('invalid_labels', 'the stream\'s "stream" is not an object of strings');
        out.lines.push(jsonEntry(stream, v));
      } catch (err) {
        if (!(err instanceof ItemReject)) throw err;
        out.rejected.push({ index: i, reason: err.reason });
      }
    }
  }
  return out;
}

/** `[ "<ns>", "line" ]` or `[ "<ns>", "line", { metadata } ]`. */
function jsonEntry(s: Stream, v: JsonValue): Buffer {
  if (!Array.isArray(v) || v.length < 2 || v.length > 3 || typeof v[1] !== 'string') {
    throw new ItemReject('invalid_entry', 'an entry is ["<unix ns>", "line"] or ["<unix ns>", "line", {metadata}]');
  }
  const ns = nsOf(v[0]!);
  let metadata: [string, string][] = [];
  if (v.length === 3) {
    const m = stringMap(v[2]!);
    if (m === null) throw new ItemReject('invalid_metadata', 'structured metadata is an object of strings');
    metadata = m;
  }
  return lineOf(s, ns, v[1], metadata);
}

/** A decimal int64 of nanoseconds, as text (Loki's form) or as a JSON number written as an integer. */
function nsOf(v: JsonValue): bigint {
  const text = typeof v === 'string' ? v : v instanceof JsonNumber ? v.text : null;
  if (text === null || !/^-?[0-9]{1,19}$/.test(text)) throw new ItemReject('invalid_timestamp', 'the timestamp is a decimal integer of ns since the epoch');
  const ns = BigInt(text);
  if (ns < INT64_MIN || ns > INT64_MAX) throw new ItemReject('invalid_timestamp', 'the timestamp is outside int64');
  return ns;
}

/** An object whose values are all strings → pairs; null → no pairs; anything else → null. */
function stringMap(v: JsonValue): [string, string][] | null {
  if (v === null) return [];
  if (!isObject(v)) return null;
  const pairs: [string, string][] = [];
  for (const [k, x] of v) {
    if (typeof x !== 'string') return null;
    pairs.push([k, x]);
  }
  return pairs;
}

// ---- protobuf ------------------------------------------------------------------

function fromProtobuf(buf: Buffer): DecodedBody {
  let req: PbPushRequest;
  try {
    req = PushRequest.decode(buf) as unknown as PbPushRequest;
  } catch (err) {
    throw new IngestDecodeError('bad_protobuf', `the body is not a logproto.PushRequest: ${(err as Error)?.message ?? String(err)}`);
  }
  const out: DecodedBody = { lines: [], rejected: [] };
  // Streams of one request often repeat a label set: parse each text once.
  const parsed = new Map<string, Stream | null>();
  let index = 0;
  for (const st of req.streams) {
    let stream = parsed.get(st.labels);
    if (stream === undefined) {
      const pairs = parseLabelSet(st.labels);
      stream = pairs === null ? null : streamOf(pairs);
      parsed.set(st.labels, stream);
    }
    for (const e of st.entries) {
      const i = index++;
      try {
        if (stream === null) throw new ItemReject('invalid_labels', 'the stream\'s labels are not a label set');
        const md = e.structuredMetadata.map((p) => [p.name, p.value] as const);
        out.lines.push(lineOf(stream, timestampNs(e.timestamp), e.line, md));
      } catch (err) {
        if (!(err instanceof ItemReject)) throw err;
        out.rejected.push({ index: i, reason: err.reason });
      }
    }
  }
  return out;
}

/** google.protobuf.Timestamp → ns, or null when absent. Nanos must be 0–999,999,999 (timestamp.proto). */
function timestampNs(t: PbEntry['timestamp']): bigint | null {
  if (t === null || t === undefined) return null;
  if (!Number.isInteger(t.nanos) || t.nanos < 0 || t.nanos > 999_999_999) throw new ItemReject('invalid_timestamp', 'Timestamp.nanos is outside 0–999999999');
  return int64(t.seconds) * 1_000_000_000n + BigInt(t.nanos);
}
