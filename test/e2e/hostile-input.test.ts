/**
 * Hostile input over real sockets: binary garbage, invalid UTF-8, NUL bytes, a
 * 10 MB line, bad octet counts, an oversize UDP datagram, a half frame left idle.
 * After each, the server is still healthy and a normal line on a new connection
 * arrives; the server process never exits.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import type net from 'node:net';
import path from 'node:path';
import { startServer, type RinglogServer } from '../../bench/lib/server.js';
import {
  assertHealthy,
  assertLineArrives,
  closedWithin,
  connect,
  readRecords,
  removeDir,
  tempDir,
  waitForRecord,
  waitUntil,
  watchClose,
  withTimeout,
  type NdjsonRecord,
} from './lifecycle-helpers.js';
import { pseudoRandomBytes as garbage } from './helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const servers: RinglogServer[] = [];
const sockets: net.Socket[] = [];
const dirs: string[] = [];

after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => s.kill()));
  for (const d of dirs) removeDir(d);
});

interface Started {
  srv: RinglogServer;
  out: string;
  port: number;
}

async function start(args: string[], udp = false): Promise<Started> {
  const dir = tempDir('hostile');
  dirs.push(dir);
  const out = path.join(dir, 'out.ndjson');
  // --format raw: these tests are about framing, so a record's message is the whole frame.
  const srv = await startServer({ dataDir: dir, output: `ndjson:${out}`, args: ['--format', 'raw', ...args], udp });
  servers.push(srv);
  return { srv, out, port: srv.address('tcp').port };
}

/** One server takes all the abuse in sequence (each test leaves it healthy for the next). */
let shared: Started | null = null;
async function sharedServer(): Promise<Started> {
  shared ??= await start(['--max-frame', '64KiB', '--idle-timeout', '1s']);
  return shared;
}

let probe = 0;
/** The server is up, /healthz is 200, and a normal line on a new connection arrives. */
async function assertStillServing(s: Started): Promise<void> {
  await assertHealthy(s.srv);
  await assertLineArrives(s.srv, s.out, `normal line after hostile input #${++probe}`);
  assert.equal(s.srv.describeExit(), 'running');
}

/** Sends `data` on a new connection, FIN, and waits for the server's close. */
async function sendRaw(port: number, data: Buffer | string): Promise<{ localPort: number }> {
  const s = await connect(port);
  sockets.push(s);
  const localPort = s.localPort!;
  const w = watchClose(s);
  s.end(data);
  const info = await closedWithin(w, 20_000);
  assert.ok(info, 'the server closed the connection after our FIN');
  return { localPort };
}

function recordsAfter(out: string, n: number): NdjsonRecord[] {
  return readRecords(out).slice(n);
}

test('5 MB of random binary garbage over TCP: every record is valid JSON, no frame over max-frame, server unharmed', { timeout: 30_000 }, async () => {
  const s = await sharedServer();
  const bytesBefore = await s.srv.metric('ringlog_received_bytes_total');
  const recsBefore = readRecords(s.out).length;
  await sendRaw(s.port, garbage(5 * MiB, 0x5eed1234));
  await s.srv.waitForMetric('ringlog_received_bytes_total', bytesBefore + 5 * MiB, { timeoutMs: 10_000 });
  await assertStillServing(s);
  // readRecords throws on any line that is not JSON.
  const recs = recordsAfter(s.out, recsBefore).filter((r) => !r.message.startsWith('normal line after'));
  assert.ok(recs.length > 100, `garbage is framed into records (${recs.length})`);
  for (const r of recs) {
    assert.ok(r.message.length <= 64 * KiB, `no record longer than max-frame (${r.message.length})`);
    assert.equal(r.source.transport, 'tcp');
  }
});

test('invalid UTF-8: stored as valid JSON, invalid sequences replaced by U+FFFD, the valid text kept', { timeout: 20_000 }, async () => {
  const s = await sharedServer();
  const frames = [
    Buffer.from([0x3c, 0x31, 0x33, 0x3e, 0xff, 0xfe, 0x41]), // <13> + bytes never valid in UTF-8 + A
    Buffer.from([0x6f, 0x76, 0x65, 0x72, 0x6c, 0x6f, 0x6e, 0x67, 0x20, 0xc0, 0xaf]), // overlong "/"
    Buffer.from([0x6c, 0x6f, 0x6e, 0x65, 0x20, 0x80, 0x20, 0x63, 0x6f, 0x6e, 0x74]), // lone continuation byte
    Buffer.from([0x63, 0x75, 0x74, 0x20, 0xe2, 0x82]), // truncated 3-byte sequence at the end of the frame
    Buffer.from([0x73, 0x75, 0x72, 0x72, 0x20, 0xed, 0xa0, 0x80]), // UTF-16 surrogate encoded in UTF-8
    Buffer.from('valid ünïcödé ✓ 🎉', 'utf8'),
  ];
  const before = readRecords(s.out).length;
  await sendRaw(s.port, Buffer.concat(frames.flatMap((f) => [f, Buffer.from('\n')])));
  const expected = frames.map((f) => f.toString('utf8'));
  await waitForRecord(s.out, (r) => r.message === expected.at(-1), 'the last UTF-8 frame');
  const got = recordsAfter(s.out, before).map((r) => r.message);
  assert.deepEqual(got, expected);
  assert.ok(got.slice(0, 5).every((m) => m.includes('\ufffd')), 'each invalid sequence shows as U+FFFD');
  assert.equal(got[5], 'valid ünïcödé ✓ 🎉');
  await assertStillServing(s);
});

