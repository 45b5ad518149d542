/**
 * OTLP logs in JSON (application/json) → the request model (otlp-model.ts), per
 * the OTLP specification's "JSON Protobuf Encoding": the proto3 JSON mapping with
 * lowerCamelCase names (the proto's snake_case names are read too, as proto3 JSON
 * parsers do), 64-bit integers as decimal strings or numbers (read exactly: the tree
 * keeps numbers as text), enums as numbers or names, traceId/spanId as hex (not
 * base64), other bytes as base64, unknown fields ignored, null as the default.
 *
 * The envelope (resourceLogs, scopeLogs, logRecords and the objects holding them)
 * must have the right shape, else the whole request is invalid_request; a value of
 * the wrong type inside a resource, scope or record rejects the records it covers.
 */
import { isObject, JsonNumber, kindOf, type JsonObject, type JsonValue } from './json-tree.js';
import {
  EMPTY_RESOURCE, KvList,
  type AnyValue, type KeyValue, type LogRecord, type Resource, type ResourceLogs, type Scope, type ScopeLogs,
} from './otlp-model.js';
import { IngestDecodeError, ItemReject, MAX_ANY_DEPTH, type ItemReason } from './types.js';

const SEVERITY_NAMES = [
  'UNSPECIFIED',
  'TRACE', 'TRACE2', 'TRACE3', 'TRACE4', 'DEBUG', 'DEBUG2', 'DEBUG3', 'DEBUG4',
  'INFO', 'INFO2', 'INFO3', 'INFO4', 'WARN', 'WARN2', 'WARN3', 'WARN4',
  'ERROR', 'ERROR2', 'ERROR3', 'ERROR4', 'FATAL', 'FATAL2', 'FATAL3', 'FATAL4',
];
/** SeverityNumber enum value names (logs.proto) → numbers. */
const SEVERITY_BY_NAME = new Map<string, number>(SEVERITY_NAMES.map((n, i) => [`SEVERITY_NUMBER_${n}`, i]));

const U32_MAX = 2n ** 32n - 1n;
const U64_MAX = 2n ** 64n - 1n;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const I32_MIN = -(2n ** 31n);
const I32_MAX = 2n ** 31n - 1n;

/** The member `camel` (lowerCamelCase) or `snake` (the proto name); null and absent are both undefined. */
function get(o: JsonObject, camel: string, snake = camel): JsonValue | undefined {
  let v = o.get(camel);
  if (v === undefined && snake !== camel) v = o.get(snake);
  return v === null ? undefined : v;
}

/** A repeated field of the envelope: an array, or nothing. */
function envelopeArray(o: JsonObject, camel: string, snake: string, where: string): JsonValue[] {
  const v = get(o, camel, snake);
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new IngestDecodeError('invalid_request', `${where}.${camel} must be an array, not ${kindOf(v)}`);
  return v;
}

function envelopeObject(v: JsonValue, where: string): JsonObject {
  if (!isObject(v)) throw new IngestDecodeError('invalid_request', `${where} must be an object, not ${kindOf(v)}`);
  return v;
}

/** The JSON tree of a request → the request model. */
export function modelFromJson(root: JsonValue): ResourceLogs[] {
  const req = envelopeObject(root, 'the OTLP/JSON body');
  return envelopeArray(req, 'resourceLogs', 'resource_logs', 'the body').map((rlv, ri) => {
    const rl = envelopeObject(rlv, `resourceLogs[${ri}]`);
    const scopeLogs = envelopeArray(rl, 'scopeLogs', 'scope_logs', `resourceLogs[${ri}]`).map((slv, si): ScopeLogs => {
      const where = `resourceLogs[${ri}].scopeLogs[${si}]`;
      const sl = envelopeObject(slv, where);
      return {
        scope: catching('invalid_scope', () => scope(sl)),
        records: envelopeArray(sl, 'logRecords', 'log_records', where).map((r) => catching('invalid_record', () => record(r))),
      };
    });
    const hasResource = get(rl, 'resource') !== undefined || get(rl, 'schemaUrl', 'schema_url') !== undefined;
    return { resource: hasResource ? catching('invalid_resource', () => resource(rl)) : EMPTY_RESOURCE, scopeLogs };
  });
}

