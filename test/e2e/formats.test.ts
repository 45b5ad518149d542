/**
 * End-to-end: the parse step (docs/record.md) over real sockets on 127.0.0.1.
 * node's net, dgram and zlib are the clients: they speak TCP, UDP and GELF's
 * compression exactly as senders do.
 *
 * One `ringlog serve` (started from a config file, as an operator would) holds every
 * listener these tests need; a second one with RINGLOG_NATIVE=off holds the datagram
 * listeners again, so the UDP tests (auto-detection, GELF decoding) run on both
 * datagram receive paths. The server runs with TZ=Asia/Kolkata (+05:30, no DST), so
 * an RFC 3164 timestamp (no zone) only comes out right if it is read in the server's
 * time zone.
 *
 * Each test counts exactly: the records written in all (ringlog_output_records_total
 * must reach exactly the number expected, so duplicates fail too), every field of every
 * record, and the per-listener counters of formats, parse errors and GELF drops.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { isDeepStrictEqual } from 'node:util';
import { startServer, type RinglogServer } from '../../bench/lib/server.js';
import { loadNative } from '../../src/native/dgram-receiver.js';
import {
  type NdjsonRecord, makeTempDir, outputReaches, pseudoRandomBytes, readNdjson, removeDir, sleep, uniqueId, waitFor,
} from './helpers.js';
import { closedWithin, connect, watchClose } from './lifecycle-helpers.js';

/** India Standard Time: +05:30 all year. */
const TZ = 'Asia/Kolkata';
const TZ_OFFSET_MIN = 330;
const MULTILINE_TIMEOUT_MS = 400;
const MULTILINE_MAX_LINES = 10;
const GELF_CHUNK_TIMEOUT_MS = 300;
const DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}';

const run = uniqueId();

// ---- servers ---------------------------------------------------------------------

interface Server {
  srv: RinglogServer;
  out: string;
  /** Records the output must hold by now (all listeners); re-read before each test, so a failed test does not fail the next ones. */
  total: number;
  /** Records all tests expected, never re-read: the last test checks the file against it (late duplicates fail there). */
  expected: number;
  /** Datagram receive path of this server. */
  mode: 'native' | 'fallback';
}

const dirs: string[] = [];
const servers: Server[] = [];
const clients: (net.Socket | dgram.Socket)[] = [];

async function start(name: string, listeners: object[], env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const dir = makeTempDir(`formats-${name}`);
  dirs.push(dir);
  const out = path.join(dir, 'records.ndjson');
  const cfg = path.join(dir, 'ringlog.json');
  writeFileSync(cfg, JSON.stringify({ listeners, gelf: { chunkTimeout: GELF_CHUNK_TIMEOUT_MS }, ndjson: { fsyncInterval: 20 } }, null, 2));
  const srv = await startServer({
    tcp: false, // a listener flag would replace the file's listeners
    output: `ndjson:${out}`,
    dataDir: path.join(dir, 'data'),
    args: ['-c', cfg],
    expectListeners: listeners.map((l) => (l as { name: string }).name),
    env: { ...process.env, TZ, ...env },
  });
  // The server says so when it cannot use the native receiver (not built, or RINGLOG_NATIVE=off).
  const mode = srv.stderr().includes('native datagram receiver not available') ? 'fallback' : 'native';
  const s: Server = { srv, out, total: 0, expected: 0, mode };
  servers.push(s);
  return s;
}

const local = '127.0.0.1:0';
const datagramListeners = [
  { type: 'udp', name: 'auto-udp', address: local },
  { type: 'udp', name: 'gelf-udp', address: local, format: 'gelf' },
];

let main: Server;
/** The datagram listeners on the per-datagram fallback path (RINGLOG_NATIVE=off). */
let fallback: Server;

before(async () => {
  [main, fallback] = await Promise.all([
    start('main', [
      { type: 'tcp', name: 'auto-tcp', address: local },
      ...datagramListeners,
      { type: 'tcp', name: 'json-tcp', address: local, format: 'json' },
      { type: 'tcp', name: 'gelf-tcp', address: local, format: 'gelf' },
      { type: 'tcp', name: 'ml-indent', address: local, multiline: { mode: 'indent', timeout: MULTILINE_TIMEOUT_MS, maxLines: MULTILINE_MAX_LINES } },
      { type: 'tcp', name: 'ml-pattern', address: local, multiline: { mode: 'pattern', pattern: DATE_PATTERN, timeout: MULTILINE_TIMEOUT_MS } },
      // A timeout that never fires during the run: only the shutdown can emit its pending record.
      { type: 'tcp', name: 'ml-slow', address: local, multiline: { mode: 'indent', timeout: '10m' } },
    ]),
    start('fallback', datagramListeners, { RINGLOG_NATIVE: 'off' }),
  ]);
  assert.equal(fallback.mode, 'fallback', 'RINGLOG_NATIVE=off selects the per-datagram path');
  assert.equal(main.mode, loadNative() ? 'native' : 'fallback', 'the main server uses the native receiver when it is built');
});

beforeEach(() => {
  for (const s of servers) if (s.srv.describeExit() === 'running') s.total = readNdjson(s.out).length;
});

after(async () => {
  for (const c of clients) {
    if ('destroy' in c) c.destroy();
    else {
      try {
        c.close();
      } catch {
        /* already closed */
      }
    }
  }
  await Promise.all(servers.map((s) => s.srv.stop()));
  for (const d of dirs) removeDir(d);
});

// ---- clients ---------------------------------------------------------------------

