/**
 * Syslog of either kind, decided per frame: after a valid `<PRI>`, a VERSION (1–3
 * digits) followed by SP means RFC 5424 (`<134>1 2026-…`); anything else, including
 * a frame without PRI, is BSD syslog (rfc3164.ts). Cisco's `<189>123: …` and ISO
 * dates `<13>2026-11-22T…` are BSD: their digits are not followed by SP.
 */
import type { FrameParser } from './format.js';
import { rfc3164AfterPri, syslogPri } from './rfc3164.js';
import { rfc5424AfterPri } from './rfc5424.js';
import { SP, trimEnd } from './syslog-common.js';

export const parseSyslog: FrameParser = (w, i, start, end) => {
  const buf = w.buf;
  end = trimEnd(buf, start, end);
  const p = syslogPri(w, i, start, end);
  if (p < 0) return;
  let q = p;
  while (q < end && q - p < 3) {
    const c = buf[q]!;
    if (c < 0x30 || c > 0x39) break;
    q++;
  }
  if (q > p && q < end && buf[q] === SP) rfc5424AfterPri(w, i, start, end, p);
  else rfc3164AfterPri(w, i, end, p);
};
