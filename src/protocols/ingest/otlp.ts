/**
 * OTLP/HTTP logs (`POST /v1/logs`) → JSON lines, and the response a sender expects
 * (docs/ingest.md, "OTLP/HTTP logs"; the OTLP specification, "OTLP/HTTP").
 *
 * The body is an ExportLogsServiceRequest, in protobuf (`application/x-protobuf`,
 * otlp-schema.ts) or JSON (`application/json`, otlp-json.ts); both decode to one
 * model (otlp-model.ts), and every log record becomes one line.
 */
import { parseJsonTree } from './json-tree.js';
import { recordLine } from './otlp-model.js';
import { modelFromJson } from './otlp-json.js';
import { encodeResponse, modelFromProtobuf } from './otlp-schema.js';
import { IngestDecodeError, ItemReject, mediaType, type DecodedBody } from './types.js';

const JSON_TYPE = 'application/json';
const PROTOBUF_TYPE = 'application/x-protobuf';

/** Decodes an OTLP/HTTP logs body into JSON lines. Throws only IngestDecodeError. */
export function decodeOtlpLogs(body: Buffer, contentType: string): DecodedBody {
  const mt = mediaType(contentType);
  if (mt !== JSON_TYPE && mt !== PROTOBUF_TYPE) {
    throw new IngestDecodeError('unsupported_content_type', `Content-Type ${JSON.stringify(contentType)}: OTLP/HTTP takes application/x-protobuf or application/json`);
  }
  try {
    const model = mt === JSON_TYPE ? modelFromJson(parseJsonTree(body)) : modelFromProtobuf(body);
    const out: DecodedBody = { lines: [], rejected: [] };
    let index = 0;
    for (const { resource, scopeLogs } of model) {
      for (const { scope, records } of scopeLogs) {
        for (const r of records) {
          const i = index++;
          // The first of resource, scope and record that did not decode says why.
          if (resource instanceof ItemReject) out.rejected.push({ index: i, reason: resource.reason });
          else if (scope instanceof ItemReject) out.rejected.push({ index: i, reason: scope.reason });
          else if (r instanceof ItemReject) out.rejected.push({ index: i, reason: r.reason });
          else out.lines.push(recordLine(resource, scope, r));
        }
      }
    }
    return out;
  } catch (err) {
    if (err instanceof IngestDecodeError) throw err;
    throw new IngestDecodeError('internal_error', `OTLP logs decoder failed: ${(err as Error)?.message ?? String(err)}`);
  }
}

/**
 * The body of a successful answer (HTTP 200) in the request's encoding: an empty
 * ExportLogsServiceResponse (protobuf: no bytes; JSON: `{}`), or with partialSuccess
 * when records were rejected or there is a message for the sender (the OTLP
 * specification, "Partial Success"). JSON writes the int64 count as a decimal string.
 */
export function otlpResponse(contentType: string, rejected: number, message = ''): { contentType: string; body: Buffer } {
  const n = Number.isSafeInteger(rejected) && rejected > 0 ? rejected : 0;
  if (mediaType(contentType) === JSON_TYPE) {
    const body = n === 0 && message === ''
      ? '{}'
      : JSON.stringify({ partialSuccess: { rejectedLogRecords: String(n), errorMessage: message } });
    return { contentType: JSON_TYPE, body: Buffer.from(body, 'utf8') };
  }
  return { contentType: PROTOBUF_TYPE, body: encodeResponse(n, message) };
}
