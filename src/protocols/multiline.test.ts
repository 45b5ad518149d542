import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FRAME_TRUNCATED } from './framing/framer.js';
import { MultilineArena, MultilineJoiner, type MultilineOptions } from './multiline.js';

interface Out { text: string; flags: number; buf: Buffer; start: number; end: number }

/** A joiner and what it emitted; `lines(...)` feeds lines as frames of one recycled read buffer. */
function setup(opts: MultilineOptions) {
  const out: Out[] = [];
  let timeouts = 0;
  const j = new MultilineJoiner(
    opts,
    (buf, start, end, flags) => out.push({ text: buf.toString('utf8', start, end), flags, buf, start, end }),
    () => timeouts++,
  );
  const read = (...lines: (string | [string, number])[]) => feedRead(j, lines);
  return { j, out, read, texts: () => out.map((o) => o.text), timeouts: () => timeouts };
}

/**
 * One "read": the lines side by side in one buffer (LF-separated, as the framer sees
 * them), pushed as frames, then the buffer is overwritten as a recycled read buffer would be.
 */
function feedRead(j: MultilineJoiner, lines: (string | [string, number])[]): void {
  const parts = lines.map((l) => (typeof l === 'string' ? [l, 0] as const : l));
  const buf = Buffer.from(parts.map((p) => p[0]).join('\n') + '\n');
  let at = 0;
  for (const [text, flags] of parts) {
    const n = Buffer.byteLength(text);
    j.push(buf, at, at + n, flags);
    at += n + 1;
  }
  buf.fill(0xff);
}

const JAVA = [
  'Exception in thread "main" java.lang.IllegalStateException: outer',
  '\tat com.example.App.run(App.java:42)',
  '\tat com.example.App.main(App.java:10)',
  'Caused by: java.io.IOException: inner',
  '\tat com.example.Io.read(Io.java:7)',
  '\t... 5 more',
  'Caused by: java.net.SocketException: reset',
  '\tat java.base/sun.nio.ch.NioSocketImpl.read(NioSocketImpl.java:1)',
  '... 5 more',
  '... 12 common frames omitted',
];

const PYTHON = [
  'Traceback (most recent call last):',
  '  File "/app/main.py", line 10, in <module>',
  '    main()',
  '  File "/app/main.py", line 6, in main',
  '    raise ValueError("boom")',
  'ValueError: boom',
];

const PY_CHAINED = [
  ...PYTHON,
  'During handling of the above exception, another exception occurred:',
  'Traceback (most recent call last):',
  '  File "/app/main.py", line 12, in <module>',
  '    cleanup()',
  'KeyError: \'x\'',
  'The above exception was the direct cause of the following exception:',
  'Traceback (most recent call last):',
  '  File "/app/main.py", line 14, in <module>',
  'RuntimeError: wrapped',
];