/** Writes each chunk (one write each), half-closes, waits for the server's close; returns our port. */
async function sendTcp(srv: RinglogServer, listener: string, ...chunks: (string | Buffer)[]): Promise<number> {
  const s = await connect(srv.address(listener).port);
  clients.push(s);
  const localPort = s.localPort!;
  const w = watchClose(s);
  for (const c of chunks) s.write(c);
  s.end();
  const info = await closedWithin(w, 10_000);
  assert.ok(info, `the server closed ${listener} after our FIN`);
  assert.equal(info.error, null, `no error on the ${listener} connection`);
  return localPort;
}

/** Sends each buffer as one datagram from one socket, in order; returns its port. */
async function sendUdp(srv: RinglogServer, listener: string, datagrams: Buffer[]): Promise<number> {
  const s = dgram.createSocket('udp4');
  clients.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve());
  });
  const port = s.address().port;
  const { port: to } = srv.address(listener);
  for (const d of datagrams) {
    await new Promise<void>((resolve, reject) => s.send(d, to, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  }
  s.close();
  return port;
}

// ---- records and metrics ------------------------------------------------------------

/** `n` more records are due; waits until exactly that many are written in all; returns every record. */
async function delivered(s: Server, n: number): Promise<NdjsonRecord[]> {
  s.total += n;
  s.expected += n;
  assert.equal(await outputReaches(s.srv, s.out, s.total, 10_000), s.total, 'records written in all (no more, no less)');
  const recs = readNdjson(s.out);
  assert.equal(recs.length, s.total, 'records in the output file');
  return recs;
}

const onListener = (recs: NdjsonRecord[], listener: string) => recs.filter((r) => r.source.listener === listener);

/** The one record of `listener` whose message is `message`. */
function only(recs: NdjsonRecord[], listener: string, message: string): NdjsonRecord {
  const found = recs.filter((r) => r.source.listener === listener && r.message === message);
  assert.equal(found.length, 1, `exactly one record on ${listener} with message ${JSON.stringify(message)}; got ${found.length}`);
  return found[0]!;
}

/** Marks an expected timestamp that must equal the record's receive time. */
const RECEIVED = 'received';

interface Expect {
  timestamp: string;
  host?: string;
  app?: string;
  procid?: string;
  msgid?: string;
  facility?: number;
  severity?: number;
  message: string;
  fields?: Record<string, string>;
}

/** Every field of the record, absent ones included, against `e` (facility/severity default user.notice). */
function assertRecord(r: NdjsonRecord, e: Expect, what: string): void {
  const got = {
    timestamp: r.timestamp, host: r.host, app: r.app, procid: r.procid, msgid: r.msgid,
    facility: r.facility, severity: r.severity, message: r.message, fields: r.fields ?? {},
  };
  const want = {
    timestamp: e.timestamp === RECEIVED ? r.received : e.timestamp, host: e.host, app: e.app, procid: e.procid, msgid: e.msgid,
    facility: e.facility ?? 1, severity: e.severity ?? 5, message: e.message, fields: e.fields ?? {},
  };
  if (!isDeepStrictEqual(got, want)) {
    // Long texts (hostile frames) cut for the report, with their lengths, so a failure stays readable.
    const cut = (o: object): unknown => JSON.parse(JSON.stringify(o, (_k, v: unknown) =>
      typeof v === 'string' && v.length > 300 ? `${v.slice(0, 300)}… (${v.length} chars)` : v));
    assert.deepEqual(cut(got), cut(want), what);
    assert.fail(`${what}: record differs from the expected one after the first 300 characters of a text`);
  }
  const age = Date.now() - Date.parse(r.received.slice(0, 23) + 'Z');
  assert.ok(age >= 0 && age < 60_000, `${what}: received ${r.received} is a receive time of this run`);
}

function assertSource(r: NdjsonRecord, listener: string, transport: string, localPort: number): void {
  assert.deepEqual(r.source, { transport, listener, peer: `127.0.0.1:${localPort}` });
}

/** label value → metric value, for the samples of `name` on `listener` that are not 0. */
async function counts(srv: RinglogServer, name: string, listener: string, label: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of await srv.metrics()) {
    if (m.name === name && m.labels['listener'] === listener && m.value !== 0) out[m.labels[label]!] = (out[m.labels[label]!] ?? 0) + m.value;
  }
  return out;
}
const formatCounts = (srv: RinglogServer, listener: string) => counts(srv, 'ringlog_records_parsed_total', listener, 'format');
const errorCounts = (srv: RinglogServer, listener: string) => counts(srv, 'ringlog_parse_errors_total', listener, 'reason');
const gelfDrops = (srv: RinglogServer, listener: string) => counts(srv, 'ringlog_gelf_dropped_total', listener, 'reason');

