/**
 * BSD syslog (RFC 3164) as real senders emit it:
 *
 *   [<PRI>][SEQ: ][*|.]TIMESTAMP [HOSTNAME ][TAG[\[PID\]]:] MSG
 *
 *   <134>Nov 22 10:00:00 web-1 nginx[42]: GET /           rsyslog, syslog-ng, logger
 *   <30>Nov 22 10:00:00 systemd[1]: Started Session 5.     /dev/log, journald, BusyBox: no host
 *   <13>2026-11-22T10:00:00.123+01:00 web-1 app: hi        rsyslog ForwardFormat, syslog-ng ISO
 *   <189>123: *Mar  1 18:46:11.123 UTC: %SYS-5-CONFIG_I: … Cisco IOS: seq, marker, ms, zone, `:`
 *   <166>Nov 22 2026 10:00:00 asa-1 : %ASA-6-302013: …    year after the day
 *
 * TIMESTAMP is BSD (`Mmm dd hh:mm:ss`, see parseBsdTime) or RFC 3339; without a year
 * it is placed in the receive year ± 1 closest to the receive time, without an offset
 * in the server's local time zone (a yearless Feb 29 with no leap year among those three
 * counts as unreadable). The token after it is the host unless it looks
 * like a tag (ends with `:` or has a `[`). A Cisco `%FAC-SEV-MNEMONIC:` is message
 * text, never a host or a tag.
 *
 * Nothing here fails but a malformed `<PRI>` ('invalid_pri') and a blank frame
 * ('empty'): no PRI means user.notice (§4.3.3), and an unreadable timestamp keeps the
 * receive time with everything after the PRI as the message (§4.3.2).
 */
import { APP, ENC_UTF8, HOST, MESSAGE, PROCID, type RecordWriter } from '../../record/record-batch.js';
import type { FrameParser } from './format.js';
import {
  COLON, DOT, LBRACKET, LT, NO_PRI, PERCENT, RBRACKET, SP, STAR,
  isBlank, parseBsdTime, parsePri, parseRfc3339, priStart, trimEnd,
} from './syslog-common.js';

/** Longest hostname (RFC 1035 names are ≤ 255 bytes); a longer first token is message text. */
const MAX_HOST = 255;
/** Longest tag including `[pid]:` (RFC 3164 says 32 for the name; real ones are longer). */
const MAX_TAG = 128;
/** Longest Cisco sequence number. */
const MAX_SEQ = 10;

/**
 * The `<PRI>` of a syslog frame (`end` already trimmed), shared by parseRfc3164 and
 * parseSyslog: sets facility and severity and returns where the header after it
 * starts; or handles the whole frame and returns -1 — no PRI (a BSD line, user.notice),
 * a blank frame ('empty'), a malformed PRI ('invalid_pri').
 */
export function syslogPri(w: RecordWriter, i: number, start: number, end: number): number {
  const buf = w.buf;
  const s = buf[start] === LT ? start : priStart(buf, start, end);
  const pri = parsePri(buf, s, end);
  if (pri === NO_PRI) {
    if (isBlank(buf, start, end)) w.fail(i, start, end, 'empty');
    else rfc3164AfterPri(w, i, end, start);
    return -1;
  }
  if (pri < 0) {
    w.fail(i, start, end, 'invalid_pri');
    return -1;
  }
  w.facility[i] = (pri & 0xff) >> 3;
  w.severity[i] = pri & 7;
  return s + (pri >> 8);
}

export const parseRfc3164: FrameParser = (w, i, start, end) => {
  end = trimEnd(w.buf, start, end);
  const p = syslogPri(w, i, start, end);
  if (p >= 0) rfc3164AfterPri(w, i, end, p);
};

/**
 * The frame (end already trimmed) from `p0`, just after its PRI or at its start when it
 * has none. Facility and severity are set by the caller.
 */
export function rfc3164AfterPri(w: RecordWriter, i: number, end: number, p0: number): void {
  const buf = w.buf;
  let p = p0;
  let cisco = false;

  // Cisco IOS `service sequence-numbers`: `123: ` before the timestamp.
  let c = p < end ? buf[p]! : -1;
  if (c >= 0x30 && c <= 0x39) {
    let q = p + 1;
    while (q < end && q - p < MAX_SEQ && buf[q]! >= 0x30 && buf[q]! <= 0x39) q++;
    if (q + 1 < end && buf[q] === COLON && buf[q + 1] === SP) {
      p = q + 2;
      cisco = true;
    }
  }
  // Cisco: `*` clock not synchronised, `.` synchronisation lost.
  if (p < end && (buf[p] === STAR || buf[p] === DOT)) {
    p++;
    cisco = true;
  }

  c = p < end ? buf[p]! : -1;
  const q = c >= 0x30 && c <= 0x39 ? parseRfc3339(w, i, buf, p, end, true) : parseBsdTime(w, i, buf, p, end, cisco);
  if (q < 0) {
    if (p0 < end) w.set(i, MESSAGE, p0, end, ENC_UTF8);
    return;
  }
  p = q;
  while (p < end && buf[p] === SP) p++;
  if (p >= end) return;

  // First token: the host, unless it is a tag, Cisco message text, or the only word.
  let t = p;
  let bracket = -1;
  while (t < end) {
    const b = buf[t]!;
    if (b === SP) break;
    if (b === LBRACKET && bracket < 0) bracket = t;
    t++;
  }
  if (t < end && bracket < 0 && buf[t - 1] !== COLON && buf[p] !== PERCENT && t - p <= MAX_HOST) {
    w.set(i, HOST, p, t, ENC_UTF8);
    p = t + 1;
    if (p >= end) return;
    t = p;
    bracket = -1;
    while (t < end) {
      const b = buf[t]!;
      if (b === SP) break;
      if (b === LBRACKET && bracket < 0) bracket = t;
      t++;
    }
  }

  // Tag at [p, t): `app:`, `app[pid]:` or `app[pid]`.
  let msg = p;
  if (t - p >= 2 && t - p <= MAX_TAG && buf[p] !== PERCENT) {
    const body = buf[t - 1] === COLON ? t - 1 : t;
    if (bracket > p && body - 1 > bracket && buf[body - 1] === RBRACKET) {
      w.set(i, APP, p, bracket, ENC_UTF8);
      if (body - 1 > bracket + 1) w.set(i, PROCID, bracket + 1, body - 1, ENC_UTF8);
      msg = t;
    } else if (body < t && buf[p] !== LBRACKET) {
      w.set(i, APP, p, body, ENC_UTF8);
      msg = t;
    }
    if (msg === t && t < end) msg++; // the SP after the tag
  } else if (t - p === 1 && buf[p] === COLON) {
    msg = t < end ? t + 1 : t; // Cisco ASA: `host : %ASA-…`
  }
  if (msg < end) w.set(i, MESSAGE, msg, end, ENC_UTF8);
}