/** Wrong types (Bad) become an ItemReject with `reason`; too_deep keeps its own. */
class Bad extends Error {}

function catching<T>(reason: ItemReason, f: () => T): T | ItemReject {
  try {
    return f();
  } catch (err) {
    if (err instanceof Bad) return new ItemReject(reason, err.message);
    if (err instanceof ItemReject) return err;
    throw err;
  }
}

function obj(v: JsonValue | undefined, what: string): JsonObject | null {
  if (v === undefined) return null;
  if (!isObject(v)) throw new Bad(`${what} must be an object, not ${kindOf(v)}`);
  return v;
}

function resource(rl: JsonObject): Resource {
  const r = obj(get(rl, 'resource'), 'resource');
  return {
    attributes: r === null ? [] : attributes(r),
    droppedAttributesCount: r === null ? 0 : u32(get(r, 'droppedAttributesCount', 'dropped_attributes_count'), 'droppedAttributesCount'),
    schemaUrl: text(get(rl, 'schemaUrl', 'schema_url'), 'schemaUrl'),
  };
}

function scope(sl: JsonObject): Scope {
  const s = obj(get(sl, 'scope'), 'scope');
  return {
    name: s === null ? '' : text(get(s, 'name'), 'scope.name'),
    version: s === null ? '' : text(get(s, 'version'), 'scope.version'),
    attributes: s === null ? [] : attributes(s),
    droppedAttributesCount: s === null ? 0 : u32(get(s, 'droppedAttributesCount', 'dropped_attributes_count'), 'scope.droppedAttributesCount'),
    schemaUrl: text(get(sl, 'schemaUrl', 'schema_url'), 'schemaUrl'),
  };
}

function record(v: JsonValue): LogRecord {
  const r = obj(v, 'a log record') ?? new Map<string, JsonValue>();
  const body = get(r, 'body');
  return {
    timeUnixNano: int(get(r, 'timeUnixNano', 'time_unix_nano'), 0n, U64_MAX, 'timeUnixNano'),
    observedTimeUnixNano: int(get(r, 'observedTimeUnixNano', 'observed_time_unix_nano'), 0n, U64_MAX, 'observedTimeUnixNano'),
    severityNumber: severityNumber(get(r, 'severityNumber', 'severity_number')),
    severityText: text(get(r, 'severityText', 'severity_text'), 'severityText'),
    body: body === undefined ? null : anyValue(body, 1),
    attributes: attributes(r),
    droppedAttributesCount: u32(get(r, 'droppedAttributesCount', 'dropped_attributes_count'), 'droppedAttributesCount'),
    flags: u32(get(r, 'flags'), 'flags'),
    traceId: id(get(r, 'traceId', 'trace_id'), 'traceId'),
    spanId: id(get(r, 'spanId', 'span_id'), 'spanId'),
    eventName: text(get(r, 'eventName', 'event_name'), 'eventName'),
  };
}

function text(v: JsonValue | undefined, what: string): string {
  if (v === undefined) return '';
  if (typeof v !== 'string') throw new Bad(`${what} must be a string, not ${kindOf(v)}`);
  return v;
}

/** An integer field: a JSON number or a decimal string, within [min, max]. */
function int(v: JsonValue | undefined, min: bigint, max: bigint, what: string): bigint {
  if (v === undefined) return 0n;
  const t = typeof v === 'string' ? v : v instanceof JsonNumber ? v.text : null;
  if (t === null) throw new Bad(`${what} must be an integer, not ${kindOf(v)}`);
  let n: bigint;
  if (/^-?[0-9]{1,20}$/.test(t)) {
    n = BigInt(t);
  } else {
    // 1e3, 5.0: proto3 JSON takes exponent notation for an integral value.
    const d = /^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(t) ? Number(t) : NaN;
    if (!Number.isSafeInteger(d)) throw new Bad(`${what} must be an integer, not ${JSON.stringify(t.slice(0, 40))}`);
    n = BigInt(d);
  }
  if (n < min || n > max) throw new Bad(`${what} ${t} is out of range`);
  return n;
}

function u32(v: JsonValue | undefined, what: string): number {
  return Number(int(v, 0n, U32_MAX, what));
}

