/**
 * Splunk HTTP Event Collector → JSON lines, and HEC's responses
 * (docs/ingest-compat.md, "Splunk HEC").
 *
 *  - `/services/collector/event` (and `/services/collector`): one or more JSON event
 *    objects one after the other, with or without whitespace or line ends between
 *    them: `{"time":…,"host":…,"source":…,"sourcetype":…,"index":…,"event":…,"fields":{…}}`.
 *  - `/services/collector/raw`: text, one event per line; the query parameters
 *    `host`, `source`, `sourcetype`, `index` apply to every line.
 *
 * An event that cannot be used is rejected with the HEC code Splunk gives it (its
 * `reason` is the code's name in HEC_STATUS); the others are stored. When the body
 * stops being JSON, the events after that point cannot be delimited: the one at the
 * error is rejected and the rest of the body is dropped (it was never readable).
 */
import { IngestDecodeError, type DecodedBody } from './types.js';
import {
  KeyNames, RawLine, isNull, lastMember, memberTime, rfc3339Of, scanObject, usableText, wouldBeGelf,
  type Member,
} from './json-members.js';
import { skipWs } from '../formats/json-scanner.js';
import { skipBom } from '../utf8-bom.js';

/** HEC status codes and their HTTP statuses (Splunk's "Troubleshoot HTTP Event Collector" table). */
export const HEC_STATUS = {
  success: { code: 0, http: 200, text: 'Success' },
  token_required: { code: 2, http: 401, text: 'Token is required' },
  invalid_authorization: { code: 3, http: 401, text: 'Invalid authorization' },
  invalid_token: { code: 4, http: 403, text: 'Invalid token' },
  no_data: { code: 5, http: 400, text: 'No data' },
  invalid_data_format: { code: 6, http: 400, text: 'Invalid data format' },
  incorrect_index: { code: 7, http: 400, text: 'Incorrect index' },
  internal_error: { code: 8, http: 500, text: 'Internal server error' },
  server_busy: { code: 9, http: 503, text: 'Server is busy' },
  event_required: { code: 12, http: 400, text: 'Event field is required' },
  event_blank: { code: 13, http: 400, text: 'Event field cannot be blank' },
  ack_disabled: { code: 14, http: 400, text: 'ACK is disabled' },
  invalid_fields: { code: 15, http: 400, text: 'Error in handling indexed fields' },
  healthy: { code: 17, http: 200, text: 'HEC is healthy' },
  unhealthy: { code: 18, http: 503, text: 'HEC is unhealthy, queues are full' },
} as const;
export type HecStatusName = keyof typeof HEC_STATUS;

/** Reasons in DecodedBody.rejected: the HEC_STATUS names of per-event errors, and too_large. */
export type HecItemReason = 'invalid_data_format' | 'event_required' | 'event_blank' | 'invalid_fields' | 'too_large';

export interface HecOptions {
  /** Largest event (one JSON object, or one raw line) in bytes; default 64 KiB, as limits.maxFrame. */
  maxItem?: number;
}

const DEFAULT_MAX_ITEM = 64 * 1024;

/** Envelope keys HEC defines; other top-level keys of an event object are kept as fields. */
const ENVELOPE: ReadonlySet<string> = new Set(['time', 'host', 'source', 'sourcetype', 'index', 'event', 'fields']);

/** Metadata that query parameters give to every event (raw: to every line). */
const META: readonly string[] = ['host', 'source', 'sourcetype', 'index'];

function metaFromQuery(query: URLSearchParams): Map<string, string> {
  const out = new Map<string, string>();
  for (const k of META) {
    const v = query.get(k);
    if (v !== null && v !== '') out.set(k, v);
  }
  return out;
}

