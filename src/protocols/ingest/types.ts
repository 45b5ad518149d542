/**
 * What the shippers' HTTP decoders (loki.ts, otlp.ts) give the ingest routes, their
 * error reasons and their limits (docs/ingest.md).
 *
 * A decoder turns one request body (already decoded from its Content-Encoding) into
 * JSON lines that ringlog's JSON-lines parser maps onto the record
 * (src/protocols/formats/json.ts): the route feeds `lines` to the `json` format as
 * frames. A body that cannot be used at all throws IngestDecodeError (the route
 * answers 400 with its reason); an item that cannot be used is left out and listed
 * in `rejected` (a partial success).
 */
import { LEVEL_NAMES, SEVERITY_NAMES } from '../../record/severity.js';

export interface DecodedBody {
  /** One JSON object per accepted item, without a line end. */
  lines: Buffer[];
  /**
   * Items left out, with why. `index` counts the items of the request in order
   * (Loki: entries across streams; OTLP: log records across resources and scopes),
   * from 0, rejected ones included: lines.length + rejected.length = items sent.
   */
  rejected: { index: number; reason: string }[];
}

/** Why a whole body is unusable: IngestDecodeError.reason (the route answers 400, or 413 for too_large). */
export const BODY_REASONS = [
  'unsupported_content_type', // neither JSON nor protobuf (the route may answer 415)
  'bad_snappy',               // Loki protobuf: not a valid snappy block
  'too_large',                // the decompressed body would exceed maxDecompressed
  'bad_protobuf',             // not a well-formed message of the endpoint's type
  'bad_json',                 // not one well-formed JSON value (RFC 8259), or nested over MAX_JSON_NESTING
  'invalid_request',          // well-formed, but not a push/export request (e.g. `streams` is not an array)
  'internal_error',           // a bug in a decoder (never expected; please report it)
] as const;
export type BodyReason = (typeof BODY_REASONS)[number];

/** Why one item was left out: DecodedBody.rejected[].reason. */
export const ITEM_REASONS = [
  'invalid_entry',     // Loki: an entry is not [timestamp, line] or [timestamp, line, metadata]
  'invalid_timestamp', // Loki: the timestamp is not an integer in range
  'invalid_labels',    // Loki: the stream's label set does not parse (every entry of the stream)
  'invalid_metadata',  // Loki: structured metadata is not name → text
  'invalid_record',    // OTLP: a field of the log record has the wrong type or value
  'invalid_resource',  // OTLP: the resource is malformed (every record under it)
  'invalid_scope',     // OTLP: the scope is malformed (every record under it)
  'too_deep',          // OTLP: an AnyValue nested deeper than MAX_ANY_DEPTH
] as const;
export type ItemReason = (typeof ITEM_REASONS)[number];

/**
 * The whole body is unusable: the route answers 400 (413 for too_large) with `reason`,
 * one of BODY_REASONS for the Loki and OTLP decoders (a string, so that every decoder
 * of this folder can say its own).
 */
export class IngestDecodeError extends Error {
  constructor(readonly reason: BodyReason | (string & {}), message: string) {
    super(message);
    this.name = 'IngestDecodeError';
  }
}

/** An item is unusable: caught by the decoder and listed in `rejected`. Never escapes a decoder. */
export class ItemReject extends Error {
  constructor(readonly reason: ItemReason, message: string = reason) {
    super(message);
    this.name = 'ItemReject';
  }
}

export interface DecodeLimits {
  /**
   * Largest decompressed body (bytes). Snappy states the decompressed length up
   * front: a few bytes could ask for 4 GiB. Loki's own gRPC default is 100 MB;
   * 64 MiB lets a 16 MiB body compressed 4:1 through while a hostile one cannot make
   * the server allocate more.
   */
  maxDecompressed: number;
}

export const DEFAULT_LIMITS: DecodeLimits = { maxDecompressed: 64 * 1024 * 1024 };

/**
 * AnyValue levels (OTLP): a body or attribute value is level 1, a value inside an
 * array or key-value list at level n is at level n + 1. Real data nests a few levels;
 * 32 bounds the work per record and keeps the decoded message within protobufjs's
 * recursion limit (100 messages).
 */
export const MAX_ANY_DEPTH = 32;

/** Containers open at once in a JSON body, as for JSON lines (json-scanner.ts MAX_NESTING). */
export const MAX_JSON_NESTING = 512;

/** The media type of a Content-Type header: lower case, without parameters (`; charset=…`). */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/**
 * A level name as written by a sender (`INFO`, `Warning`, `WARN2`, `detected_level`
 * values…) → the ringlog severity name the JSON-lines parser reads back, or null when
 * ringlog knows no such level. Trailing digits are OTLP's sub-levels (`ERROR2`).
 */
export function levelFromName(text: string): string | null {
  if (text.length === 0 || text.length > 32) return null;
  const sev = LEVEL_NAMES.get(text.toLowerCase().replace(/[0-9]+$/, ''));
  return sev === undefined ? null : SEVERITY_NAMES[sev]!;
}
