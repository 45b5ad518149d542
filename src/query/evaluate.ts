/**
 * The reference semantics of a query (docs/query.md, "Matching"): does one LogRecord
 * match a Node? Written to be obviously correct rather than fast: it is the oracle the
 * store's filters are property-tested against, and it filters the live tail.
 *
 * Text matching follows the store's tokenizer (src/store/tokenizer.ts): a token
 * character is an ASCII letter, digit or `_`, or any character ≥ U+0080 (in UTF-8 all
 * of its bytes are ≥ 0x80); case-insensitive means ASCII only (A–Z ↔ a–z).
 */
import type { LogRecord } from '../record/record.js';
import type { FieldRef, Match, Node } from './ast.js';

/** True for a UTF-16 code unit that belongs to a token (any unit ≥ 0x80: surrogates too). */
export function isTokenChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c >= 0x80;
}

/** A–Z → a–z; every other character unchanged (toLowerCase would also fold Ä, İ, …). */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A decimal number (`42`, `-1.5`, `.5`, `2e3`), or null: no blanks, no hex, no
 * `Infinity`, nothing that overflows to it. Number('') is 0 and Number(' 1') is 1,
 * hence the pattern.
 */
export function strictNumber(text: string): number | null {
  if (!DECIMAL.test(text)) return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

/** Glob pattern item: a code point, or one of these two. */
const STAR = -1;
const ANY = -2;

/**
 * A glob pattern (ast.ts: `*` any run, `?` one character, `\` makes the next
 * character literal) as code points, STAR and ANY; ASCII-lowered when `fold`.
 */
export function compileGlob(pattern: string, fold: boolean): number[] {
  const out: number[] = [];
  const cps = Array.from(fold ? asciiLower(pattern) : pattern);
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (c === '\\' && i + 1 < cps.length) out.push(cps[++i]!.codePointAt(0)!);
    else if (c === '*') out.push(STAR);
    else if (c === '?') out.push(ANY);
    else out.push(c.codePointAt(0)!);
  }
  return out;
}

/** Whether the whole of `s` (code points) matches the compiled glob `p`. Backtracks only to the last star: O(|p|·|s|). */
export function globMatches(p: readonly number[], s: readonly number[]): boolean {
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    const c = p[pi];
    if (pi < p.length && (c === ANY || c === s[si])) {
      pi++;
      si++;
    } else if (c === STAR) {
      starP = pi++;
      starS = si;
    } else if (starP >= 0) {
      pi = starP + 1;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (p[pi] === STAR) pi++;
  return pi === p.length;
}

function codePoints(s: string): number[] {
  return Array.from(s, (c) => c.codePointAt(0)!);
}

/** The tokens of a text (maximal runs of token characters), as they are: not lowered. */
export function textTokens(s: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= s.length; i++) {
    const tok = i < s.length && isTokenChar(s.charCodeAt(i));
    if (tok && start < 0) start = i;
    else if (!tok && start >= 0) {
      out.push(s.slice(start, i));
      start = -1;
    }
  }
  return out;
}

/**
 * Whether `lowText` (already ASCII-lowered) occurs in `subject`, ASCII
 * case-insensitively, at token boundaries: when it starts with a token character the
 * character before the occurrence is not one, and likewise at its end. So `err` is
 * not found in `error`, `api` is found in `/api/v1`, `-v1` in `api-v1`.
 */
export function wordsOccur(lowText: string, subject: string): boolean {
  if (lowText === '') return true;
  const s = asciiLower(subject);
  const startTok = isTokenChar(lowText.charCodeAt(0));
  const endTok = isTokenChar(lowText.charCodeAt(lowText.length - 1));
  for (let i = s.indexOf(lowText); i >= 0; i = s.indexOf(lowText, i + 1)) {
    if (startTok && i > 0 && isTokenChar(s.charCodeAt(i - 1))) continue;
    const e = i + lowText.length;
    if (endTok && e < s.length && isTokenChar(s.charCodeAt(e))) continue;
    return true;
  }
  return false;
}