/** a + b, key by key. */
function plus(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

// ---- timestamps ---------------------------------------------------------------------

/** Whole seconds `n` seconds ago, ms since the epoch: event times near now (a time more than 7 days ahead would be replaced). */
const secondsAgo = (n: number) => Math.floor(Date.now() / 1000) * 1000 - n * 1000;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
/** The record form: RFC 3339 UTC with 9 fraction digits. */
const iso9 = (ms: number, frac = '') => `${new Date(ms).toISOString().slice(0, 19)}.${frac.padEnd(9, '0')}Z`;

/** RFC 3339 in the zone `offsetMin` east of UTC, e.g. 2026-11-22T15:30:00.123456789+05:30. */
function rfc3339(ms: number, offsetMin: number, frac: string): string {
  const d = new Date(ms + offsetMin * 60_000);
  const off = offsetMin === 0 ? 'Z' : `${offsetMin < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offsetMin) / 60))}:${pad(Math.abs(offsetMin) % 60)}`;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${frac ? '.' + frac : ''}${off}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** BSD syslog time `Mmm dd hh:mm:ss` (day space-padded) as a clock `offsetMin` east of UTC shows it. */
function bsdTime(ms: number, offsetMin: number): string {
  const d = new Date(ms + offsetMin * 60_000);
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

// ---- the five kinds of line an auto listener tells apart --------------------------------

interface Sample {
  line: string;
  expect: Expect;
}

/** One line of each format; `tag` keeps the messages of different tests apart. */
function autoSamples(tag: string): Sample[] {
  const t1 = secondsAgo(120);
  const t2 = secondsAgo(90);
  const t3 = secondsAgo(60);
  const t4 = secondsAgo(30);
  const m = (what: string) => `${what} ${tag} ${run}`;
  return [
    {
      // local4.notice; +01:00 offset and 9 fraction digits; SD with escapes and a param-less element; BOM before MSG.
      line: `<165>1 ${rfc3339(t1, 60, '123456789')} web-1.example.com my-app 8124 ID47 `
        + `[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][origin ip="10.0.0.1" note="a\\"b\\]c\\\\d"][meta@1] `
        + `\uFEFF${m('rfc5424 message')} ünïcödé ✓`,
      expect: {
        timestamp: iso9(t1, '123456789'), host: 'web-1.example.com', app: 'my-app', procid: '8124', msgid: 'ID47',
        facility: 20, severity: 5, message: `${m('rfc5424 message')} ünïcödé ✓`,
        fields: {
          'exampleSDID@32473.iut': '3', 'exampleSDID@32473.eventSource': 'Application', 'exampleSDID@32473.eventID': '1011',
          'origin.ip': '10.0.0.1', 'origin.note': 'a"b]c\\d', 'meta@1': '',
        },
      },
    },
    {
      // auth.crit, BSD time in the server's zone (+05:30), tag[pid].
      line: `<34>${bsdTime(t2, TZ_OFFSET_MIN)} host-b su[99]: ${m('rfc3164 message')}`,
      expect: { timestamp: iso9(t2), host: 'host-b', app: 'su', procid: '99', facility: 4, severity: 2, message: m('rfc3164 message') },
    },
    {
      // Time with a space and no offset (UTC); service → app; nested object flattened; other values as JSON text.
      line: JSON.stringify({
        time: new Date(t3).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '.25'), level: 'WARN', msg: m('json message'),
        hostname: 'h3', service: 'checkout', pid: 77, msgid: 'M1', req: { id: 7, path: '/x', user: { name: 'bob' } },
        tags: [1, 'two'], ok: true, nothing: null, ratio: 4.5,
      }),
      expect: {
        timestamp: iso9(t3, '25'), host: 'h3', app: 'checkout', procid: '77', msgid: 'M1', severity: 4, message: m('json message'),
        fields: { 'req.id': '7', 'req.path': '/x', 'req.user.name': 'bob', tags: '[1,"two"]', ok: 'true', nothing: 'null', ratio: '4.5' },
      },
    },
    {
      // logfmt: ts/level/msg/host/app/pid mapped; a quoted value with escapes; the rest fields.
      line: `ts=${rfc3339(t4, -300, '5')} level=error msg="${m('logfmt message')}" host=h4 app=billing pid=55 user=alice path="/a b \\"c\\"" latency_ms=12`,
      expect: {
        timestamp: iso9(t4, '5'), host: 'h4', app: 'billing', procid: '55', severity: 3, message: m('logfmt message'),
        fields: { user: 'alice', path: '/a b "c"', latency_ms: '12' },
      },
    },
    {
      // Neither syslog, JSON nor logfmt (its first token is not a pair): raw text, no parse_error.
      line: `plain text ${m('raw message')} with key=value inside`,
      expect: { timestamp: RECEIVED, message: `plain text ${m('raw message')} with key=value inside` },
    },
  ];
}

const AUTO_FORMATS = { syslog: 2, json: 1, logfmt: 1, raw: 1 };

// ---- GELF --------------------------------------------------------------------------

interface GelfSample {
  doc: Buffer;
  expect: Expect;
}

/**
 * A GELF 1.1 message: timestamp with ms, level, full_message (a stack trace, `lines`
 * lines long, so that chunking has something to split), additional fields, and the
 * deprecated facility/file/line.
 */
function gelf(what: string, lines = 3): GelfSample {
  const t = secondsAgo(45) + 678;
  const message = `gelf ${what} ${run}`;
  const full = Array.from({ length: lines }, (_, i) => (i === 0 ? `java.lang.RuntimeException: ${what}` : `\tat com.example.Frame${i}.call(Frame${i}.java:${i})`)).join('\n');
  const rest = {
    version: '1.1', host: `gelf-host-${what}`, short_message: message, full_message: full, level: 3,
    _user_id: 42, _env: 'prod', _request: `req-${what}`, facility: 'legacy-facility', file: '/src/app.c', line: 99,
  };
  // The timestamp as GELF writes it: seconds with a fraction (built by hand to fix the digits).
  const doc = `{"timestamp":${Math.floor(t / 1000)}.678,${JSON.stringify(rest).slice(1)}`;
  return {
    doc: Buffer.from(doc),
    expect: {
      timestamp: iso9(t, '678'), host: `gelf-host-${what}`, severity: 3, message,
      fields: { full_message: full, user_id: '42', env: 'prod', request: `req-${what}`, facility: 'legacy-facility', file: '/src/app.c', line: '99' },
    },
  };
}

/** GELF chunks (magic 1e 0f, 8-byte id, seq, count, data) of `payload`, in sequence order. */
function chunks(payload: Buffer, count: number, id: Buffer = randomBytes(8)): Buffer[] {
  const size = Math.ceil(payload.length / count);
  assert.ok(size * (count - 1) < payload.length, 'every chunk carries data');
  return Array.from({ length: count }, (_, seq) =>
    Buffer.concat([Buffer.from([0x1e, 0x0f]), id, Buffer.from([seq, count]), payload.subarray(seq * size, (seq + 1) * size)]));
}

// ---- tests ---------------------------------------------------------------------------

describe('auto-detection on a TCP listener', () => {
  it('one connection, five formats: every field of every record, counted per format', async () => {
    const samples = autoSamples('tcp');
    const port = await sendTcp(main.srv, 'auto-tcp', samples.map((s) => s.line).join('\n') + '\n');
    const recs = onListener(await delivered(main, samples.length), 'auto-tcp');
    assert.deepEqual(recs.map((r) => r.message), samples.map((s) => s.expect.message), 'one record per line, in order');
    samples.forEach((s, i) => {
      assertRecord(recs[i]!, s.expect, `line ${i + 1}: ${s.line.slice(0, 60)}`);
      assertSource(recs[i]!, 'auto-tcp', 'tcp', port);
    });
    assert.deepEqual(await formatCounts(main.srv, 'auto-tcp'), AUTO_FORMATS);
    assert.deepEqual(await errorCounts(main.srv, 'auto-tcp'), {});
  });
});

for (const which of ['main', 'fallback'] as const) {
  const S = () => (which === 'main' ? main : fallback);

  describe(`datagrams (${which} server)`, () => {
    it('auto-detection on UDP: one datagram per line, every field checked; a zlib GELF datagram is decoded too', async (t) => {
      const s = S();
      t.diagnostic(`datagram path: ${s.mode}`);
      const samples = autoSamples(`udp-${which}`);
      const g = gelf(`auto-${which}`);
      // A datagram ends where it ends: a trailing LF (or none) is not part of the message.
      const datagrams = samples.map((x, i) => Buffer.from(i % 2 === 0 ? x.line + '\n' : x.line));
      datagrams.push(zlib.deflateSync(g.doc));
      const port = await sendUdp(s.srv, 'auto-udp', datagrams);
      const recs = await delivered(s, datagrams.length);
      for (const x of [...samples, g]) {
        const r = only(recs, 'auto-udp', x.expect.message);
        assertRecord(r, x.expect, x.expect.message);
        assertSource(r, 'auto-udp', 'udp', port);
      }
      // GELF JSON on an auto listener is detected as json.
      assert.deepEqual(await formatCounts(s.srv, 'auto-udp'), plus(AUTO_FORMATS, { json: 1 }));
      assert.deepEqual(await errorCounts(s.srv, 'auto-udp'), {});
      assert.deepEqual(await gelfDrops(s.srv, 'auto-udp'), {});
    });

    it('GELF over UDP: plain, zlib, gzip, chunked out of order, chunked + compressed (interleaved)', async () => {
      const s = S();
      const plain = gelf(`plain-${which}`);
      const deflated = gelf(`zlib-${which}`);
      const gzipped = gelf(`gzip-${which}`);
      const chunked = gelf(`chunked-${which}`, 60);
      const chunkedZlib = gelf(`chunked-zlib-${which}`, 400);
      const chunkedGzip = gelf(`chunked-gzip-${which}`, 400);
      const c1 = chunks(chunked.doc, 4);
      const c2 = chunks(zlib.deflateSync(chunkedZlib.doc), 3);
      const c3 = chunks(zlib.gzipSync(chunkedGzip.doc), 2);
      assert.ok(c2.every((c) => c.length > 1000) && c1.every((c) => c.length > 500), 'the chunks are real chunks');
      const port = await sendUdp(s.srv, 'gelf-udp', [
        plain.doc,
        zlib.deflateSync(deflated.doc),
        zlib.gzipSync(gzipped.doc),
        // Out of order, and the three chunked messages interleaved.
        c1[2]!, c2[2]!, c1[0]!, c3[1]!, c2[0]!, c1[3]!, c3[0]!, c2[1]!, c1[1]!,
      ]);
      const all = [plain, deflated, gzipped, chunked, chunkedZlib, chunkedGzip];
      const recs = await delivered(s, all.length);
      for (const g of all) {
        const r = only(recs, 'gelf-udp', g.expect.message);
        assertRecord(r, g.expect, g.expect.message);
        assertSource(r, 'gelf-udp', 'udp', port);
      }
      assert.equal(onListener(recs, 'gelf-udp').length, all.length);
      assert.deepEqual(await formatCounts(s.srv, 'gelf-udp'), { gelf: all.length });
      assert.deepEqual(await errorCounts(s.srv, 'gelf-udp'), {});
      assert.deepEqual(await gelfDrops(s.srv, 'gelf-udp'), {}, 'nothing dropped');
    });

    it('GELF over UDP: the same message id from two senders is two messages; a duplicate chunk is counted and ignored', async () => {
      const s = S();
      const a = gelf(`same-id-a-${which}`, 40);
      const b = gelf(`same-id-b-${which}`, 40);
      const id = randomBytes(8);
      const ca = chunks(a.doc, 2, id);
      const cb = chunks(b.doc, 2, id);
      // Two client sockets: the decoder keys pending messages by (peer, id).
      const sa = dgram.createSocket('udp4');
      const sb = dgram.createSocket('udp4');
      clients.push(sa, sb);
      await Promise.all([sa, sb].map((x) => new Promise<void>((r) => x.bind(0, '127.0.0.1', () => r()))));
      const to = s.srv.address('gelf-udp').port;
      const send = (x: dgram.Socket, d: Buffer) => new Promise<void>((r, j) => x.send(d, to, '127.0.0.1', (err) => (err ? j(err) : r())));
      await send(sa, ca[0]!);
      await send(sb, cb[1]!);
      await send(sa, ca[0]!); // duplicate
      await send(sa, ca[1]!);
      await send(sb, cb[0]!);
      const ports = [sa.address().port, sb.address().port];
      sa.close();
      sb.close();
      const recs = await delivered(s, 2);
      [a, b].forEach((g, k) => {
        const r = only(recs, 'gelf-udp', g.expect.message);
        assertRecord(r, g.expect, g.expect.message);
        assertSource(r, 'gelf-udp', 'udp', ports[k]!);
      });
      assert.deepEqual(await gelfDrops(s.srv, 'gelf-udp'), { duplicate_chunk: 1 });
    });

    it('GELF over UDP: a message larger than maxFrame after reassembly or decompression (within gelf.maxMessage) is one parsed record', async () => {
      const s = S();
      const dropsBefore = await gelfDrops(s.srv, 'gelf-udp');
      const chunked = gelf(`big-chunked-${which}`, 2_500); // ~110 KB in 14 chunks of ~8 KB
      const deflated = gelf(`big-zlib-${which}`, 7_000); // ~310 KB, a few KB compressed: larger than the datagram arena too
      assert.ok(chunked.doc.length > 100_000 && deflated.doc.length > 300_000);
      const z = zlib.deflateSync(deflated.doc);
      assert.ok(z.length < 60_000, 'the compressed message fits in one datagram');
      const port = await sendUdp(s.srv, 'gelf-udp', [...chunks(chunked.doc, 14).reverse(), z]);
      const recs = await delivered(s, 2);
      for (const g of [chunked, deflated]) {
        const r = only(recs, 'gelf-udp', g.expect.message);
        assertRecord(r, g.expect, g.expect.message);
        assertSource(r, 'gelf-udp', 'udp', port);
      }
      assert.deepEqual(await gelfDrops(s.srv, 'gelf-udp'), dropsBefore, 'nothing dropped');
      assert.deepEqual(await errorCounts(s.srv, 'gelf-udp'), {});
    });

    it('GELF over UDP: a chunk set that never completes expires after gelf.chunkTimeout; the listener goes on', async () => {
      const s = S();
      const lost = gelf(`expired-${which}`, 50);
      const parts = chunks(lost.doc, 3);
      const t0 = Date.now();
      await sendUdp(s.srv, 'gelf-udp', [parts[0]!, parts[2]!]);
      await waitFor('ringlog_gelf_dropped_total{reason="expired"} = 1', async () => (await gelfDrops(s.srv, 'gelf-udp'))['expired'] === 1, {
        timeoutMs: 10 * GELF_CHUNK_TIMEOUT_MS + 2_000, intervalMs: 25,
        describe: async () => JSON.stringify(await gelfDrops(s.srv, 'gelf-udp')),
      });
      const waited = Date.now() - t0;
      assert.ok(waited >= GELF_CHUNK_TIMEOUT_MS, `expired after the chunk timeout (${waited} ms ≥ ${GELF_CHUNK_TIMEOUT_MS} ms)`);
      await waitFor('the expiry warning on stderr', () => /msg="GELF datagram dropped".*reason=expired/.test(s.srv.stderr()), { timeoutMs: 5_000 });
      // A complete message after it arrives; the expired one left no record.
      const next = gelf(`after-expiry-${which}`);
      await sendUdp(s.srv, 'gelf-udp', [next.doc]);
      const recs = await delivered(s, 1);
      assertRecord(only(recs, 'gelf-udp', next.expect.message), next.expect, 'the message after the expired one');
      assert.equal(recs.filter((r) => r.message.includes(`expired-${which}`)).length, 0, 'no record of the incomplete message');
      assert.deepEqual(await gelfDrops(s.srv, 'gelf-udp'), { duplicate_chunk: 1, expired: 1 });
    });

    it('hostile datagrams: each becomes a record or a counted GELF drop, never a crash', async () => {
      const s = S();
      const before = await errorCounts(s.srv, 'auto-udp');
      const formatsBefore = await formatCounts(s.srv, 'auto-udp');
      const tag = `hostile-udp-${which}-${run}`;
      const binary = garbage(700, 0xfeed);
      const datagrams: Buffer[] = [
        binary,
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(` invalid utf-8 ${tag}`)]),
        Buffer.from(`<999> bad pri ${tag}`),
        Buffer.from(`{"unterminated ${tag}`),
        Buffer.concat([Buffer.from([0x78, 0x9c]), Buffer.from(`not really zlib ${tag}`)]), // decompress_failed
        Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from(`not really gzip ${tag}`)]), // decompress_failed
        Buffer.from([0x1e, 0x0f, 1, 2, 3]), // bad_chunk: shorter than the header
        Buffer.concat([Buffer.from([0x1e, 0x0f]), randomBytes(8), Buffer.from([5, 2]), Buffer.from('seq past count')]), // bad_chunk
      ];
      await sendUdp(s.srv, 'auto-udp', datagrams);
      const recs = await delivered(s, 4);
      // Raw text: a frame starting with a byte ≥ 0x80 is neither syslog, JSON nor logfmt.
      assertRecord(only(recs, 'auto-udp', binary.toString('utf8')), { timestamp: RECEIVED, message: binary.toString('utf8') }, 'random binary');
      const bad = `\ufffd\ufffd invalid utf-8 ${tag}`;
      assertRecord(only(recs, 'auto-udp', bad), { timestamp: RECEIVED, message: bad }, 'invalid UTF-8');
      assertRecord(only(recs, 'auto-udp', `<999> bad pri ${tag}`), { timestamp: RECEIVED, message: `<999> bad pri ${tag}`, fields: { parse_error: 'invalid_pri' } }, '<999>');
      assertRecord(only(recs, 'auto-udp', `{"unterminated ${tag}`), { timestamp: RECEIVED, message: `{"unterminated ${tag}`, fields: { parse_error: 'invalid_json' } }, 'unterminated JSON');
      assert.deepEqual(await errorCounts(s.srv, 'auto-udp'), plus(before, { invalid_pri: 1, invalid_json: 1 }));
      assert.deepEqual(await formatCounts(s.srv, 'auto-udp'), plus(formatsBefore, { raw: 2, syslog: 1, json: 1 }));
      assert.deepEqual(await gelfDrops(s.srv, 'auto-udp'), { decompress_failed: 2, bad_chunk: 2 });
      const h = await s.srv.healthz();
      assert.equal(h.status, 200);
      assert.equal(s.srv.describeExit(), 'running');
    });
  });
}