test('NUL bytes: a frame delimiter by default', { timeout: 20_000 }, async () => {
  const s = await sharedServer();
  const before = readRecords(s.out).length;
  await sendRaw(s.port, 'nul one\0nul two\0\0\0nul three\n');
  await waitForRecord(s.out, (r) => r.message === 'nul three', 'the frame after the NULs');
  assert.deepEqual(recordsAfter(s.out, before).map((r) => r.message), ['nul one', 'nul two', 'nul three']);
  await assertStillServing(s);
});

test('NUL bytes with --no-nul-delimiter: kept inside the frame', { timeout: 20_000 }, async () => {
  const s = await start(['--no-nul-delimiter']);
  await sendRaw(s.port, 'nul\0inside\0\0frame\nnext\n');
  const recs = await waitForRecord(s.out, (r) => r.message === 'next', 'the frame after');
  assert.deepEqual(recs.map((r) => r.message), ['nul\0inside\0\0frame', 'next']);
  await assertStillServing(s);
});

/** 10 MiB of 'a' then LF, then one more line on the same connection. */
function tenMegabyteLine(): Buffer {
  const b = Buffer.alloc(10 * MiB + 1, 0x61);
  b[b.length - 1] = 0x0a;
  return Buffer.concat([b, Buffer.from('line after the huge one\n')]);
}

test('a 10 MB line with --max-frame 64KiB: one record of 65536 bytes flagged truncated, logged with the peer', { timeout: 30_000 }, async () => {
  const s = await start(['--max-frame', '64KiB']);
  const { localPort } = await sendRaw(s.port, tenMegabyteLine());
  const recs = await waitForRecord(s.out, (r) => r.message === 'line after the huge one', 'the line after the huge one');
  assert.equal(recs.length, 2);
  const big = recs[0]!;
  assert.equal(big.truncated, true);
  assert.equal(Buffer.byteLength(big.message), 65536);
  assert.equal(big.message, 'a'.repeat(65536));
  assert.equal(recs[1]!.truncated, undefined, 'the stream re-synchronises after the long line');
  assert.equal(await s.srv.metric('ringlog_frames_truncated_total'), 1);
  await waitUntil(() => /frame longer than max-frame truncated/.test(s.srv.stderr()), 'the truncation warning on stderr', 5_000);
  const line = s.srv.stderr().split('\n').find((l) => l.includes('frame longer than max-frame truncated'))!;
  assert.match(line, new RegExp(`peer=127\\.0\\.0\\.1:${localPort}\\b`), `the warning names the peer 127.0.0.1:${localPort}: ${line}`);
  assert.match(line, /max_frame=65536\b/);
  assert.match(line, /level=warn/);
  await assertStillServing(s);
});

test('a 10 MB line with --on-oversize drop: no record, counted as dropped (oversize)', { timeout: 30_000 }, async () => {
  const s = await start(['--max-frame', '64KiB', '--on-oversize', 'drop']);
  const { localPort } = await sendRaw(s.port, tenMegabyteLine());
  const recs = await waitForRecord(s.out, (r) => r.message === 'line after the huge one', 'the line after the huge one');
  assert.deepEqual(recs.map((r) => r.message), ['line after the huge one'], 'the oversize frame left no record');
  assert.equal(await s.srv.metric('ringlog_dropped_total', { reason: 'oversize' }), 1);
  assert.equal(await s.srv.metric('ringlog_frames_truncated_total'), 0);
  await waitUntil(() => /frame longer than max-frame dropped/.test(s.srv.stderr()), 'the drop warning on stderr', 5_000);
  assert.match(s.srv.stderr(), new RegExp(`frame longer than max-frame dropped.*peer=127\\.0\\.0\\.1:${localPort}\\b`));
  await assertStillServing(s);
});

test('bad octet counts (negative, 14 digits, non-numeric) fall back to LF frames; the stream stays in sync', { timeout: 20_000 }, async () => {
  const s = await sharedServer();
  const before = readRecords(s.out).length;
  const badBefore = await s.srv.metric('ringlog_framing_errors_total', { reason: 'bad_octet_count' });
  await sendRaw(s.port, '-5 x\n99999999999999 x\nabc x\n0 zero\n5 hello\n');
  await waitForRecord(s.out, (r) => r.message === 'hello', 'the valid counted frame after the bad ones');
  assert.deepEqual(recordsAfter(s.out, before).map((r) => r.message), ['-5 x', '99999999999999 x', 'abc x', '0 zero', 'hello']);
  // Only frames that looked counted (start with 1-9) and then were not are reported in auto mode.
  assert.equal(await s.srv.metric('ringlog_framing_errors_total', { reason: 'bad_octet_count' }) - badBefore, 1);
  await assertStillServing(s);
});

