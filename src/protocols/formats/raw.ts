/**
 * Raw text: the frame is the message (trailing CR/LF/NUL trimmed). Used for frames
 * that are neither syslog, JSON nor logfmt, and for listeners set to `format: raw`.
 * Raw text is a format, not an error: no parse_error unless the frame is empty.
 */
import { ENC_UTF8, MESSAGE, type RecordWriter } from '../../record/record-batch.js';

export function trimEnd(buf: Buffer, start: number, end: number): number {
  while (end > start) {
    const c = buf[end - 1]!;
    if (c !== 0x0a && c !== 0x0d && c !== 0x00) break;
    end--;
  }
  return end;
}

/** True when buf[start, end) holds only spaces, tabs, CR, LF and NUL. */
export function isBlank(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x00) return false;
  }
  return true;
}

export function parseRaw(w: RecordWriter, i: number, start: number, end: number): void {
  if (isBlank(w.buf, start, end)) {
    w.fail(i, start, end, 'empty');
    return;
  }
  w.set(i, MESSAGE, start, trimEnd(w.buf, start, end), ENC_UTF8);
}