/** `/services/collector/event`: the events of the body. */
export function decodeHecEvents(body: Buffer, query: URLSearchParams, opts: HecOptions = {}): DecodedBody {
  const maxItem = opts.maxItem ?? DEFAULT_MAX_ITEM;
  const defaults = metaFromQuery(query);
  const lines: Buffer[] = [];
  const rejected: { index: number; reason: string }[] = [];
  const e = body.length;
  let p = skipBom(body, 0, e);
  for (let index = 0; ; index++) {
    p = skipWs(body, p, e);
    if (p >= e) break;
    const r = scanObject(body, p, e);
    if (r === null) {
      rejected.push({ index, reason: 'invalid_data_format' });
      break;
    }
    const start = p;
    p = r.end;
    if (r.end - start > maxItem) {
      rejected.push({ index, reason: 'too_large' });
      continue;
    }
    const out = hecEventLine(body, r.members, defaults);
    if (typeof out === 'string') rejected.push({ index, reason: out });
    else lines.push(out);
  }
  return { lines, rejected };
}

/** One event object → its JSON line, or the reason it is rejected. */
function hecEventLine(body: Buffer, members: Member[], defaults: Map<string, string>): Buffer | HecItemReason {
  const event = lastMember(members, 'event');
  if (event === undefined || isNull(body, event)) return 'event_required';
  if (event.kind === 'string' && event.ve - event.vs === 2) return 'event_blank';
  if (event.kind === 'object' && event.empty) return 'event_blank';
  const fields = lastMember(members, 'fields');
  if (fields !== undefined && fields.kind !== 'object') return 'invalid_fields';
  const timeM = lastMember(members, 'time');
  const time = memberTime(body, timeM);
  if (timeM !== undefined && time === null && !isNull(body, timeM)) return 'invalid_data_format';

  const eventMembers = event.kind === 'object' ? scanObject(body, event.vs, event.ve)?.members ?? [] : [];
  const fieldMembers = fields === undefined ? [] : scanObject(body, fields.vs, fields.ve)?.members ?? [];
  // Kept as fields under their own names: members HEC does not define, and envelope
  // metadata that is not text (`"host":{…}`), which cannot be the host but is data.
  const extra = members.filter((m) => !ENVELOPE.has(m.key)
    || (META.includes(m.key) && m === lastMember(members, m.key) && !usableText(m) && !isNull(body, m)));
  const docKeys = new Set<string>();
  for (const m of eventMembers) docKeys.add(m.key);
  for (const m of fieldMembers) docKeys.add(m.key);
  for (const m of extra) docKeys.add(m.key);
  const names = new KeyNames(docKeys);
  const out = new RawLine();

  if (time !== null) out.text(names.claim('time'), time);
  for (const k of META) {
    const m = lastMember(members, k);
    if (usableText(m)) out.raw(names.claim(k), body, m!.vs, m!.ve);
    else if (defaults.has(k)) out.text(names.claim(k), defaults.get(k)!);
  }
  if (event.kind !== 'object') {
    // A string is the message; any other value (a number, an array) is, as its JSON text.
    out.raw(names.claim('message'), body, event.vs, event.ve);
  } else if (!hasMessage(eventMembers)) {
    out.text(names.claim('message'), body.toString('utf8', event.vs, event.ve));
  }
  // Indexed fields: after the envelope, before the event's own members, which they outrank.
  for (const m of fieldMembers) out.raw(names.claim(names.docKey(m.key)), body, m.vs, m.ve);
  if (wouldBeGelf(new Set(eventMembers.map((m) => m.key)))) names.claim('version');
  for (const m of eventMembers) out.raw(names.docKey(m.key), body, m.vs, m.ve);
  for (const m of extra) out.raw(names.docKey(m.key), body, m.vs, m.ve);
  return out.done();
}

/** Whether an event object carries a message the JSON-lines parser takes (`msg`, `message`, a `log` text). */
function hasMessage(members: Member[]): boolean {
  for (const m of members) {
    if (m.key === 'msg' || m.key === 'message') return true;
    if (m.key === 'log' && (m.kind === 'string' || m.kind === 'number')) return true;
  }
  return false;
}

