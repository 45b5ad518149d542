/**
 * A byte-level JSON (RFC 8259) validator that reports where things are instead of
 * building values: the parsers in json.ts walk the top-level object themselves and
 * use these functions for strings, numbers, literals and whole nested values.
 *
 * Every function takes the buffer and an exclusive end `e` (frames share one buffer,
 * so nothing may read past its frame) and returns the position after what it
 * scanned, or -1 for a syntax error. Nothing here allocates.
 *
 * Invalid UTF-8 inside strings is accepted (it becomes U+FFFD when the text is
 * decoded); raw control characters (< 0x20) are not, as RFC 8259 §7 requires.
 */

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const COLON = 0x3a;
export const COMMA = 0x2c;
export const LBRACE = 0x7b;
export const RBRACE = 0x7d;
export const LBRACKET = 0x5b;
export const RBRACKET = 0x5d;

/**
 * Containers open at once, counted from the top-level value, beyond which a document
 * is rejected. Validation is iterative (an explicit stack), so this bounds memory and
 * time on hostile input, not the JS stack.
 */
export const MAX_NESTING = 512;

/** Outputs of the last scanString call (a module-level slot instead of a result object). */
export const scanned = {
  /** 1 when the string held at least one backslash escape. */
  esc: 0,
};

/** Hex digit value of a byte, or -1: for `\uXXXX`. */
const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c;
  HEX[0x61 + c] = 10 + c;
}

/** 1 for the bytes that may follow a backslash other than `u`: `" \ / b f n r t`. */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;

/** 1 for the bytes that end a run of plain string bytes: `"`, backslash and control characters. */
export const STRING_STOP = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STRING_STOP[c] = 1;
STRING_STOP[QUOTE] = 1;
STRING_STOP[BACKSLASH] = 1;

/** True when buf[p, p+4) are four hex digits (p + 4 <= e checked by the caller). */
function hex4(buf: Uint8Array, p: number): boolean {
  return (HEX[buf[p]!]! | HEX[buf[p + 1]!]! | HEX[buf[p + 2]!]! | HEX[buf[p + 3]!]!) >= 0;
}

/** Skips JSON whitespace (space, tab, LF, CR). */
export function skipWs(buf: Uint8Array, p: number, e: number): number {
  while (p < e) {
    const c = buf[p]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    p++;
  }
  return p;
}

/**
 * A string whose opening quote is at p - 1: returns the position after the closing
 * quote (the contents are [p, result - 1)), or -1. Sets scanned.esc.
 */
