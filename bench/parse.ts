/**
 * Parse throughput per format, on one core: node dist/bench/parse.js [MiB per format] [--json]
 *
 * Input per format: realistic lines of a fixed size (varying hosts, apps, pids,
 * structured data, levels, text), LF-terminated, cut into 64 KiB chunks as a socket
 * would deliver them. Each case frames the chunks (LF framer → BatchBuilder), the
 * same code path as a TCP connection:
 *
 *   baseline   framing only: batches are built and dropped
 *   forced     framing + the format's parser (listener `format: <name>`)
 *   auto       framing + per-frame detection + parser (the default listener)
 *   no hints   (json, gelf) the forced case without the native string finder
 *              (json-strings.ts) nor the native JSON lines pass: all in JavaScript
 *   hints only (json) the forced case with the string finder but without the native
 *              JSON lines pass (json-native.ts): the baseline for that pass
 *   no native  (rfc5424) the forced and auto cases without the native RFC 5424 pass
 *              (rfc5424-native.ts): every frame parsed in JavaScript, the baseline for it
 *
 * Reported: records/s and MB/s of each case, the ratio to the baseline, and the
 * parse cost per record = (case time - baseline time) / records. Cases of a format
 * run interleaved REPS times after a warm-up; the best run of each is reported.
 */
import { createFramer } from '../src/protocols/framing/index.js';
import { BatchBuilder, type FrameBatch } from '../src/pipeline/batch.js';
import { ParseStage } from '../src/protocols/formats/parse-stage.js';
import type { FormatName } from '../src/protocols/formats/format.js';
import { nativeJsonStrings, setStringHints } from '../src/protocols/formats/json-strings.js';
import { nativeScan5424, setNative5424 } from '../src/protocols/formats/rfc5424-native.js';
import { nativeScanJsonLines, setNativeJson } from '../src/protocols/formats/json-native.js';
import { APPS, HOSTS, fit, rfc5424Line, words } from './lib/sample-lines.js';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
const REPS = 7;
const args = process.argv.slice(2);
const JSON_OUT = args.includes('--json');
const TOTAL = Math.max(1, Number(args.find((a) => /^\d+$/.test(a)) ?? 48)) * MiB;

/** One line of `size` bytes (without the LF) for message i. */
const LINES: Record<string, { size: number; line: (i: number) => string; fixup?: (s: string) => string }> = {
  rfc5424: {
    size: 127,
    line: (i) => rfc5424Line(i, '2026-11-22'),
  },
  rfc3164: {
    size: 127,
    line: (i) => fit(`<${(i % 24) * 8 + (i % 8)}>Nov ${String(1 + (i % 28)).padStart(2, ' ')} 10:${String(i % 60).padStart(2, '0')}:${String((i >> 6) % 60).padStart(2, '0')} ${HOSTS[i % 6]} ${APPS[i % 6]}[${1000 + (i % 9000)}]: ${words(i, 5)} `, 127, 'y'),
  },
  json: {
    size: 199,
    line: (i) => {
      const head = `{"time":"2026-11-22T10:${String(i % 60).padStart(2, '0')}:00.${String(i % 1000).padStart(3, '0')}Z","level":"${['info', 'warn', 'error', 'debug'][i % 4]}","host":"${HOSTS[i % 6]}","service":"${APPS[i % 6]}","req":{"id":${i},"method":"GET"},"msg":"${words(i, 3)} `;
      return fit(head, 199 - 2, 'z') + '"}';
    },
  },
  logfmt: {
    size: 159,
    line: (i) => {
      const head = `ts=2026-11-22T10:${String(i % 60).padStart(2, '0')}:00Z level=${['info', 'warn', 'error'][i % 3]} host=${HOSTS[i % 6]} app=${APPS[i % 6]} duration=${i % 977}ms status=${200 + (i % 5)} msg="${words(i, 3)} `;
      return fit(head, 159 - 1, 'q') + '"';
    },
  },
  gelf: {
    size: 199,
    line: (i) => {
      const head = `{"version":"1.1","host":"${HOSTS[i % 6]}","timestamp":1763805600.${String(i % 1000).padStart(3, '0')},"level":${i % 8},"_app":"${APPS[i % 6]}","_user_id":${i % 5000},"short_message":"${words(i, 3)} `;
      return fit(head, 199 - 2, 'w') + '"}';
    },
  },
};

