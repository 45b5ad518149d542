/**
 * OTLP logs in protobuf (application/x-protobuf): the messages of
 * opentelemetry-proto's collector/logs/v1/logs_service.proto, logs/v1/logs.proto,
 * common/v1/common.proto and resource/v1/resource.proto as protobufjs reflection,
 * written from their field tables (names are ours; numbers and types are the wire
 * format), and the decoded message → the request model (otlp-model.ts).
 *
 * AnyValue is recursive (an array or key-value list holds AnyValues). Here it is
 * unrolled into one type per level, AnyValue1 … AnyValue32: the containers of the
 * last level hold their elements as undecoded `bytes`. So protobufjs never recurses
 * deeper than the schema, whatever the body, and a value nested deeper than
 * MAX_ANY_DEPTH is found per record (rejected as too_deep) instead of failing the
 * request. The deepest path (request → resource logs → scope logs → record →
 * attribute → 32 levels of key-value lists) is 99 messages, within protobufjs's
 * recursion limit of 100.
 *
 * Fields left out, which a decoder skips as unknown: Resource.entity_refs
 * (development), the deprecated instrumentation_library_logs (1000) and the reserved
 * LogRecord field 4.
 */
import protobuf from 'protobufjs';
import {
  EMPTY_RESOURCE, KvList,
  type AnyValue, type KeyValue, type LogRecord, type Resource, type ResourceLogs, type Scope, type ScopeLogs,
} from './otlp-model.js';
import { int64, uint64, type PbLong } from './pb-int.js';
import { IngestDecodeError, ItemReject, MAX_ANY_DEPTH } from './types.js';

type Fields = Record<string, { type: string; id: number; rule?: 'repeated' }>;

/**
 * AnyValue and its containers, unrolled into `levels` levels; `recursive`: one level
 * that refers to itself, as the .proto has it (for tests, to encode any nesting).
 */
function anyValueLevels(levels: number, recursive: boolean): Record<string, { fields: Fields; oneofs?: Record<string, { oneof: string[] }> }> {
  const types: Record<string, { fields: Fields; oneofs?: Record<string, { oneof: string[] }> }> = {};
  for (let n = 1; n <= levels; n++) {
    const last = n === levels && !recursive;
    const next = recursive ? n : n + 1;
    types[`AnyValue${n}`] = {
      oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] } },
      fields: {
        stringValue: { type: 'string', id: 1 },
        boolValue: { type: 'bool', id: 2 },
        intValue: { type: 'int64', id: 3 },
        doubleValue: { type: 'double', id: 4 },
        arrayValue: { type: `ArrayValue${n}`, id: 5 },
        kvlistValue: { type: `KeyValueList${n}`, id: 6 },
        bytesValue: { type: 'bytes', id: 7 },
      },
    };
    // ArrayValue n / KeyValueList n hold the values of level n + 1.
    types[`ArrayValue${n}`] = { fields: { values: { rule: 'repeated', type: last ? 'bytes' : `AnyValue${next}`, id: 1 } } };
    types[`KeyValueList${n}`] = { fields: { values: { rule: 'repeated', type: last ? 'bytes' : `KeyValue${next}`, id: 1 } } };
    types[`KeyValue${n}`] = { fields: { key: { type: 'string', id: 1 }, value: { type: `AnyValue${n}`, id: 2 } } };
  }
  return types;
}