describe('a listener with a forced format', () => {
  it('format json: a frame that is not JSON becomes a raw record with parse_error, the frames around it are intact', async () => {
    const lines = [
      JSON.stringify({ msg: `first ${run}`, level: 'info', k: 1 }),
      `this is not json ${run}`,
      JSON.stringify({ msg: `second ${run}`, level: 'debug', k: 2 }),
      `<13>Nov 22 10:00:00 host app: syslog on a json listener ${run}`,
      JSON.stringify({ msg: `third ${run}`, level: 'error', k: 3 }),
    ];
    const port = await sendTcp(main.srv, 'json-tcp', lines.join('\n') + '\n');
    const recs = onListener(await delivered(main, lines.length), 'json-tcp');
    assert.equal(recs.length, lines.length);
    const expected: Expect[] = [
      { timestamp: RECEIVED, severity: 6, message: `first ${run}`, fields: { k: '1' } },
      { timestamp: RECEIVED, message: lines[1]!, fields: { parse_error: 'invalid_json' } },
      { timestamp: RECEIVED, severity: 7, message: `second ${run}`, fields: { k: '2' } },
      { timestamp: RECEIVED, message: lines[3]!, fields: { parse_error: 'invalid_json' } },
      { timestamp: RECEIVED, severity: 3, message: `third ${run}`, fields: { k: '3' } },
    ];
    expected.forEach((e, i) => {
      assertRecord(recs[i]!, e, `frame ${i + 1}`);
      assertSource(recs[i]!, 'json-tcp', 'tcp', port);
    });
    assert.deepEqual(await formatCounts(main.srv, 'json-tcp'), { json: 5 });
    assert.deepEqual(await errorCounts(main.srv, 'json-tcp'), { invalid_json: 2 });
  });

  it('format gelf over TCP: NUL-terminated frames (also NUL + LF, and split across writes); no short_message is invalid_gelf', async () => {
    const a = gelf('tcp-a');
    const b = gelf('tcp-b', 20);
    const c = gelf('tcp-c');
    const notGelf = JSON.stringify({ version: '1.1', host: 'x', message: `no short_message ${run}` });
    const half = Math.floor(c.doc.length / 2);
    const port = await sendTcp(main.srv, 'gelf-tcp',
      Buffer.concat([a.doc, Buffer.from('\0'), b.doc, Buffer.from('\0\n')]),
      c.doc.subarray(0, half),
      Buffer.concat([c.doc.subarray(half), Buffer.from('\0'), Buffer.from(notGelf), Buffer.from('\0')]));
    const recs = onListener(await delivered(main, 4), 'gelf-tcp');
    assert.equal(recs.length, 4);
    [a, b, c].forEach((g, i) => {
      assertRecord(recs[i]!, g.expect, g.expect.message);
      assertSource(recs[i]!, 'gelf-tcp', 'tcp', port);
    });
    assertRecord(recs[3]!, { timestamp: RECEIVED, message: notGelf, fields: { parse_error: 'invalid_gelf' } }, 'JSON without short_message');
    assert.deepEqual(await formatCounts(main.srv, 'gelf-tcp'), { gelf: 4 });
    assert.deepEqual(await errorCounts(main.srv, 'gelf-tcp'), { invalid_gelf: 1 });
  });
});

