/**
 * Renders a record back into RFC 5424 text, for forwarding to syslog receivers and for
 * the round-trip tests of the parsers (parse → render → parse gives the same record).
 *
 *   <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD-ID PARAM="VALUE" …]… MSG
 *
 * Fields named `sdid.param` become params of the element `sdid` (split at the first
 * dot); a field without a dot and with an empty value becomes an element without
 * params; any other field goes to the element `ringlog@32473` (RFC 5424 SD-IDs with
 * `@` are private; 32473 is the RFC's example enterprise number). Names are cut to
 * 32 bytes and characters RFC 5424 forbids in them become `_`; header values become
 * printable ASCII without spaces (others `_`), at most 255 bytes; values in SD escape
 * `"`, `\` and `]`. The timestamp keeps all 9 fraction digits (RFC 5424 allows 6;
 * ringlog's parser reads 9, and the record's precision is the nanosecond).
 */
import type { LogRecord } from './record.js';
import { formatTimestamp } from './time.js';

const OWN_SDID = 'ringlog@32473';

function headerValue(v: string | null, max: number): string {
  if (v === null || v === '') return '-';
  let out = '';
  for (const ch of v) {
    const c = ch.codePointAt(0)!;
    out += c >= 33 && c <= 126 ? ch : '_';
    if (out.length >= max) break;
  }
  return out === '-' ? '_' : out;
}

function sdName(v: string): string {
  let out = '';
  for (const ch of v) {
    const c = ch.codePointAt(0)!;
    out += c >= 33 && c <= 126 && ch !== '=' && ch !== ']' && ch !== '"' ? ch : '_';
    if (out.length >= 32) break;
  }
  return out === '' ? '_' : out;
}

function sdValue(v: string): string {
  return v.replace(/["\\\]]/g, '\\$&');
}

export function renderRfc5424(r: LogRecord): string {
  const pri = (r.facility & 31) * 8 + (r.severity & 7);
  const ms = Number(r.timestamp / 1_000_000n);
  const ns = Number(r.timestamp % 1_000_000n);
  const ts = formatTimestamp(ms, ns);
  const elements = new Map<string, string[]>();
  const add = (id: string, param: string | null) => {
    const list = elements.get(id) ?? [];
    if (param !== null) list.push(param);
    elements.set(id, list);
  };
  for (const [k, v] of Object.entries(r.fields)) {
    const dot = k.indexOf('.');
    if (dot > 0 && dot < k.length - 1) add(sdName(k.slice(0, dot)), `${sdName(k.slice(dot + 1))}="${sdValue(v)}"`);
    else if (v === '' && k !== '') add(sdName(k), null);
    else add(OWN_SDID, `${sdName(k)}="${sdValue(v)}"`);
  }
  let sd = '';
  for (const [id, params] of elements) sd += `[${[id, ...params].join(' ')}]`;
  return `<${pri}>1 ${ts} ${headerValue(r.host, 255)} ${headerValue(r.app, 255)} ${headerValue(r.procid, 255)} ${headerValue(r.msgid, 255)} ${sd || '-'}${r.message === '' ? '' : ` ${r.message}`}`;
}
