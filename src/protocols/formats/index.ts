/**
 * Picks the parser for a listener's `format` and, for `auto`, per frame by its first
 * byte (docs/record.md, "Formats"):
 *
 *   `<`  syslog (RFC 5424 when a version follows the PRI, else RFC 3164)
 *   `{`  JSON (GELF when it has `version` and `short_message`)
 *   `key=value key=value …`  logfmt, when it clearly is (looksLikeLogfmt)
 *   anything else  raw text
 *
 * Leading spaces and tabs are skipped for the decision (some senders pad), not
 * removed from the frame.
 */
import type { RecordWriter } from '../../record/record-batch.js';
import type { FormatName, FrameParser } from './format.js';
import { parseSyslog } from './syslog.js';
import { parseRfc5424 } from './rfc5424.js';
import { parseRfc3164 } from './rfc3164.js';
import { parseGelf, parseJson } from './json.js';
import { looksLikeLogfmt, parseLogfmt } from './logfmt.js';
import { parseRaw } from './raw.js';

export { FORMATS, PARSE_ERROR_REASONS, type FormatName, type FrameParser } from './format.js';

export function parseAuto(w: RecordWriter, i: number, start: number, end: number): void {
  const buf = w.buf;
  let p = start;
  while (p < end && (buf[p] === 0x20 || buf[p] === 0x09)) p++;
  const c = p < end ? buf[p] : -1;
  if (c === 0x3c) parseSyslog(w, i, start, end);
  else if (c === 0x7b) parseJson(w, i, start, end);
  else if (looksLikeLogfmt(buf, p, end)) parseLogfmt(w, i, start, end);
  else parseRaw(w, i, start, end);
}

export function parserFor(format: FormatName): FrameParser {
  switch (format) {
    case 'auto': return parseAuto;
    case 'syslog': return parseSyslog;
    case 'rfc5424': return parseRfc5424;
    case 'rfc3164': return parseRfc3164;
    case 'json': return parseJson;
    case 'gelf': return parseGelf;
    case 'logfmt': return parseLogfmt;
    case 'raw': return parseRaw;
  }
}
