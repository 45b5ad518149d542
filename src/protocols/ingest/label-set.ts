/**
 * A Prometheus label set in text form, as Loki's protobuf push carries a stream's
 * labels (StreamAdapter.labels): `{app="nginx", host="web-1"}`. Senders write it with
 * Prometheus's labels.String() (Go's strconv.Quote for values); Loki reads it as a
 * LogQL stream selector with `=` matchers only.
 *
 *   labels = ws "{" ws [ pair *( ws "," ws pair ) ws ] "}" ws
 *   pair   = name ws "=" ws value
 *   name   = [a-zA-Z_][a-zA-Z0-9_]*  |  a double-quoted string (Prometheus 3's UTF-8 names)
 *   value  = a double-quoted Go string literal  |  a `raw` string (LogQL)
 *
 * Go escapes in double quotes: \a \b \f \n \r \t \v \\ \" ; \xHH and \NNN (octal,
 * ≤ \377) are bytes; \uHHHH and \UHHHHHHHH are code points (no surrogates, ≤ U+10FFFF).
 * Bytes that do not form UTF-8 become U+FFFD. A raw line end inside double quotes,
 * an unknown escape, a duplicate name, a missing brace or anything after the closing
 * one: not a label set (null). One pass over the bytes, no recursion, no regex.
 */

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const BACKTICK = 0x60;

/** name → value pairs in the order written, or null when `text` is not a label set. */
export function parseLabelSet(text: string): [string, string][] | null {
  const b = Buffer.from(text, 'utf8');
  const e = b.length;
  const pairs: [string, string][] = [];
  const seen = new Set<string>();
  let p = ws(b, 0, e);
  if (p >= e || b[p] !== 0x7b) return null;
  p = ws(b, p + 1, e);
  if (p < e && b[p] === 0x7d) return ws(b, p + 1, e) === e ? pairs : null;
  for (;;) {
    let name: string;
    const c = b[p];
    if (c === QUOTE) {
      const r = quoted(b, p + 1, e);
      if (r === null || r.text.length === 0) return null;
      name = r.text;
      p = r.end;
    } else {
      const s = p;
      if (p >= e || !nameStart(b[p]!)) return null;
      p++;
      while (p < e && nameChar(b[p]!)) p++;
      name = b.toString('latin1', s, p);
    }
    p = ws(b, p, e);
    if (p >= e || b[p] !== 0x3d) return null;
    p = ws(b, p + 1, e);
    let value: string;
    if (p < e && b[p] === QUOTE) {
      const r = quoted(b, p + 1, e);
      if (r === null) return null;
      value = r.text;
      p = r.end;
    } else if (p < e && b[p] === BACKTICK) {
      const s = p + 1;
      p = s;
      while (p < e && b[p] !== BACKTICK) p++;
      if (p >= e) return null;
      value = b.toString('utf8', s, p);
      p++;
    } else {
      return null;
    }
    if (seen.has(name)) return null;
    seen.add(name);
    pairs.push([name, value]);
    p = ws(b, p, e);
    if (p < e && b[p] === 0x2c) {
      p = ws(b, p + 1, e);
    } else if (p < e && b[p] === 0x7d) {
      return ws(b, p + 1, e) === e ? pairs : null;
    } else {
      return null;
    }
  }
}

function ws(b: Buffer, p: number, e: number): number {
  while (p < e && (b[p] === 0x20 || b[p] === 0x09 || b[p] === 0x0a || b[p] === 0x0d)) p++;
  return p;
}

function nameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}

function nameChar(c: number): boolean {
  return nameStart(c) || (c >= 0x30 && c <= 0x39);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

const SIMPLE: Record<number, number> = {
  0x61: 0x07, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x76: 0x0b, 0x5c: 0x5c, 0x22: 0x22,
};

/** A Go double-quoted literal whose opening quote is at p - 1: its value and the position after the closing quote. */
function quoted(b: Buffer, p: number, e: number): { text: string; end: number } | null {
  // Bytes of the value: plain runs are copied as they are, escapes add bytes or UTF-8.
  const out: number[] = [];
  let runStart = p;
  let plain = true;
  for (;;) {
    if (p >= e) return null;
    const c = b[p]!;
    if (c === QUOTE) {
      if (plain) return { text: b.toString('utf8', runStart, p), end: p + 1 };
      for (let i = runStart; i < p; i++) out.push(b[i]!);
      return { text: Buffer.from(out).toString('utf8'), end: p + 1 };
    }
    if (c === 0x0a) return null; // Go: a newline cannot stand in a double-quoted literal
    if (c !== BACKSLASH) {
      p++;
      continue;
    }
    plain = false;
    for (let i = runStart; i < p; i++) out.push(b[i]!);
    if (p + 1 >= e) return null;
    const x = b[p + 1]!;
    const simple = SIMPLE[x];
    if (simple !== undefined) {
      out.push(simple);
      p += 2;
    } else if (x === 0x78) {
      // \xHH: one byte
      if (p + 4 > e) return null;
      const h = hexValue(b[p + 2]!);
      const l = hexValue(b[p + 3]!);
      if (h < 0 || l < 0) return null;
      out.push(h * 16 + l);
      p += 4;
    } else if (x >= 0x30 && x <= 0x37) {
      // \NNN: one byte, three octal digits
      if (p + 4 > e) return null;
      let v = 0;
      for (let i = 1; i <= 3; i++) {
        const d = b[p + i]! - 0x30;
        if (d < 0 || d > 7) return null;
        v = v * 8 + d;
      }
      if (v > 255) return null;
      out.push(v);
      p += 4;
    } else if (x === 0x75 || x === 0x55) {
      // \uHHHH, \UHHHHHHHH: a code point
      const n = x === 0x75 ? 4 : 8;
      if (p + 2 + n > e) return null;
      let v = 0;
      for (let i = 0; i < n; i++) {
        const h = hexValue(b[p + 2 + i]!);
        if (h < 0) return null;
        v = v * 16 + h;
      }
      if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return null;
      for (const byte of Buffer.from(String.fromCodePoint(v), 'utf8')) out.push(byte);
      p += 2 + n;
    } else {
      return null;
    }
    runStart = p;
  }
}

/** A label set in the text form Prometheus writes (Go quoting of values, names that need it quoted). For tests and tools. */
export function formatLabelSet(pairs: readonly (readonly [string, string])[]): string {
  const q = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}"`;
  return `{${pairs.map(([n, v]) => `${/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n) ? n : q(n)}=${q(v)}`).join(', ')}}`;
}
