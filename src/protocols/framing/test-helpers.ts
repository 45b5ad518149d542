/** Test helpers for the framing tests (not a test file itself). */
import assert from 'node:assert/strict';
import { createFramer } from './index.js';
import type { FrameSink, Framer, FramerOptions, FramingEventKind, FramingMode } from './framer.js';
import { nativeOctetFrames } from './octet.js';

export interface Frame {
  /** Copy of the frame bytes, as latin1 text (byte-exact, readable in diffs). */
  s: string;
  flags: number;
}

export interface Run {
  frames: Frame[];
  events: Array<[FramingEventKind, number]>;
  /** Largest `buffered` seen after any push. */
  maxBuffered: number;
  /** `buffered` after the last push, before end(). */
  bufferedBeforeEnd: number;
  /** Frames (their index) and events in the order they came. */
  order: string[];
}

export const b = (s: string): Buffer => Buffer.from(s, 'latin1');
export const str = (buf: Uint8Array): string => Buffer.from(buf).toString('latin1');

export function opts(mode: FramingMode, o: Partial<FramerOptions> = {}): FramerOptions {
  return { mode, maxFrame: 64 * 1024, onOversize: 'truncate', nulDelimiter: false, ...o };
}

/**
 * Runs a fresh framer over `chunks`, then end(). Checks the sink contract on the way.
 * Without `framer`, twice: to a sink of single frames, and to one that also takes many
 * at once (FrameSink.many: the octet framer's native run, where the addon is built);
 * both must give the same.
 */
export function run(o: FramerOptions, chunks: Buffer[], framer?: Framer): Run {
  if (framer !== undefined) return runOnce(o, chunks, framer, false);
  const single = runOnce(o, chunks, undefined, false);
  if (nativeOctetFrames() !== null) assert.deepEqual(runOnce(o, chunks, undefined, true), single, 'the same with FrameSink.many');
  return single;
}

function runOnce(o: FramerOptions, chunks: Buffer[], framer: Framer | undefined, many: boolean): Run {
  const events: Array<[FramingEventKind, number]> = [];
  const order: string[] = [];
  const user = o.onEvent;
  const f =
    framer ??
    createFramer({
      ...o,
      onEvent: (k, n) => {
        events.push([k, n]);
        order.push(`${k} ${n}`);
        user?.(k, n);
      },
    });
  const frames: Frame[] = [];
  const sink: FrameSink = (buf: Buffer, start: number, end: number, flags: number): void => {
    assert.ok(Buffer.isBuffer(buf), 'sink gets a Buffer');
    assert.ok(Number.isInteger(start) && Number.isInteger(end), 'integer bounds');
    assert.ok(start >= 0 && start < end && end <= buf.length, `bounds ${start},${end} within ${buf.length}, non-empty`);
    frames.push({ s: buf.toString('latin1', start, end), flags });
    order.push(`frame ${frames.length - 1}`);
  };
  if (many) takeMany(sink);
  let maxBuffered = 0;
  for (const c of chunks) {
    f.push(c, sink);
    if (f.buffered > maxBuffered) maxBuffered = f.buffered;
  }
  const bufferedBeforeEnd = f.buffered;
  f.end(sink);
  assert.equal(f.buffered, 0, 'end() resets');
  return { frames, events, maxBuffered, bufferedBeforeEnd, order };
}

/**
 * Gives `sink` a FrameSink.many that hands each frame to it in turn, unflagged, and
 * checks what the framer says of them (a frame at least, the bytes in all).
 */
export function takeMany(sink: FrameSink): FrameSink {
  sink.many = (buf, offsets, n, bytes) => {
    assert.ok(n > 0 && 2 * n <= offsets.length, `${n} frames in ${offsets.length} words`);
    let sum = 0;
    for (let k = 0; k < n; k++) {
      sink(buf, offsets[2 * k]!, offsets[2 * k + 1]!, 0);
      sum += offsets[2 * k + 1]! - offsets[2 * k]!;
    }
    assert.equal(bytes, sum, 'bytes of the frames');
  };
  return sink;
}

/** Splits `buf` at the given cut points (any order, any values; clamped and deduplicated). */
export function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.min(Math.max(0, c), buf.length)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    if (p > prev) out.push(buf.subarray(prev, p));
    prev = p;
  }
  if (prev < buf.length) out.push(buf.subarray(prev));
  return out;
}

export function chunksOf(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

/**
 * Feeds `stream` whole, at every single split point (two chunks), and in 1-byte
 * chunks; every run must give the same result as `expected`.
 */
export function checkAllSplits(o: FramerOptions, stream: Buffer, expected: Pick<Run, 'frames' | 'events'>): void {
  const check = (chunks: Buffer[], what: string): void => {
    const r = run(o, chunks);
    assert.deepEqual(r.frames, expected.frames, `frames, ${what}`);
    assert.deepEqual(r.events, expected.events, `events, ${what}`);
  };
  check([stream], 'one chunk');
  for (let i = 0; i <= stream.length; i++) check([stream.subarray(0, i), stream.subarray(i)], `split at ${i}`);
  check(chunksOf(stream, 1), '1-byte chunks');
}

/** Copies each chunk into its own ArrayBuffer so no test accidentally relies on a shared parent. */
export function isolate(chunks: Buffer[]): Buffer[] {
  return chunks.map((c) => Buffer.from(c));
}