function otlpSchema(levels: number, recursive: boolean): protobuf.Root {
  return protobuf.Root.fromJSON({
    nested: {
      otlp: {
        nested: {
          ...anyValueLevels(levels, recursive),
          // collector/logs/v1/logs_service.proto
          ExportLogsServiceRequest: { fields: { resourceLogs: { rule: 'repeated', type: 'ResourceLogs', id: 1 } } },
          ExportLogsServiceResponse: { fields: { partialSuccess: { type: 'ExportLogsPartialSuccess', id: 1 } } },
          ExportLogsPartialSuccess: {
            fields: { rejectedLogRecords: { type: 'int64', id: 1 }, errorMessage: { type: 'string', id: 2 } },
          },
          // logs/v1/logs.proto
          ResourceLogs: {
            fields: {
              resource: { type: 'Resource', id: 1 },
              scopeLogs: { rule: 'repeated', type: 'ScopeLogs', id: 2 },
              schemaUrl: { type: 'string', id: 3 },
            },
          },
          ScopeLogs: {
            fields: {
              scope: { type: 'InstrumentationScope', id: 1 },
              logRecords: { rule: 'repeated', type: 'LogRecord', id: 2 },
              schemaUrl: { type: 'string', id: 3 },
            },
          },
          LogRecord: {
            fields: {
              timeUnixNano: { type: 'fixed64', id: 1 },
              // enum SeverityNumber: a varint like int32; unknown numbers are kept.
              severityNumber: { type: 'int32', id: 2 },
              severityText: { type: 'string', id: 3 },
              body: { type: 'AnyValue1', id: 5 },
              attributes: { rule: 'repeated', type: 'KeyValue1', id: 6 },
              droppedAttributesCount: { type: 'uint32', id: 7 },
              flags: { type: 'fixed32', id: 8 },
              traceId: { type: 'bytes', id: 9 },
              spanId: { type: 'bytes', id: 10 },
              observedTimeUnixNano: { type: 'fixed64', id: 11 },
              eventName: { type: 'string', id: 12 },
            },
          },
          // resource/v1/resource.proto
          Resource: {
            fields: {
              attributes: { rule: 'repeated', type: 'KeyValue1', id: 1 },
              droppedAttributesCount: { type: 'uint32', id: 2 },
            },
          },
          // common/v1/common.proto
          InstrumentationScope: {
            fields: {
              name: { type: 'string', id: 1 },
              version: { type: 'string', id: 2 },
              attributes: { rule: 'repeated', type: 'KeyValue1', id: 3 },
              droppedAttributesCount: { type: 'uint32', id: 4 },
            },
          },
        },
      },
    },
  });
}

const OTLP_SCHEMA = otlpSchema(MAX_ANY_DEPTH, false);

export const ExportLogsServiceRequest = OTLP_SCHEMA.lookupType('otlp.ExportLogsServiceRequest');
export const ExportLogsServiceResponse = OTLP_SCHEMA.lookupType('otlp.ExportLogsServiceResponse');
/** The request with a recursive AnyValue, as the .proto has it: for tests, to encode values nested at any depth. */
export const RecursiveExportLogsServiceRequest = otlpSchema(1, true).lookupType('otlp.ExportLogsServiceRequest');

// protobufjs's decoded shapes: fields absent from the wire read their defaults.
interface PbAny {
  stringValue?: string; boolValue?: boolean; intValue?: PbLong | number; doubleValue?: number;
  arrayValue?: { values: (PbAny | Uint8Array)[] }; kvlistValue?: { values: (PbKeyValue | Uint8Array)[] }; bytesValue?: Uint8Array;
}
interface PbKeyValue { key: string; value: PbAny | null }
interface PbRecord {
  timeUnixNano: PbLong | number; observedTimeUnixNano: PbLong | number; severityNumber: number; severityText: string;
  body: PbAny | null; attributes: PbKeyValue[]; droppedAttributesCount: number; flags: number;
  traceId: Uint8Array; spanId: Uint8Array; eventName: string;
}
interface PbScope { name: string; version: string; attributes: PbKeyValue[]; droppedAttributesCount: number }
interface PbRequest {
  resourceLogs: {
    resource: { attributes: PbKeyValue[]; droppedAttributesCount: number } | null;
    schemaUrl: string;
    scopeLogs: { scope: PbScope | null; schemaUrl: string; logRecords: PbRecord[] }[];
  }[];
}