export function scanString(buf: Uint8Array, p: number, e: number): number {
  let esc = 0;
  for (;;) {
    // One table lookup per ordinary byte: the common case is a long run of them.
    while (p < e && STRING_STOP[buf[p]!] === 0) p++;
    if (p >= e) return -1;
    const c = buf[p]!;
    if (c === QUOTE) {
      scanned.esc = esc;
      return p + 1;
    }
    if (c !== BACKSLASH || p + 1 >= e) return -1; // a control character, or `\` at the end
    const x = buf[p + 1]!;
    if (x === 0x75) {
      // \uXXXX: any code unit is valid JSON, lone surrogates included (RFC 8259 §8.2).
      if (p + 6 > e || !hex4(buf, p + 2)) return -1;
      p += 6;
    } else if (SIMPLE_ESCAPE[x] === 1) {
      p += 2;
    } else {
      return -1;
    }
    esc = 1;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** A number `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?` starting at p: its end, or -1. */
export function scanNumber(buf: Uint8Array, p: number, e: number): number {
  if (p < e && buf[p] === 0x2d) p++;
  if (p >= e) return -1;
  let c = buf[p]!;
  if (c === 0x30) {
    p++;
  } else if (c >= 0x31 && c <= 0x39) {
    p++;
    while (p < e && isDigit(buf[p]!)) p++;
  } else {
    return -1;
  }
  if (p < e && buf[p] === 0x2e) {
    p++;
    const d = p;
    while (p < e && isDigit(buf[p]!)) p++;
    if (p === d) return -1;
  }
  if (p < e) {
    c = buf[p]!;
    if (c === 0x65 || c === 0x45) {
      p++;
      if (p < e && (buf[p] === 0x2b || buf[p] === 0x2d)) p++;
      const d = p;
      while (p < e && isDigit(buf[p]!)) p++;
      if (p === d) return -1;
    }
  }
  return p;
}

/** `true`, `false` or `null` at p: its end, or -1. */
export function scanLiteral(buf: Uint8Array, p: number, e: number): number {
  const c = buf[p];
  if (c === 0x74) {
    // true
    return p + 4 <= e && buf[p + 1] === 0x72 && buf[p + 2] === 0x75 && buf[p + 3] === 0x65 ? p + 4 : -1;
  }
  if (c === 0x66) {
    // false
    return p + 5 <= e && buf[p + 1] === 0x61 && buf[p + 2] === 0x6c && buf[p + 3] === 0x73 && buf[p + 4] === 0x65 ? p + 5 : -1;
  }
  if (c === 0x6e) {
    // null
    return p + 4 <= e && buf[p + 1] === 0x75 && buf[p + 2] === 0x6c && buf[p + 3] === 0x6c ? p + 4 : -1;
  }
  return -1;
}

/** Open containers of skipValue: 1 object, 2 array. One per module: the scan is synchronous. */
const stack = new Uint8Array(MAX_NESTING + 1);
const IN_OBJECT = 1;
const IN_ARRAY = 2;

/**
 * Any JSON value starting at p (no leading whitespace), validated completely, without
 * recursion. `depth` is the number of containers already open around it (for
 * MAX_NESTING). Returns the position after the value, or -1.
 */
export function skipValue(buf: Uint8Array, p: number, e: number, depth: number): number {
  let sp = 0;
  const room = MAX_NESTING - depth;
  for (;;) {
    // A value at p.
    if (p >= e) return -1;
    const c = buf[p]!;
    if (c === QUOTE) {
      p = scanString(buf, p + 1, e);
    } else if (c === LBRACE) {
      if (sp >= room) return -1;
      stack[sp++] = IN_OBJECT;
      p = skipWs(buf, p + 1, e);
      if (p < e && buf[p] === RBRACE) {
        p++;
        sp--;
      } else {
        p = memberName(buf, p, e);
        if (p < 0) return -1;
        continue;
      }
    } else if (c === LBRACKET) {
      if (sp >= room) return -1;
      stack[sp++] = IN_ARRAY;
      p = skipWs(buf, p + 1, e);
      if (p < e && buf[p] === RBRACKET) {
        p++;
        sp--;
      } else {
        continue;
      }
    } else if (c === 0x2d || isDigit(c)) {
      p = scanNumber(buf, p, e);
    } else {
      p = scanLiteral(buf, p, e);
    }
    if (p < 0) return -1;
    // After a value: close containers, or go on to the next element.
    for (;;) {
      if (sp === 0) return p;
      p = skipWs(buf, p, e);
      if (p >= e) return -1;
      const d = buf[p]!;
      if (stack[sp - 1] === IN_OBJECT) {
        if (d === RBRACE) {
          p++;
          sp--;
          continue;
        }
        if (d !== COMMA) return -1;
        p = memberName(buf, skipWs(buf, p + 1, e), e);
        if (p < 0) return -1;
        break;
      }
      if (d === RBRACKET) {
        p++;
        sp--;
        continue;
      }
      if (d !== COMMA) return -1;
      p = skipWs(buf, p + 1, e);
      break;
    }
  }
}

/** `"name" :` at p, then whitespace: the position of the member's value, or -1. */
function memberName(buf: Uint8Array, p: number, e: number): number {
  if (p >= e || buf[p] !== QUOTE) return -1;
  p = scanString(buf, p + 1, e);
  if (p < 0) return -1;
  p = skipWs(buf, p, e);
  if (p >= e || buf[p] !== COLON) return -1;
  return skipWs(buf, p + 1, e);
}