describe('multiline', () => {
  const javaTrace = (what: string) => [
    `Exception in thread "main" java.lang.IllegalStateException: ${what} ${run}`,
    '\tat com.example.Service.handle(Service.java:42)',
    '\tat com.example.Main.main(Main.java:7)',
    'Caused by: java.io.IOException: disk gone',
    '\tat com.example.Disk.read(Disk.java:99)',
    '\t... 2 more',
  ];

  it('indent: a Java stack trace sent as raw lines is one record (lines joined with \\n), the next line another', async () => {
    const trace = javaTrace('indent');
    const after = `2026-11-22 10:00:00 INFO the next line ${run}`;
    const port = await sendTcp(main.srv, 'ml-indent', [...trace, after].join('\n') + '\n');
    const recs = onListener(await delivered(main, 2), 'ml-indent');
    assert.deepEqual(recs.map((r) => r.message), [trace.join('\n'), after]);
    assertRecord(recs[0]!, { timestamp: RECEIVED, message: trace.join('\n') }, 'the trace');
    assertRecord(recs[1]!, { timestamp: RECEIVED, message: after }, 'the line after it');
    for (const r of recs) assertSource(r, 'ml-indent', 'tcp', port);
  });

  it('indent: maxLines bounds a record; what follows goes on in the next record', async () => {
    const n = 2 * MULTILINE_MAX_LINES + 5;
    const lines = [`header of a long trace ${run}`, ...Array.from({ length: n - 1 }, (_, i) => `  frame ${i + 1}`)];
    await sendTcp(main.srv, 'ml-indent', lines.join('\n') + '\n');
    const recs = onListener(await delivered(main, 3), 'ml-indent').slice(-3);
    assert.deepEqual(recs.map((r) => r.message), [
      lines.slice(0, MULTILINE_MAX_LINES).join('\n'),
      lines.slice(MULTILINE_MAX_LINES, 2 * MULTILINE_MAX_LINES).join('\n'),
      lines.slice(2 * MULTILINE_MAX_LINES).join('\n'),
    ]);
    for (const r of recs) assert.equal(r.fields, undefined, 'a record cut at maxLines is not flagged truncated');
  });

  it('indent: the timeout emits a pending record when the sender goes quiet without closing', async () => {
    const trace = [
      'Traceback (most recent call last):',
      '  File "/srv/app.py", line 12, in <module>',
      '    main()',
      `ValueError: quiet sender ${run}`,
    ];
    const s = await connect(main.srv.address('ml-indent').port);
    clients.push(s);
    const w = watchClose(s);
    const t0 = Date.now();
    s.write(trace.join('\n') + '\n');
    // Before the timeout the record is still pending: the next line could continue it.
    await sleep(MULTILINE_TIMEOUT_MS / 2);
    assert.equal(readNdjson(main.out).filter((r) => r.message.includes(`quiet sender ${run}`)).length, 0, 'not emitted before the timeout');
    const recs = await delivered(main, 1);
    const waited = Date.now() - t0;
    assert.ok(waited >= MULTILINE_TIMEOUT_MS, `emitted after the timeout (${waited} ms ≥ ${MULTILINE_TIMEOUT_MS} ms)`);
    assertRecord(only(recs, 'ml-indent', trace.join('\n')), { timestamp: RECEIVED, message: trace.join('\n') }, 'the Python traceback');
    // The connection is still open and goes on.
    assert.equal(w.isClosed(), false, 'the server did not close the quiet connection');
    const last = `after the quiet spell ${run}`;
    s.end(last + '\n');
    assert.ok(await closedWithin(w, 10_000), 'closed after our FIN');
    assertRecord(only(await delivered(main, 1), 'ml-indent', last), { timestamp: RECEIVED, message: last }, 'the line after the quiet spell');
  });

  it('pattern: a line matching the start pattern begins a record; everything else (indented or not) continues it', async () => {
    const lines = [
      `2026-11-22 10:00:00 ERROR request failed ${run}`,
      'java.lang.RuntimeException: not indented, still part of it',
      '\tat com.example.Handler.run(Handler.java:1)',
      `2026-11-22 10:00:01 INFO second record ${run}`,
      '  continued',
      `2026-11-22 10:00:02 INFO third record ${run}`,
    ];
    const port = await sendTcp(main.srv, 'ml-pattern', lines.join('\n') + '\n');
    const recs = onListener(await delivered(main, 3), 'ml-pattern');
    assert.deepEqual(recs.map((r) => r.message), [lines.slice(0, 3).join('\n'), lines.slice(3, 5).join('\n'), lines[5]]);
    for (const r of recs) {
      assertRecord(r, { timestamp: RECEIVED, message: r.message }, 'pattern record');
      assertSource(r, 'ml-pattern', 'tcp', port);
    }
  });

  it('pattern: the timeout also flushes a pending record of a quiet sender', async () => {
    const lines = [`2026-11-22 10:00:03 WARN pending ${run}`, 'more of it'];
    const s = await connect(main.srv.address('ml-pattern').port);
    clients.push(s);
    const w = watchClose(s);
    const t0 = Date.now();
    s.write(lines.join('\n') + '\n');
    const recs = await delivered(main, 1);
    assert.ok(Date.now() - t0 >= MULTILINE_TIMEOUT_MS, 'emitted after the timeout');
    only(recs, 'ml-pattern', lines.join('\n'));
    assert.equal(w.isClosed(), false);
    s.destroy();
  });
});