describe('multiline: indent mode', () => {
  it('joins a Java stack trace with Caused by and "... N more"', () => {
    const { j, texts } = setup({ mode: 'indent' });
    feedRead(j, ['INFO before', ...JAVA, 'INFO after']);
    j.flush();
    assert.deepEqual(texts(), ['INFO before', JAVA.join('\n'), 'INFO after']);
  });

  it('joins a Python traceback, the unindented exception line included', () => {
    const { j, texts } = setup({ mode: 'indent' });
    feedRead(j, ['INFO before', ...PYTHON, 'INFO after', ...PYTHON, ...PYTHON]);
    j.flush();
    // Two tracebacks in a row without a chain marker are two records.
    assert.deepEqual(texts(), ['INFO before', PYTHON.join('\n'), 'INFO after', PYTHON.join('\n'), PYTHON.join('\n')]);
  });

  it('joins chained Python tracebacks (blank lines are dropped by the framer)', () => {
    const { j, texts } = setup({ mode: 'indent' });
    feedRead(j, [...PY_CHAINED, 'next record']);
    j.flush();
    assert.deepEqual(texts(), [PY_CHAINED.join('\n'), 'next record']);
  });

  it('a chain marker or Traceback header out of place starts a record', () => {
    const { j, texts } = setup({ mode: 'indent' });
    const during = 'During handling of the above exception, another exception occurred:';
    feedRead(j, ['plain', during, 'Traceback (most recent call last):', 'x', 'y', '...5 more', '... more', '... 5 mo']);
    j.flush();
    assert.deepEqual(texts(), ['plain', during, 'Traceback (most recent call last):\nx', 'y', '...5 more', '... more', '... 5 mo']);
  });

  it('single lines pass through unchanged and in order', () => {
    const { j, out, texts } = setup({ mode: 'indent' });
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i} ünïcödé`);
    feedRead(j, lines.slice(0, 20));
    feedRead(j, lines.slice(20));
    // Each record waits for the next line: all but the last are out.
    assert.deepEqual(texts(), lines.slice(0, -1));
    j.flush();
    assert.deepEqual(texts(), lines);
    assert.ok(out.every((o) => o.flags === 0));
  });

  it('a leading continuation line with nothing pending starts a record', () => {
    const { j, texts } = setup({ mode: 'indent' });
    feedRead(j, ['\tat orphan', '  more', 'start']);
    j.flush();
    assert.deepEqual(texts(), ['\tat orphan\n  more', 'start']);
  });
});

describe('multiline: pattern mode', () => {
  it('a timestamp starts a record; everything else continues it', () => {
    const { j, texts } = setup({ mode: 'pattern', pattern: /^\d{4}-\d{2}-\d{2}/ });
    const rec1 = ['2024-05-01 12:00:00 ERROR failed', 'java.lang.RuntimeException: x', '\tat A.b(A.java:1)', 'Caused by: y'];
    const rec2 = ['2024-05-01 12:00:01 ERROR py', ...PYTHON];
    const rec3 = ['2024-05-01 12:00:02 INFO ok'];
    feedRead(j, ['orphan first', ...rec1, ...rec2.slice(0, 3)]);
    feedRead(j, [...rec2.slice(3), ...rec3]);
    j.flush();
    assert.deepEqual(texts(), ['orphan first', rec1.join('\n'), rec2.join('\n'), rec3.join('\n')]);
  });

  it('tests only the first 1 KiB, decoded as UTF-8; g/y flags do not make it stateful', () => {
    const { j, texts } = setup({ mode: 'pattern', pattern: /^(Ошибка|START)|END$/gy as RegExp, maxBytes: 10_000 });
    const longEnd = 'x'.repeat(1100) + 'END'; // END beyond the first KiB: not seen
    feedRead(j, ['START a', 'b', 'Ошибка c', 'd', longEnd, 'START e', 'START f', 'g END']);
    j.flush();
    assert.deepEqual(texts(), ['START a\nb', `Ошибка c\nd\n${longEnd}`, 'START e', 'START f', 'g END']);
  });

  it('requires a pattern', () => {
    assert.throws(() => new MultilineJoiner({ mode: 'pattern' }, () => {}, () => {}), RangeError);
    assert.throws(() => new MultilineJoiner({ mode: 'x' as 'indent' }, () => {}, () => {}), RangeError);
    assert.throws(() => new MultilineJoiner({ mode: 'indent', maxLines: 0 }, () => {}, () => {}), RangeError);
  });
});

describe('multiline: limits and flags', () => {
  it('maxLines: the record is emitted at the limit, the rest starts a new record', () => {
    const { j, out, texts } = setup({ mode: 'indent', maxLines: 3 });
    feedRead(j, ['head', ' 1', ' 2', ' 3', ' 4', ' 5', ' 6', 'next']);
    assert.deepEqual(texts(), ['head\n 1\n 2', ' 3\n 4\n 5', ' 6']);
    j.flush();
    assert.deepEqual(texts(), ['head\n 1\n 2', ' 3\n 4\n 5', ' 6', 'next']);
    assert.ok(out.every((o) => o.flags === 0));
  });

  it('maxLines 1: every line is its own record, at once', () => {
    const { j, texts } = setup({ mode: 'indent', maxLines: 1 });
    feedRead(j, ['a', ' b', 'c']);
    assert.deepEqual(texts(), ['a', ' b', 'c']);
  });

  it('maxBytes: a record that would grow past it is emitted flagged FRAME_TRUNCATED', () => {
    const { j, out } = setup({ mode: 'indent', maxBytes: 20 });
    feedRead(j, ['0123456789', ' 12345678', ' x', 'ok', ' 1234567890123456', 'end']);
    j.flush();
    assert.deepEqual(out.map((o) => [o.text, o.flags]), [
      ['0123456789\n 12345678', FRAME_TRUNCATED], // exactly 20 bytes; " x" would not fit
      [' x', 0],
      ['ok\n 1234567890123456', 0], // 20 bytes, ended by a start line: complete
      ['end', 0],
    ]);
    assert.ok(out.every((o) => o.end - o.start <= 20));
  });

  it('maxBytes: a single line longer than maxBytes is cut and flagged', () => {
    const { j, out } = setup({ mode: 'indent', maxBytes: 8 });
    feedRead(j, ['0123456789abc', ' tail', 'x']);
    j.flush();
    assert.deepEqual(out.map((o) => [o.text, o.flags]), [['01234567', FRAME_TRUNCATED], [' tail', 0], ['x', 0]]);
  });

  it('FRAME_TRUNCATED on an input line carries over to its record', () => {
    const { j, out } = setup({ mode: 'indent' });
    feedRead(j, ['a', [' b', FRAME_TRUNCATED], ' c', 'd', ['e', FRAME_TRUNCATED], 'f']);
    j.flush();
    assert.deepEqual(out.map((o) => [o.text, o.flags]), [['a\n b\n c', FRAME_TRUNCATED], ['d', 0], ['e', FRAME_TRUNCATED], ['f', 0]]);
  });
});

describe('multiline: timer, flush, close', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('a pending record is emitted after timeoutMs without a new line, then onTimeout is called', async () => {
    const { j, texts, timeouts } = setup({ mode: 'indent', timeoutMs: 40 });
    feedRead(j, ['first', ' cont']);
    assert.deepEqual(texts(), []);
    // Lines keep arriving: the timer is refreshed, nothing goes out.
    for (let i = 0; i < 4; i++) {
      await sleep(15);
      feedRead(j, [` more ${i}`]);
    }
    assert.deepEqual(texts(), []);
    await sleep(120);
    assert.deepEqual(texts(), ['first\n cont\n more 0\n more 1\n more 2\n more 3']);
    assert.equal(timeouts(), 1);
    assert.equal(j.pendingLines, 0);
    // The timer is reused for the next record.
    const timer = (j as unknown as { timer: unknown }).timer;
    feedRead(j, ['second']);
    assert.equal((j as unknown as { timer: unknown }).timer, timer);
    await sleep(120);
    assert.deepEqual(texts().slice(1), ['second']);
    assert.equal(timeouts(), 2);
    j.close();
  });

  it('flush() emits the pending record and clears the timer; close() discards and clears', async () => {
    const { j, texts, timeouts } = setup({ mode: 'indent', timeoutMs: 20 });
    feedRead(j, ['a', ' b']);
    j.flush();
    assert.deepEqual(texts(), ['a\n b']);
    assert.equal((j as unknown as { timer: unknown }).timer, null);
    j.flush();
    feedRead(j, ['c']);
    j.close();
    assert.equal((j as unknown as { timer: unknown }).timer, null);
    await sleep(60);
    assert.deepEqual(texts(), ['a\n b']);
    assert.equal(timeouts(), 0);
  });

  it('the timer does not keep the process alive (unref)', () => {
    const { j } = setup({ mode: 'indent', timeoutMs: 60_000 });
    feedRead(j, ['pending']);
    const t = (j as unknown as { timer: NodeJS.Timeout }).timer;
    assert.equal(t.hasRef(), false);
    j.close();
  });
});

describe('multiline: memory', () => {
  it('records of consecutive lines share one buffer; their bytes are never rewritten', () => {
    const arena = new MultilineArena();
    const { j, out } = setup({ mode: 'indent', arena });
    for (let r = 0; r < 5; r++) feedRead(j, ['a', ' b', 'c', 'd', ' e', ' f', 'g']);
    j.flush();
    assert.equal(out.length, 20);
    assert.ok(out.every((o) => o.buf === out[0]!.buf), 'one buffer for all records');
    for (let i = 1; i < out.length; i++) assert.equal(out[i]!.start, out[i - 1]!.end);
    // More records later: earlier views still read the same.
    for (let r = 0; r < 3; r++) feedRead(j, ['zzzzzzzzzzzzzzzz', ' yyyyyyyyyyyyy']);
    j.flush();
    for (const o of out) assert.equal(o.buf.toString('utf8', o.start, o.end), o.text);
  });

  it('a full arena chunk: the pending record moves to a fresh chunk', () => {
    const arena = new MultilineArena(32);
    const { j, out } = setup({ mode: 'indent', arena });
    const lines = ['0123456789', ' abcdefghij', ' klmnopqrst', 'x', ' y'.repeat(30)];
    feedRead(j, lines);
    j.flush();
    assert.deepEqual(out.map((o) => o.text), [lines.slice(0, 3).join('\n'), `x\n${' y'.repeat(30)}`]);
    for (const o of out) assert.equal(o.buf.toString('utf8', o.start, o.end), o.text);
    assert.notEqual(out[0]!.buf, out[1]!.buf);
  });

  it('joiners sharing the arena keep their pending records apart', () => {
    const arena = new MultilineArena(64);
    const a = setup({ mode: 'indent', arena });
    const b = setup({ mode: 'indent', arena });
    feedRead(a.j, ['A1', ' a']);
    feedRead(b.j, ['B1', ' b']);
    feedRead(a.j, [' a2', 'A2']);
    feedRead(b.j, [' b2', ' b3', 'B2']);
    feedRead(a.j, [' a3'.repeat(20)]);
    a.j.flush();
    b.j.flush();
    assert.deepEqual(a.texts(), ['A1\n a\n a2', `A2\n${' a3'.repeat(20)}`]);
    assert.deepEqual(b.texts(), ['B1\n b\n b2\n b3', 'B2']);
    for (const o of [...a.out, ...b.out]) assert.equal(o.buf.toString('utf8', o.start, o.end), o.text);
  });
});

// ---- Reference model ------------------------------------------------------------------

const TB = 'Traceback (most recent call last):';
const DURING = 'During handling of the above exception, another exception occurred:';
const DIRECT = 'The above exception was the direct cause of the following exception:';

interface ModelOpts { mode: 'indent' | 'pattern'; pattern?: RegExp; maxLines: number; maxBytes: number }

/** The documented rule, written plainly with strings and regexes (lines are ASCII here). */
function model(input: ({ line: string; flags: number } | 'flush')[], o: ModelOpts): [string, number][] {
  const recs: [string, number][] = [];
  let cur: { lines: string[]; flags: number; py: 'none' | 'tb' | 'done' | 'chain' } | null = null;
  const size = () => cur!.lines.join('\n').length;
  const emit = () => {
    if (cur) recs.push([cur.lines.join('\n'), cur.flags]);
    cur = null;
  };
  const continues = (line: string): boolean => {
    if (o.mode === 'pattern') return !o.pattern!.test(line.slice(0, 1024));
    const c = cur!;
    if (line === '') return false;
    if (/^[ \t]/.test(line)) return true;
    if (c.py === 'tb') {
      c.py = 'done';
      return true;
    }
    if (line.startsWith('Caused by: ') || /^\.\.\. \d+ (more|common frames omitted)/.test(line)) return true;
    if (c.py === 'done' && (line.startsWith(DURING) || line.startsWith(DIRECT))) {
      c.py = 'chain';
      return true;
    }
    if (c.py === 'chain' && line.startsWith(TB)) {
      c.py = 'tb';
      return true;
    }
    return false;
  };
  for (const x of input) {
    if (x === 'flush') {
      emit();
      continue;
    }
    let { line, flags } = x;
    if (cur !== null) {
      if (continues(line)) {
        if (size() + 1 + line.length > o.maxBytes) {
          cur.flags |= FRAME_TRUNCATED;
          emit();
        } else {
          cur.lines.push(line);
          cur.flags |= flags;
          if (cur.lines.length >= o.maxLines) emit();
          continue;
        }
      } else {
        emit();
      }
    }
    if (line.length > o.maxBytes) {
      line = line.slice(0, o.maxBytes);
      flags |= FRAME_TRUNCATED;
    }
    cur = { lines: [line], flags, py: o.mode === 'indent' && line.startsWith(TB) ? 'tb' : 'none' };
    if (cur.lines.length >= o.maxLines) emit();
  }
  return recs;
}

const interesting = fc.constantFrom(
  '\tat com.example.A.b(A.java:1)', '  File "a.py", line 1, in f', '    x = 1', ' ', '\t',
  'Caused by: java.io.IOException', 'Caused by:x', '... 3 more', '... 12 common frames omitted', '...3 more', '... x more',
  TB, 'ValueError: boom', DURING, DIRECT, '', 'INFO plain line', '2024-01-02 log line', '2024-01-0x nope',
);
const anyLine = fc.oneof(
  { weight: 3, arbitrary: interesting },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(' ', '\t', 'a', 'C', '.', '1', '2', '-', 'x'), maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 70 }) },
);

describe('multiline: reference model', () => {
  it('random lines, reads, joiners and flushes: output equals the model', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<ModelOpts>(
          { mode: 'indent', maxLines: 500, maxBytes: 64 * 1024 },
          { mode: 'indent', maxLines: 3, maxBytes: 40 },
          { mode: 'indent', maxLines: 1, maxBytes: 10 },
          { mode: 'indent', maxLines: 5, maxBytes: 8 },
          { mode: 'pattern', pattern: /^\d{4}-\d{2}-\d{2}/, maxLines: 4, maxBytes: 100 },
          { mode: 'pattern', pattern: /^(INFO|Caused)/, maxLines: 500, maxBytes: 30 },
        ),
        fc.constantFrom(16, 64, 256 * 1024),
        fc.array(
          fc.oneof(
            { weight: 6, arbitrary: fc.record({ joiner: fc.nat(2), lines: fc.array(fc.tuple(anyLine, fc.constantFrom(0, 0, 0, FRAME_TRUNCATED)), { minLength: 1, maxLength: 8 }) }) },
            { weight: 1, arbitrary: fc.record({ joiner: fc.nat(2), flush: fc.constant(true) }) },
          ),
          { maxLength: 40 },
        ),
        (o, arenaBytes, ops) => {
          const arena = new MultilineArena(arenaBytes);
          const js = [0, 1, 2].map(() => setup({ ...o, timeoutMs: 60_000, arena }));
          const inputs: ({ line: string; flags: number } | 'flush')[][] = [[], [], []];
          for (const op of ops) {
            if ('flush' in op) {
              js[op.joiner]!.j.flush();
              inputs[op.joiner]!.push('flush');
            } else {
              feedRead(js[op.joiner]!.j, op.lines);
              for (const [line, flags] of op.lines) inputs[op.joiner]!.push({ line, flags });
            }
          }
          js.forEach((s, k) => {
            s.j.flush();
            s.j.close();
            inputs[k]!.push('flush');
            assert.deepEqual(s.out.map((r) => [r.text, r.flags]), model(inputs[k]!, o));
            for (const r of s.out) {
              assert.ok(r.end - r.start <= o.maxBytes);
              // Views handed out are never written again.
              assert.equal(r.buf.toString('utf8', r.start, r.end), r.text);
            }
          });
        },
      ),
      { numRuns: 400 },
    );
  });
});