function corpus(format: string): { chunks: Buffer[]; records: number; bytes: number } {
  const spec = LINES[format]!;
  const per = spec.size + 1;
  const n = Math.floor(TOTAL / per);
  const all = Buffer.allocUnsafe(n * per);
  let off = 0;
  for (let i = 0; i < n; i++) {
    const l = spec.line(i);
    if (l.length !== spec.size) throw new Error(`${format} line ${i} is ${l.length} bytes, not ${spec.size}: ${l}`);
    off += all.write(`${l}\n`, off, 'latin1');
  }
  const chunks: Buffer[] = [];
  for (let i = 0; i < off; i += CHUNK) chunks.push(Buffer.from(all.subarray(i, Math.min(off, i + CHUNK))));
  return { chunks, records: n, bytes: off };
}

/** Frames every chunk like a connection does; `onBatch` gets each batch. Returns records seen. */
function run(chunks: Buffer[], onBatch: (b: FrameBatch) => void): number {
  let records = 0;
  const framer = createFramer({ mode: 'lf', maxFrame: 64 * 1024, onOversize: 'truncate', nulDelimiter: false });
  const builder = new BatchBuilder({ listener: 'bench', transport: 'tcp', peer: '127.0.0.1:1' }, (b) => {
    records += b.count;
    onBatch(b);
  });
  const now = Date.now();
  for (const c of chunks) {
    builder.stamp(now);
    framer.push(c, builder.emit);
    builder.flush();
  }
  framer.end(builder.emit);
  builder.flush();
  return records;
}

interface Row {
  format: string;
  case: string;
  records: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  ratio: number;
  parseNsPerRecord: number | null;
}

const rows: Row[] = [];
for (const format of Object.keys(LINES)) {
  const { chunks, records, bytes } = corpus(format);
  const forced = new ParseStage(format as FormatName);
  const auto = new ParseStage('auto');
  let errors = 0;
  let sink = 0;
  /** name, what runs, and which native helpers are on: all (default), the string hints only, none. */
  const cases: [string, (b: FrameBatch) => void, native?: 'hints' | 'none'][] = [
    ['baseline (framing only)', (b) => (sink += b.count)],
    [`forced ${format}`, (b) => (errors += forced.parse(b).parseErrors)],
    ['auto', (b) => (errors += auto.parse(b).parseErrors)],
  ];
  if ((format === 'json' || format === 'gelf') && nativeJsonStrings() !== null) {
    cases.push([`forced, no hints`, (b) => (errors += forced.parse(b).parseErrors), 'none']);
  }
  if (format === 'json' && nativeScanJsonLines() !== null) {
    cases.push([`forced, hints only`, (b) => (errors += forced.parse(b).parseErrors), 'hints']);
  }
  if (format === 'rfc5424' && nativeScan5424() !== null) {
    cases.push([`forced, no native`, (b) => (errors += forced.parse(b).parseErrors), 'none']);
    cases.push([`auto, no native`, (b) => (errors += auto.parse(b).parseErrors), 'none']);
  }
  const best = new Map<string, number>();
  for (let rep = -1; rep < REPS; rep++) {
    for (const [name, fn, native] of cases) {
      setStringHints(native !== 'none');
      setNative5424(native === undefined);
      setNativeJson(native === undefined);
      const t0 = process.hrtime.bigint();
      const n = run(chunks, fn);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (n !== records) throw new Error(`${format}/${name}: ${n} records, expected ${records}`);
      if (rep >= 0) best.set(name, Math.min(best.get(name) ?? Infinity, s));
    }
  }
  if (errors > 0) throw new Error(`${format}: ${errors} parse errors in a corpus that should parse cleanly`);
  const base = best.get(cases[0]![0])!;
  for (const [name] of cases) {
    const s = best.get(name)!;
    rows.push({
      format, case: name, records, seconds: s,
      recordsPerSec: records / s, mbPerSec: bytes / s / 1e6,
      ratio: base / s,
      parseNsPerRecord: name === cases[0]![0] ? null : ((s - base) / records) * 1e9,
    });
  }
  void sink;
}

if (JSON_OUT) console.log(JSON.stringify({ node: process.version, totalMiB: TOTAL / MiB, rows }, null, 2));
else {
  console.log(`parse throughput, one core, ${TOTAL / MiB} MiB per format, best of ${REPS} (node ${process.version})`);
  console.log('format   case                       records/s      MB/s   vs baseline   parse ns/record');
  for (const r of rows) {
    console.log(
      `${r.format.padEnd(8)} ${r.case.padEnd(25)} ${Math.round(r.recordsPerSec).toLocaleString('en-US').padStart(11)} ${r.mbPerSec.toFixed(0).padStart(8)}   ${r.ratio.toFixed(2).padStart(9)}   ${r.parseNsPerRecord === null ? '' : r.parseNsPerRecord.toFixed(0).padStart(10)}`,
    );
  }
}
