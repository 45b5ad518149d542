/**
 * An OTLP logs export request as both of its encodings decode to it (otlp-schema.ts
 * for protobuf, otlp-json.ts for JSON), and the JSON line of one log record
 * (docs/ingest.md, "OTLP/HTTP logs").
 *
 * A resource, scope or record that did not decode is an ItemReject in its place, so
 * that the records under it are rejected one by one with its reason and the rest of
 * the request goes on.
 */
import { JsonLine, hex, objectText, rfc3339FromNs, str } from './json-line.js';
import { ItemReject, levelFromName } from './types.js';

/**
 * An AnyValue (common.proto): string, bool, int64 (bigint), double (number), array,
 * key-value list, bytes, or null when no value is set. Nests at most MAX_ANY_DEPTH levels.
 */
export type AnyValue = string | boolean | bigint | number | AnyValue[] | KvList | Uint8Array | null;

export class KvList {
  constructor(readonly values: KeyValue[]) {}
}

export type KeyValue = readonly [key: string, value: AnyValue];

export interface Resource {
  attributes: KeyValue[];
  droppedAttributesCount: number;
  /** ResourceLogs.schema_url */
  schemaUrl: string;
}

export interface Scope {
  name: string;
  version: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  /** ScopeLogs.schema_url */
  schemaUrl: string;
}

export interface LogRecord {
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: AnyValue;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  flags: number;
  traceId: Uint8Array;
  spanId: Uint8Array;
  eventName: string;
}

export interface ScopeLogs {
  scope: Scope | ItemReject;
  records: (LogRecord | ItemReject)[];
}

export interface ResourceLogs {
  resource: Resource | ItemReject;
  scopeLogs: ScopeLogs[];
}

export const EMPTY_RESOURCE: Resource = { attributes: [], droppedAttributesCount: 0, schemaUrl: '' };

/** severityNumber ranges (logs data model: TRACE 1–4 … FATAL 21–24) → ringlog severity names. */
const LEVEL_BY_RANGE = ['debug', 'debug', 'info', 'warning', 'err', 'crit'] as const;

/** The resource attributes that are the record's host and app. */
export const OTLP_HOST_ATTRIBUTE = 'host.name';
export const OTLP_APP_ATTRIBUTE = 'service.name';

export function levelOf(r: LogRecord): string | null {
  if (r.severityNumber >= 1 && r.severityNumber <= 24) return LEVEL_BY_RANGE[(r.severityNumber - 1) >> 2]!;
  return levelFromName(r.severityText);
}

/** The JSON line of one record. */
export function recordLine(res: Resource, scope: Scope, r: LogRecord): Buffer {
  const out = new JsonLine();
  // A time of 0 is unknown (logs data model): the observed time stands in, else the receive time.
  const t = r.timeUnixNano !== 0n ? r.timeUnixNano : r.observedTimeUnixNano;
  if (t !== 0n) out.text('time', rfc3339FromNs(t)!); // fixed64 ns end in 2554: always writable
  const level = levelOf(r);
  if (level !== null) out.text('level', level);
  const host = textAttribute(res.attributes, OTLP_HOST_ATTRIBUTE);
  if (host !== null) out.text('host', host);
  const app = textAttribute(res.attributes, OTLP_APP_ATTRIBUTE);
  if (app !== null) out.text('app', app);
  const message = bodyText(r.body);
  if (message !== null) out.text('message', message);
  if (r.observedTimeUnixNano !== 0n) out.text('observed_time', rfc3339FromNs(r.observedTimeUnixNano)!);
  if (r.severityNumber !== 0) out.add('severity_number', String(r.severityNumber));
  if (r.severityText !== '') out.text('severity_text', r.severityText);
  if (r.eventName !== '') out.text('event_name', r.eventName);
  if (r.traceId.length > 0) out.text('trace_id', hex(r.traceId));
  if (r.spanId.length > 0) out.text('span_id', hex(r.spanId));
  if (r.flags !== 0) out.add('flags', String(r.flags));
  if (r.droppedAttributesCount !== 0) out.add('dropped_attributes_count', String(r.droppedAttributesCount));
  if (r.body instanceof KvList && r.body.values.length > 0) out.add('body', anyJson(r.body));
  out.object('attributes', members(r.attributes));
  out.object('resource', members(res.attributes));
  if (res.droppedAttributesCount !== 0) out.add('resource_dropped_attributes_count', String(res.droppedAttributesCount));
  if (res.schemaUrl !== '') out.text('resource_schema_url', res.schemaUrl);
  const sc: [string, string][] = [];
  if (scope.name !== '') sc.push(['name', str(scope.name)]);
  if (scope.version !== '') sc.push(['version', str(scope.version)]);
  if (scope.schemaUrl !== '') sc.push(['schema_url', str(scope.schemaUrl)]);
  if (scope.droppedAttributesCount !== 0) sc.push(['dropped_attributes_count', String(scope.droppedAttributesCount)]);
  if (scope.attributes.length > 0) sc.push(['attributes', objectText(members(scope.attributes))]);
  out.object('scope', sc);
  return out.done();
}

/** The last attribute `key` whose value is non-empty text (the last, as JSON lines read duplicates). */
function textAttribute(attrs: readonly KeyValue[], key: string): string | null {
  for (let i = attrs.length - 1; i >= 0; i--) {
    const [k, v] = attrs[i]!;
    if (k === key) return typeof v === 'string' && v !== '' ? v : null;
  }
  return null;
}

function members(kvs: readonly KeyValue[]): [string, string][] {
  return kvs.map(([k, v]) => [k, anyJson(v)]);
}

/** The message: a string body as it is, any other body as its JSON text (bytes: base64); null without a body. */
export function bodyText(v: AnyValue): string | null {
  if (v === null) return null;
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return base64(v);
  return anyJson(v);
}

/**
 * An AnyValue as JSON text: int64 as an exact integer, doubles as numbers (NaN and
 * ±Infinity, which JSON has no number for, as the strings proto3 JSON uses), bytes
 * as base64 text, arrays as arrays, key-value lists as objects (duplicate keys kept).
 */
export function anyJson(v: AnyValue): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return str(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      if (Number.isFinite(v)) return Object.is(v, -0) ? '-0' : String(v);
      return str(Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity');
    default:
      break;
  }
  if (v instanceof Uint8Array) return str(base64(v));
  if (Array.isArray(v)) return '[' + v.map(anyJson).join(',') + ']';
  return objectText(members(v.values));
}

function base64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}