/** A protobuf body → the request model. Throws IngestDecodeError('bad_protobuf'). */
export function modelFromProtobuf(buf: Buffer): ResourceLogs[] {
  let req: PbRequest;
  try {
    req = ExportLogsServiceRequest.decode(buf) as unknown as PbRequest;
  } catch (err) {
    throw new IngestDecodeError('bad_protobuf', `the body is not an ExportLogsServiceRequest: ${(err as Error)?.message ?? String(err)}`);
  }
  return req.resourceLogs.map((rl) => ({
    resource: rl.resource === null && rl.schemaUrl === ''
      ? EMPTY_RESOURCE
      : catching(() => ({
        attributes: attributes(rl.resource?.attributes ?? []),
        droppedAttributesCount: rl.resource?.droppedAttributesCount ?? 0,
        schemaUrl: rl.schemaUrl,
      }) satisfies Resource),
    scopeLogs: rl.scopeLogs.map((sl): ScopeLogs => ({
      scope: catching(() => ({
        name: sl.scope?.name ?? '',
        version: sl.scope?.version ?? '',
        attributes: attributes(sl.scope?.attributes ?? []),
        droppedAttributesCount: sl.scope?.droppedAttributesCount ?? 0,
        schemaUrl: sl.schemaUrl,
      }) satisfies Scope),
      records: sl.logRecords.map((r) => catching(() => record(r))),
    })),
  }));
}

function catching<T>(f: () => T): T | ItemReject {
  try {
    return f();
  } catch (err) {
    if (err instanceof ItemReject) return err;
    throw err;
  }
}

function record(r: PbRecord): LogRecord {
  return {
    timeUnixNano: uint64(r.timeUnixNano),
    observedTimeUnixNano: uint64(r.observedTimeUnixNano),
    severityNumber: r.severityNumber,
    severityText: r.severityText,
    body: r.body === null ? null : anyValue(r.body, 1),
    attributes: attributes(r.attributes),
    droppedAttributesCount: r.droppedAttributesCount,
    flags: r.flags >>> 0,
    traceId: r.traceId,
    spanId: r.spanId,
    eventName: r.eventName,
  };
}

function attributes(kvs: PbKeyValue[]): KeyValue[] {
  return kvs.map((kv) => keyValue(kv, 1));
}

function keyValue(kv: PbKeyValue | Uint8Array, level: number): KeyValue {
  if (kv instanceof Uint8Array) throw new ItemReject('too_deep', `an AnyValue nests deeper than ${MAX_ANY_DEPTH} levels`);
  return [kv.key, kv.value === null ? null : anyValue(kv.value, level)];
}

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** An AnyValue at `level`; the oneof member present on the wire (protobufjs keeps the last one set). */
function anyValue(v: PbAny | Uint8Array, level: number): AnyValue {
  if (v instanceof Uint8Array) throw new ItemReject('too_deep', `an AnyValue nests deeper than ${MAX_ANY_DEPTH} levels`);
  if (has(v, 'stringValue')) return v.stringValue!;
  if (has(v, 'boolValue')) return v.boolValue!;
  if (has(v, 'intValue')) return int64(v.intValue!);
  if (has(v, 'doubleValue')) return v.doubleValue!;
  if (has(v, 'arrayValue')) return v.arrayValue!.values.map((x) => anyValue(x, level + 1));
  if (has(v, 'kvlistValue')) return new KvList(v.kvlistValue!.values.map((x) => keyValue(x, level + 1)));
  if (has(v, 'bytesValue')) return v.bytesValue!;
  return null;
}

/** ExportLogsServiceResponse in protobuf: nothing for a full success (every field at its default). */
export function encodeResponse(rejected: number, message: string): Buffer {
  if (rejected === 0 && message === '') return Buffer.alloc(0);
  const m = ExportLogsServiceResponse.create({ partialSuccess: { rejectedLogRecords: rejected, errorMessage: message } });
  return Buffer.from(ExportLogsServiceResponse.encode(m).finish());
}