/** `/services/collector/raw`: one event per line (CR LF or LF; blank lines are skipped). */
export function decodeHecRaw(body: Buffer, query: URLSearchParams, opts: HecOptions = {}): DecodedBody {
  const maxItem = opts.maxItem ?? DEFAULT_MAX_ITEM;
  const defaults = metaFromQuery(query);
  // `?time=`: the time of every event of the request (epoch seconds, as an event's `time`).
  const timeParam = query.get('time');
  const time = timeParam === null || timeParam === '' ? null : rfc3339Of(timeParam);
  if (timeParam !== null && timeParam !== '' && time === null) throw new IngestDecodeError('invalid_data_format', `the time parameter ${JSON.stringify(timeParam.slice(0, 40))} is not a time (epoch seconds, or RFC 3339)`);
  const lines: Buffer[] = [];
  const rejected: { index: number; reason: string }[] = [];
  const e = body.length;
  let p = skipBom(body, 0, e);
  let index = 0;
  while (p < e) {
    let nl = body.indexOf(0x0a, p);
    if (nl < 0) nl = e;
    let le = nl;
    if (le > p && body[le - 1] === 0x0d) le--;
    const s = p;
    p = nl + 1;
    if (blank(body, s, le)) continue;
    if (le - s > maxItem) {
      rejected.push({ index: index++, reason: 'too_large' });
      continue;
    }
    const out = new RawLine();
    if (time !== null) out.text('time', time);
    for (const k of META) if (defaults.has(k)) out.text(k, defaults.get(k)!);
    out.text('message', body.toString('utf8', s, le));
    lines.push(out.done());
    index++;
  }
  return { lines, rejected };
}

function blank(buf: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (buf[i] !== 0x20 && buf[i] !== 0x09) return false;
  return true;
}

/**
 * A HEC response: `{"text":…,"code":N}` with the status's HTTP status, plus
 * `invalid-event-number` (0-based) for an event's error and `ackId` when given.
 */
export function hecResponse(status: HecStatusName, extra: { invalidEvent?: number; ackId?: number } = {}): { status: number; body: Buffer } {
  const s = HEC_STATUS[status];
  const out: Record<string, unknown> = { text: s.text, code: s.code };
  if (extra.invalidEvent !== undefined) out['invalid-event-number'] = extra.invalidEvent;
  if (extra.ackId !== undefined) out['ackId'] = extra.ackId;
  return { status: s.http, body: Buffer.from(JSON.stringify(out), 'utf8') };
}

/**
 * The response to a decoded request once its lines are stored: Success; No data for
 * a body without events; else the first rejected event's code and number (the
 * others were stored: Splunk's clients read the code and do not retry a 400).
 */
export function hecResponseFor(decoded: DecodedBody): { status: number; body: Buffer } {
  const first = decoded.rejected[0];
  if (first !== undefined) {
    const name = first.reason === 'too_large' ? 'invalid_data_format' : first.reason;
    return hecResponse(name in HEC_STATUS ? (name as HecStatusName) : 'invalid_data_format', { invalidEvent: first.index });
  }
  if (decoded.lines.length === 0) return hecResponse('no_data');
  return hecResponse('success');
}

/** `GET /services/collector/health`: 200 code 17, or 503 code 18 when ringlog is over its watermark. */
export function hecHealthResponse(healthy: boolean): { status: number; body: Buffer } {
  return hecResponse(healthy ? 'healthy' : 'unhealthy');
}

/**
 * `POST /services/collector/ack` (`{"acks":[0,1]}`): ringlog answers an event request
 * only once its records are durable, so every ack a client asks about is true. The
 * event responses carry no ackId, so well-behaved clients never ask; this answers
 * those that do. A body that is not `{"acks":[numbers]}` answers Invalid data format.
 */
export function hecAckResponse(body: Buffer): { status: number; body: Buffer } {
  let ids: unknown;
  try {
    if (body.length > 1024 * 1024) throw new Error('too large');
    ids = (JSON.parse(body.toString('utf8')) as { acks?: unknown }).acks;
  } catch {
    return hecResponse('invalid_data_format');
  }
  if (!Array.isArray(ids) || !ids.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) return hecResponse('invalid_data_format');
  const acks: Record<string, boolean> = {};
  for (const id of ids as number[]) acks[String(id)] = true;
  return { status: 200, body: Buffer.from(JSON.stringify({ acks }), 'utf8') };
}