/** Deterministic pseudo-random bytes (xorshift32) with no LF, CR or NUL, the first ≥ 0x80: one raw frame. */
function garbage(n: number, seed: number): Buffer {
  const b = pseudoRandomBytes(n, seed);
  for (let i = 0; i < n; i++) if (b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x00) b[i] = 0xfe;
  b[0] = 0x80 | b[0]!;
  return b;
}

describe('hostile bytes on the auto TCP listener', () => {
  it('random binary, invalid UTF-8, bad syslog, broken JSON: one record each (raw with parse_error where due); /healthz stays 200', async () => {
    const errorsBefore = await errorCounts(main.srv, 'auto-tcp');
    const tag = `hostile-tcp-${run}`;
    const frames: { bytes: Buffer; expect: Expect }[] = [];
    const raw = (bytes: Buffer, reason?: string) => {
      const message = bytes.toString('utf8');
      frames.push({ bytes, expect: { timestamp: RECEIVED, message, ...(reason ? { fields: { parse_error: reason } } : {}) } });
    };
    for (let k = 0; k < 3; k++) raw(garbage(400 + k * 100, 0x5eed0 + k));
    raw(Buffer.concat([Buffer.from([0xff, 0xfe, 0xc0, 0xaf]), Buffer.from(` invalid utf-8 ${tag} `), Buffer.from([0xe2, 0x82])]));
    raw(Buffer.from(`<999>${tag}`), 'invalid_pri');
    raw(Buffer.from(`<>${tag}`), 'invalid_pri');
    raw(Buffer.from(`{"unterminated ${tag}`), 'invalid_json');
    raw(Buffer.from(`{"a":1} trailing garbage ${tag}`), 'invalid_json');
    raw(Buffer.from(`<165>1 2026-13-45T99:00:00Z host app - - - bad timestamp ${tag}`), 'invalid_timestamp');
    raw(Buffer.from(`<165>1 - host app - - [unclosed sd ${tag}`), 'invalid_structured_data');
    raw(Buffer.from(' \t '), 'empty');
    raw(Buffer.from([0x1e, 0x0f, 0x41, 0x42, 0x43])); // GELF chunk magic means nothing on a stream
    // PRI valid, the rest invalid UTF-8 and no timestamp: RFC 3164 keeps all after the PRI as the message.
    const after = Buffer.concat([Buffer.from([0xf0, 0x28, 0x8c, 0x28]), Buffer.from(` after pri ${tag}`)]);
    frames.push({ bytes: Buffer.concat([Buffer.from('<13>'), after]), expect: { timestamp: RECEIVED, message: after.toString('utf8') } });
    // 500 nested arrays: a field holding their JSON text.
    const deep = '['.repeat(500) + ']'.repeat(500);
    frames.push({ bytes: Buffer.from(`{"msg":"deep ${tag}","a":${deep}}`), expect: { timestamp: RECEIVED, message: `deep ${tag}`, fields: { a: deep } } });
    // 20,000 nested arrays (40 KB), past the scanner's nesting bound (512): raw, invalid_json; no stack overflow.
    raw(Buffer.from(`{"msg":"too deep ${tag}","a":${'['.repeat(20_000)}${']'.repeat(20_000)}}`), 'invalid_json');

    const port = await sendTcp(main.srv, 'auto-tcp', Buffer.concat(frames.flatMap((f) => [f.bytes, Buffer.from('\n')])));
    const recs = onListener(await delivered(main, frames.length), 'auto-tcp').slice(-frames.length);
    frames.forEach((f, i) => {
      assertRecord(recs[i]!, f.expect, `hostile frame ${i + 1}: ${JSON.stringify(f.bytes.subarray(0, 40).toString('latin1'))}`);
      assertSource(recs[i]!, 'auto-tcp', 'tcp', port);
    });
    assert.deepEqual(await errorCounts(main.srv, 'auto-tcp'), plus(errorsBefore, {
      invalid_pri: 2, invalid_json: 3, invalid_timestamp: 1, invalid_structured_data: 1, empty: 1,
    }));
    assert.equal(await main.srv.metric('ringlog_parse_errors_total', { listener: 'auto-tcp', reason: 'internal_error' }), 0, 'no parser threw');
    const h = await main.srv.healthz();
    assert.equal(h.status, 200, `/healthz: ${h.body}`);
    assert.equal(main.srv.describeExit(), 'running');
    // And a normal line on a new connection is parsed as before.
    const ok = autoSamples('after-hostile')[0]!;
    await sendTcp(main.srv, 'auto-tcp', ok.line + '\n');
    assertRecord(only(await delivered(main, 1), 'auto-tcp', ok.expect.message), ok.expect, 'RFC 5424 after the hostile input');
  });
});

describe('shutdown', () => {
  it('a graceful stop emits the pending multiline record of an open, quiet connection', async () => {
    const trace = [`java.lang.OutOfMemoryError: pending at shutdown ${run}`, '\tat com.example.Cache.grow(Cache.java:12)'];
    const text = trace.join('\n') + '\n';
    const s = await connect(main.srv.address('ml-slow').port);
    clients.push(s);
    s.on('error', () => {}); // the server closes it at shutdown
    s.write(text);
    await main.srv.waitForMetric('ringlog_received_bytes_total', Buffer.byteLength(text), { labels: { listener: 'ml-slow' }, timeoutMs: 5_000 });
    await sleep(100);
    assert.equal(readNdjson(main.out).filter((r) => r.source.listener === 'ml-slow').length, 0, 'still pending (timeout 10m)');
    assert.equal(await main.srv.stop(), 0, 'clean exit');
    const recs = readNdjson(main.out);
    assert.equal(recs.length, main.expected + 1, 'every record all tests expected, the pending one, and nothing else');
    assertRecord(only(recs, 'ml-slow', trace.join('\n')), { timestamp: RECEIVED, message: trace.join('\n') }, 'the record pending at shutdown');
  });
});
