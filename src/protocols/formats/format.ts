/**
 * Formats: frame → record. A parser reads one frame `w.buf[start, end)` and fills
 * record i of the RecordWriter (src/record/record-batch.ts), which arrives preset
 * to the defaults (receive time, user.notice, no text, no fields).
 *
 * Contract for every parser:
 *  - never throw, never allocate per record on the common path (no strings, no
 *    objects, no regexes; byte loops and typed-array writes);
 *  - text values are byte ranges of w.buf (w.set / w.field), with ENC_JSON / ENC_SD
 *    when the range holds escapes, ENC_UTF8 otherwise;
 *  - a frame that does not parse: w.fail(i, start, end, reason) and return, where
 *    reason is one of PARSE_ERROR_REASONS (it becomes the `parse_error` field and
 *    the `reason` label of ringlog_parse_errors_total);
 *  - trailing CR, LF and NUL bytes of the frame are not part of the message.
 */
import type { RecordWriter } from '../../record/record-batch.js';

export type FrameParser = (w: RecordWriter, i: number, start: number, end: number) => void;

/** Formats a listener can be set to; `auto` detects per frame. */
export const FORMATS = ['auto', 'syslog', 'rfc5424', 'rfc3164', 'json', 'logfmt', 'gelf', 'raw'] as const;
export type FormatName = (typeof FORMATS)[number];

/** Every parse_error reason, documented in docs/record.md. */
export const PARSE_ERROR_REASONS = [
  'empty',                    // nothing but whitespace / line ends
  'invalid_pri',              // `<` not followed by 1–3 digits ≤ 191 and `>`
  'invalid_version',          // RFC 5424: VERSION missing or not a number
  'invalid_header',           // RFC 5424: a header field missing, too long or not printable
  'invalid_timestamp',        // RFC 5424: TIMESTAMP neither NILVALUE nor RFC 3339
  'invalid_structured_data',  // RFC 5424: SD not well formed
  'invalid_json',             // JSON / GELF: not a complete, well-formed object
  'invalid_gelf',             // GELF: well-formed JSON but not a GELF message (no short_message…)
  'invalid_logfmt',           // forced logfmt: not key=value pairs
  'internal_error',           // a parser bug caught by the parsing loop; please report it
] as const;
export type ParseErrorReason = (typeof PARSE_ERROR_REASONS)[number];