/** What a Match compiles to, once per Match object. */
interface Compiled {
  regex?: RegExp;
  /** words: the lowered text. */
  lowText?: string;
  /** glob on text: ASCII-folded; on a value: as written. */
  textGlob?: number[];
  valueGlob?: number[];
}

const compiled = new WeakMap<Match, Compiled>();

function compiledOf(m: Match): Compiled {
  let c = compiled.get(m);
  if (c === undefined) {
    c = {};
    compiled.set(m, c);
  }
  return c;
}

function regexOf(m: Match & { kind: 'regex' }): RegExp {
  const c = compiledOf(m);
  // g and y would make test() stateful; the parser never produces them.
  return (c.regex ??= new RegExp(m.source, m.flags.replace(/[gy]/g, '')));
}

/** A Match against free text (the message, or a field value searched by a bare term). */
function textMatches(m: Match, subject: string): boolean {
  switch (m.kind) {
    case 'words': {
      const c = compiledOf(m);
      return wordsOccur((c.lowText ??= asciiLower(m.text)), subject);
    }
    case 'glob': {
      const c = compiledOf(m);
      const p = (c.textGlob ??= compileGlob(m.pattern, true));
      return textTokens(subject).some((t) => globMatches(p, codePoints(asciiLower(t))));
    }
    case 'regex':
      return regexOf(m).test(subject);
    case 'exact':
      return subject === m.value;
    case 'exists':
      return true;
  }
}

/** A Match against one value (slot, field, source); null = the record does not have it. */
function valueMatches(m: Match, value: string | null): boolean {
  if (value === null) return false;
  switch (m.kind) {
    case 'exact':
      return value === m.value;
    case 'glob': {
      const c = compiledOf(m);
      return globMatches((c.valueGlob ??= compileGlob(m.pattern, false)), codePoints(value));
    }
    case 'regex':
      return regexOf(m).test(value);
    case 'exists':
      return true;
    case 'words':
      // Not produced by the parser for values (a phrase is `exact` there); text semantics.
      return textMatches(m, value);
  }
}

/** The value a FieldRef names in a record, or null when the record has none. */
export function valueOf(f: FieldRef, r: LogRecord): string | null {
  switch (f.kind) {
    case 'message':
      return r.message;
    case 'slot':
      return r[f.name];
    case 'severity':
      return String(r.severity);
    case 'facility':
      return String(r.facility);
    case 'field':
      return Object.hasOwn(r.fields, f.name) ? r.fields[f.name]! : null;
    case 'source':
      return r.source[f.name] ?? null;
  }
}

function numberOf(f: FieldRef, r: LogRecord): number | null {
  if (f.kind === 'severity') return r.severity;
  if (f.kind === 'facility') return r.facility;
  const v = valueOf(f, r);
  return v === null ? null : strictNumber(v);
}

/** Does record r match the query node? */
export function matches(root: Node, r: LogRecord): boolean {
  switch (root.kind) {
    case 'all':
      return true;
    case 'and':
      return root.items.every((n) => matches(n, r));
    case 'or':
      return root.items.some((n) => matches(n, r));
    case 'not':
      return !matches(root.item, r);
    case 'match': {
      const m = root.match;
      if (root.field === null) {
        // A bare term: the message or any field value (not host, app, procid, msgid, source).
        if (textMatches(m, r.message)) return true;
        for (const k in r.fields) if (Object.hasOwn(r.fields, k) && textMatches(m, r.fields[k]!)) return true;
        return false;
      }
      if (root.field.kind === 'message') return textMatches(m, r.message);
      return valueMatches(m, valueOf(root.field, r));
    }
    case 'compare': {
      const v = numberOf(root.field, r);
      if (v === null) return false;
      switch (root.op) {
        case '<':
          return v < root.value;
        case '<=':
          return v <= root.value;
        case '>':
          return v > root.value;
        case '>=':
          return v >= root.value;
      }
      return false;
    }
    case 'level':
      return root.values.includes(root.field.kind === 'severity' ? r.severity : r.facility);
    case 'time':
      return (root.from === null || r.timestamp >= root.from) && (root.to === null || r.timestamp < root.to);
  }
}