test('a valid but huge octet count (10 digits) swallows the rest of that connection only; kept truncated at close', { timeout: 20_000 }, async () => {
  const s = await sharedServer();
  const before = readRecords(s.out).length;
  await sendRaw(s.port, '9999999999 body\nmore\n');
  // The frame is 'body\nmore\n'; as a raw record its trailing LF is not part of the message.
  await waitForRecord(s.out, (r) => r.message === 'body\nmore', 'the incomplete counted frame');
  const recs = recordsAfter(s.out, before);
  assert.deepEqual(recs.map((r) => [r.message, r.truncated ?? false]), [['body\nmore', true]]);
  await assertStillServing(s);
});

test('a UDP datagram larger than max-frame is truncated and flagged', { timeout: 20_000 }, async () => {
  const s = await start(['--max-frame', '1KiB'], true);
  const { host, port } = s.srv.address('udp');
  const sock = dgram.createSocket('udp4');
  try {
    const big = Buffer.alloc(3000, 0x62); // 'b' × 3000
    await new Promise<void>((resolve, reject) => sock.send(big, port, host, (err) => (err ? reject(err) : resolve())));
    const recs = await waitForRecord(s.out, (r) => r.source.transport === 'udp', 'the UDP record');
    assert.equal(recs.length, 1);
    assert.equal(recs[0]!.message, 'b'.repeat(1024));
    assert.equal(recs[0]!.truncated, true);
    assert.equal(recs[0]!.source.peer, `127.0.0.1:${sock.address().port}`);
    assert.equal(await s.srv.metric('ringlog_frames_truncated_total', { listener: 'udp' }), 1);
  } finally {
    sock.close();
  }
  await assertStillServing(s);
});

test('a connection that sends half a frame and goes idle is closed; the half frame is kept', { timeout: 20_000 }, async () => {
  const s = await sharedServer();
  const c = await connect(s.port);
  sockets.push(c);
  const w = watchClose(c);
  c.write('<13>half a frame and then nothing');
  const info = await closedWithin(w, 10_000);
  assert.ok(info, 'the server closed the idle connection (--idle-timeout 1s)');
  await waitForRecord(s.out, (r) => r.message === '<13>half a frame and then nothing', 'the half frame');
  assert.ok(await s.srv.metric('ringlog_connections_closed_total', { reason: 'idle_timeout' }) >= 1);
  await assertStillServing(s);
});

test('a flood of oversize frames: every one counted, but the warnings on stderr are rate-limited', { timeout: 20_000 }, async () => {
  const s = await start(['--max-frame', '64', '--framing', 'lf']);
  const line = `${'z'.repeat(100)}\n`;
  await sendRaw(s.port, line.repeat(500));
  await s.srv.waitForMetric('ringlog_frames_truncated_total', 500, { timeoutMs: 10_000 });
  await waitUntil(() => readRecords(s.out).length === 500, '500 truncated records', 10_000);
  const recs = readRecords(s.out);
  assert.ok(recs.every((r) => r.truncated === true && r.message === 'z'.repeat(64)));
  const warnings = s.srv.stderr().split('\n').filter((l) => l.includes('frame longer than max-frame truncated'));
  assert.ok(warnings.length >= 1 && warnings.length <= 20, `a sender cannot flood the log: ${warnings.length} warning lines for 500 truncations`);
  await assertStillServing(s);
});

test('a connection reset (RST) mid-frame: the bytes received are kept, the close is counted as an error', { timeout: 20_000 }, async () => {
  const s = await sharedServer();
  const c = await connect(s.port);
  sockets.push(c);
  const w = watchClose(c);
  const errorsBefore = await s.srv.metric('ringlog_connections_closed_total', { reason: 'error' });
  const bytesBefore = await s.srv.metric('ringlog_received_bytes_total');
  const data = 'complete before reset\n<13>partial before reset';
  c.write(data);
  // Reset only once the server has read the bytes (well within the 1 s idle timeout).
  await s.srv.waitForMetric('ringlog_received_bytes_total', bytesBefore + data.length, { timeoutMs: 5_000, intervalMs: 10 });
  c.resetAndDestroy();
  await withTimeout(w.closed, 5_000, 'our socket to close');
  await waitForRecord(s.out, (r) => r.message === '<13>partial before reset', 'the partial frame of the reset connection');
  assert.ok(readRecords(s.out).some((r) => r.message === 'complete before reset'));
  await s.srv.waitForMetric('ringlog_connections_closed_total', errorsBefore + 1, { labels: { reason: 'error' }, timeoutMs: 5_000 });
  await assertStillServing(s);
});

test('after all of it: the shared server never exited and shuts down cleanly', { timeout: 20_000 }, async () => {
  const s = await sharedServer();
  await assertStillServing(s);
  assert.equal(await withTimeout(s.srv.stop(), 15_000, 'graceful stop'), 0, s.srv.stderrTail());
  for (const other of servers) if (other !== s.srv) assert.equal(other.describeExit(), 'running', 'no server died on hostile input');
});