/** SeverityNumber: a number or the enum value's name. */
function severityNumber(v: JsonValue | undefined): number {
  if (typeof v === 'string' && !/^-?[0-9]/.test(v)) {
    const n = SEVERITY_BY_NAME.get(v);
    if (n === undefined) throw new Bad(`severityNumber ${JSON.stringify(v.slice(0, 40))} is not a SeverityNumber`);
    return n;
  }
  return Number(int(v, I32_MIN, I32_MAX, 'severityNumber'));
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/;

/**
 * traceId / spanId: hex per the OTLP specification. Some exporters use the plain
 * proto3 mapping (base64) instead: a value that is not hex but is base64 is read so.
 */
function id(v: JsonValue | undefined, what: string): Uint8Array {
  if (v === undefined) return new Uint8Array(0);
  if (typeof v !== 'string') throw new Bad(`${what} must be a hex string, not ${kindOf(v)}`);
  if (HEX_RE.test(v)) return Buffer.from(v, 'hex');
  if (BASE64_RE.test(v)) return Buffer.from(v, 'base64');
  throw new Bad(`${what} is not hex`);
}

function bytes(v: JsonValue, what: string): Uint8Array {
  if (typeof v !== 'string' || !BASE64_RE.test(v)) throw new Bad(`${what} must be base64 text`);
  return Buffer.from(v, 'base64');
}

function double(v: JsonValue, what: string): number {
  if (v instanceof JsonNumber) return Number(v.text);
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    if (/^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(v)) return Number(v);
  }
  throw new Bad(`${what} must be a number`);
}

function attributes(o: JsonObject): KeyValue[] {
  const a = get(o, 'attributes');
  if (a === undefined) return [];
  if (!Array.isArray(a)) throw new Bad(`attributes must be an array, not ${kindOf(a)}`);
  return a.map((kv) => keyValue(kv, 1));
}

function keyValue(v: JsonValue, level: number): KeyValue {
  if (!isObject(v)) throw new Bad(`a KeyValue must be an object, not ${kindOf(v)}`);
  const value = get(v, 'value');
  return [text(get(v, 'key'), 'key'), value === undefined ? null : anyValue(value, level)];
}

const ANY_MEMBERS: readonly (readonly [string, string])[] = [
  ['stringValue', 'string_value'], ['boolValue', 'bool_value'], ['intValue', 'int_value'], ['doubleValue', 'double_value'],
  ['arrayValue', 'array_value'], ['kvlistValue', 'kvlist_value'], ['bytesValue', 'bytes_value'],
];

/** An AnyValue at `level` (1 for a body or attribute value): `{}` is the empty value (null). */
function anyValue(v: JsonValue, level: number): AnyValue {
  if (!isObject(v)) throw new Bad(`an AnyValue must be an object, not ${kindOf(v)}`);
  let which = -1;
  let x: JsonValue | undefined;
  for (let i = 0; i < ANY_MEMBERS.length; i++) {
    const m = get(v, ANY_MEMBERS[i]![0], ANY_MEMBERS[i]![1]);
    if (m === undefined) continue;
    if (which >= 0) throw new Bad('an AnyValue holds more than one value');
    which = i;
    x = m;
  }
  if (x === undefined) return null;
  switch (which) {
    case 0:
      return text(x, 'stringValue');
    case 1:
      if (typeof x !== 'boolean') throw new Bad(`boolValue must be true or false, not ${kindOf(x)}`);
      return x;
    case 2:
      return int(x, I64_MIN, I64_MAX, 'intValue');
    case 3:
      return double(x, 'doubleValue');
    case 4:
    case 5: {
      const list = obj(x, ANY_MEMBERS[which]![0])!;
      const values = get(list, 'values');
      if (values !== undefined && !Array.isArray(values)) throw new Bad(`${ANY_MEMBERS[which]![0]}.values must be an array`);
      const items = values ?? [];
      if (items.length > 0 && level >= MAX_ANY_DEPTH) throw new ItemReject('too_deep', `an AnyValue nests deeper than ${MAX_ANY_DEPTH} levels`);
      return which === 4 ? items.map((e) => anyValue(e, level + 1)) : new KvList(items.map((e) => keyValue(e, level + 1)));
    }
    default:
      return bytes(x, 'bytesValue');
  }
}
