/**
 * End-to-end: util-linux `logger` (a real syslog client) → `ringlog serve` → NDJSON.
 *
 * One server with every transport logger speaks: TCP and UDP on 127.0.0.1 (and
 * on ::1 when the host has IPv6), a Unix stream socket and a Unix datagram socket.
 * Each test sends messages carrying a unique marker and checks that each arrives
 * exactly once, parsed into every record field (message, host, app, procid, msgid,
 * facility, severity, timestamp, structured data), on the right listener, with the
 * peer in the right form; the frame counter of the listener must reach exactly the
 * number sent (so duplicates fail too). The last test compares /metrics with the
 * output file.
 *
 * logger's own wire formats (util-linux 2.38):
 *   remote, default:  <PRI>1 TIMESTAMP HOST TAG PROCID MSGID [timeQuality …] MSG
 *   remote, rfc3164:  <PRI>Mmm dd hh:mm:ss HOST TAG[PROCID]: MSG
 *   Unix socket:      <PRI>Mmm dd hh:mm:ss TAG[PROCID]: MSG   (no hostname)
 * -T/-d pick stream/datagram, also for -u (there is no --socket-type in 2.38).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type RinglogServer } from '../../bench/lib/server.js';
import {
  type NdjsonRecord, ipv6LoopbackWorks, isExecutable, makeTempDir, metricReaches, outputReaches, readNdjson,
  removeDir, runOk, uniqueId,
} from './helpers.js';

const LOGGER = '/usr/bin/logger';
const skip = isExecutable(LOGGER) ? false : `${LOGGER} not found (Debian package bsdutils); install it to run these tests`;

/** local0.warning = 16 * 8 + 4 */
const FACILITY = 16;
const SEVERITY = 4;
const PROCID = '4242';
function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const NON_ASCII = 'grüße — naïve façade — 日本語のログ — ÅΩж — 🎉🚀';

describe('util-linux logger → ringlog serve → NDJSON', { skip }, () => {
  let dir = '';
  let out = '';
  let srv: RinglogServer;
  let v6 = false;
  let streamSock = '';
  let dgramSock = '';
  /** Frames sent per listener, and in all. */
  const sent = new Map<string, number>();
  let total = 0;
  const run = uniqueId();
  let n = 0;
  const marker = (what: string) => `e2e-${run}-${++n}-${what}`;

  before(async () => {
    dir = makeTempDir('logger');
    out = path.join(dir, 'records.ndjson');
    streamSock = path.join(dir, 'stream.sock');
    dgramSock = path.join(dir, 'dgram.sock');
    v6 = await ipv6LoopbackWorks();
    const args = ['--unix', streamSock, '--unix-dgram', dgramSock];
    const expectListeners = ['unix', 'unix-dgram'];
    if (v6) {
      args.push('--tcp', '[::1]:0', '--udp', '[::1]:0');
      expectListeners.push('tcp-2', 'udp-2');
    }
    srv = await startServer({ udp: true, output: [`ndjson:${out}`], dataDir: path.join(dir, 'data'), args, expectListeners });
  });

  after(async () => {
    await srv?.stop();
    removeDir(dir);
  });

  const logger = (args: string[], input?: string) =>
    runOk(LOGGER, ['--id=' + PROCID, '-p', 'local0.warning', ...args], { timeoutMs: 15_000, ...(input !== undefined ? { input } : {}) });

  /** -n HOST -P PORT of a network listener. */
  function server(listener: string): string[] {
    const a = srv.address(listener);
    return ['-n', a.host, '-P', String(a.port)];
  }

  /**
   * Records that `frames` more frames were sent to `listener`; waits until the server
   * counted exactly that many and wrote everything; returns all records so far.
   */
  async function delivered(listener: string, frames: number): Promise<NdjsonRecord[]> {
    const want = (sent.get(listener) ?? 0) + frames;
    sent.set(listener, want);
    total += frames;
    assert.equal(await metricReaches(srv, 'ringlog_received_frames_total', { listener }, want), want, `frames received on ${listener}`);
    assert.equal(await outputReaches(srv, out, total), total, 'records written in all');
    return readNdjson(out);
  }

  /** The one record whose message contains `m` (fails on none or several). */
  function only(records: NdjsonRecord[], m: string): NdjsonRecord {
    const found = records.filter((r) => r.message.includes(m));
    assert.equal(found.length, 1, `exactly one record with ${m}; got ${JSON.stringify(found, null, 1)}`);
    return found[0]!;
  }

  function assertSource(rec: NdjsonRecord, listener: string, transport: string, peer: RegExp | string): void {
    assert.equal(rec.source.listener, listener);
    assert.equal(rec.source.transport, transport);
    if (typeof peer === 'string') assert.equal(rec.source.peer, peer);
    else assert.match(rec.source.peer, peer);
    assert.equal(rec.truncated, undefined);
  }

  /** The peer of a network record: HOST:PORT, the port a real ephemeral one (not the server's). */
  function assertPeer(rec: NdjsonRecord, listener: string, transport: string, hostForm: string): void {
    assertSource(rec, listener, transport, new RegExp(`^${escapeRe(hostForm)}:\\d+$`));
    const port = Number(rec.source.peer.slice(rec.source.peer.lastIndexOf(':') + 1));
    assert.ok(port > 0 && port < 65536 && port !== srv.address(listener).port, `peer port ${port}`);
  }

  /** ms since the epoch of an RFC 3339 text with up to 9 fraction digits. */
  const epochMs = (ts: string) => Date.parse(ts.replace(/(\.\d{3})\d*/, '$1'));

  /**
   * Checks every field of a record logger sent: RFC 5424 (`[timeQuality …]` structured
   * data, µs timestamp with offset) or RFC 3164 (local time, whole seconds; no hostname
   * on the Unix sockets). The event time must be logger's clock: within a few seconds of
   * the receive time, which also proves RFC 3164's local time was read in the server's zone.
   */
  function assertSyslog(rec: NdjsonRecord, format: '5424' | '3164', tag: string, m: string, opts: { msgid?: string; host?: boolean; sd?: Record<string, string> } = {}): void {
    assert.equal(rec.message, m);
    assert.equal(rec.app, tag);
    assert.equal(rec.procid, PROCID);
    assert.equal(rec.facility, FACILITY);
    assert.equal(rec.severity, SEVERITY);
    assert.equal(rec.msgid, opts.msgid);
    assert.equal(rec.host, opts.host === false ? undefined : os.hostname());
    const skew = Math.abs(epochMs(rec.timestamp) - epochMs(rec.received));
    assert.ok(skew < 5_000, `timestamp ${rec.timestamp} is logger's clock (received ${rec.received})`);
    const fields = rec.fields ?? {};
    assert.equal(fields['parse_error'], undefined);
    if (format === '5424') {
      assert.match(fields['timeQuality.tzKnown'] ?? '', /^[01]$/, JSON.stringify(fields));
      for (const [k, v] of Object.entries(opts.sd ?? {})) assert.equal(fields[k], v);
      assert.ok(Object.keys(fields).every((k) => k.startsWith('timeQuality.') || k in (opts.sd ?? {})), JSON.stringify(fields));
    } else {
      assert.match(rec.timestamp, /:\d\d\.000000000Z$/, 'RFC 3164 has whole seconds');
      assert.deepEqual(fields, {});
    }
  }

  it('TCP with LF framing (-T), RFC 5424 with MSGID', async () => {
    const m = marker('tcp-lf');
    await logger(['-T', ...server('tcp'), '-t', 'e2e-tcp', '--msgid', 'MID7', m]);
    const rec = only(await delivered('tcp', 1), m);
    assertSyslog(rec, '5424', 'e2e-tcp', m, { msgid: 'MID7' });
    assertPeer(rec, 'tcp', 'tcp', '127.0.0.1');
  });

  it('TCP with octet counting (--octet-count): an embedded LF stays inside the one record', async () => {
    const m = marker('tcp-octet');
    const text = `${m} first line\nsecond line`;
    await logger(['-T', '--octet-count', ...server('tcp'), '-t', 'e2e-octet', '--sd-id', 'e2e@32473', '--sd-param', 'k="v"', text]);
    const rec = only(await delivered('tcp', 1), m);
    assertSyslog(rec, '5424', 'e2e-octet', text, { sd: { 'e2e@32473.k': 'v' } });
    assertPeer(rec, 'tcp', 'tcp', '127.0.0.1');
    assert.equal(await srv.metric('ringlog_framing_errors_total', { listener: 'tcp' }), 0);
  });

  it('TCP with LF framing: the same embedded LF ends the frame (two records, one connection)', async () => {
    const m = marker('tcp-split');
    await logger(['-T', ...server('tcp'), '-t', 'e2e-split', `${m} head\n${m} tail`]);
    const records = (await delivered('tcp', 2)).filter((r) => r.message.includes(m));
    assert.equal(records.length, 2, JSON.stringify(records));
    assertSyslog(records[0]!, '5424', 'e2e-split', `${m} head`);
    assert.equal(records[1]!.app, undefined, 'the tail is a raw line');
    assert.equal(records[1]!.message, `${m} tail`);
    assert.equal(records[0]!.source.peer, records[1]!.source.peer);
  });

  it('TCP, RFC 3164 (--rfc3164)', async () => {
    const m = marker('tcp-3164');
    await logger(['-T', '--rfc3164', ...server('tcp'), '-t', 'e2e-bsd', m]);
    const rec = only(await delivered('tcp', 1), m);
    assertSyslog(rec, '3164', 'e2e-bsd', m);
    assertPeer(rec, 'tcp', 'tcp', '127.0.0.1');
  });

  it('UDP (-d), RFC 5424', async () => {
    const m = marker('udp-5424');
    await logger(['-d', ...server('udp'), '-t', 'e2e-udp', m]);
    const rec = only(await delivered('udp', 1), m);
    assertSyslog(rec, '5424', 'e2e-udp', m);
    assertPeer(rec, 'udp', 'udp', '127.0.0.1');
  });

  it('UDP (-d), RFC 3164', async () => {
    const m = marker('udp-3164');
    await logger(['-d', '--rfc3164', ...server('udp'), '-t', 'e2e-udp-bsd', m]);
    const rec = only(await delivered('udp', 1), m);
    assertSyslog(rec, '3164', 'e2e-udp-bsd', m);
    assertPeer(rec, 'udp', 'udp', '127.0.0.1');
  });

  it('Unix stream socket (-T -u PATH): local format, peer is the socket path', async () => {
    const m = marker('unix-stream');
    await logger(['-T', '-u', streamSock, '-t', 'e2e-unix', m]);
    const rec = only(await delivered('unix', 1), m);
    assertSyslog(rec, '3164', 'e2e-unix', m, { host: false });
    assertSource(rec, 'unix', 'unix', streamSock);
  });

  it('Unix stream socket with --octet-count and --rfc5424', async () => {
    const m = marker('unix-octet');
    await logger(['-T', '--octet-count', '--rfc5424', '-u', streamSock, '-t', 'e2e-unix5424', m]);
    const rec = only(await delivered('unix', 1), m);
    assertSyslog(rec, '5424', 'e2e-unix5424', m);
    assertSource(rec, 'unix', 'unix', streamSock);
  });

  it('Unix datagram socket (-d -u PATH), as /dev/log', async () => {
    const m = marker('unix-dgram');
    await logger(['-d', '-u', dgramSock, '-t', 'e2e-dgram', m]);
    const rec = only(await delivered('unix-dgram', 1), m);
    assertSyslog(rec, '3164', 'e2e-dgram', m, { host: false });
    assertSource(rec, 'unix-dgram', 'unix-dgram', dgramSock);
  });

  it('IPv6 TCP (-n ::1): peer is [::1]:port', async (t) => {
    if (!v6) return t.skip('no IPv6 loopback on this host');
    const m = marker('tcp6');
    await logger(['-T', ...server('tcp-2'), '-t', 'e2e-tcp6', m]);
    const rec = only(await delivered('tcp-2', 1), m);
    assertSyslog(rec, '5424', 'e2e-tcp6', m);
    assertPeer(rec, 'tcp-2', 'tcp', '[::1]');
  });

  it('IPv6 UDP (-d -n ::1): peer is [::1]:port', async (t) => {
    if (!v6) return t.skip('no IPv6 loopback on this host');
    const m = marker('udp6');
    await logger(['-d', ...server('udp-2'), '-t', 'e2e-udp6', m]);
    const rec = only(await delivered('udp-2', 1), m);
    assertSyslog(rec, '5424', 'e2e-udp6', m);
    assertPeer(rec, 'udp-2', 'udp', '[::1]');
  });

  /** Lines of a file for -f; each must become one record, in order. */
  function linesFile(name: string, m: string): { file: string; lines: string[] } {
    const lines = [`${m} line 1`, `  ${m} line 2 with leading spaces`, `${m}\tline 3 with a tab`, `${m} line 4 "quoted" \\ backslash`, `${m} line 5`];
    const file = path.join(dir, name);
    writeFileSync(file, lines.join('\n') + '\n');
    return { file, lines };
  }

  it('-f FILE over TCP: each line one record, in order, all from one connection', async () => {
    const m = marker('file-tcp');
    const { file, lines } = linesFile('tcp-lines.txt', m);
    await logger(['-T', ...server('tcp'), '-t', 'e2e-file', '-f', file]);
    const records = (await delivered('tcp', lines.length)).filter((r) => r.message.includes(m));
    assert.equal(records.length, lines.length, JSON.stringify(records, null, 1));
    records.forEach((r, i) => assertSyslog(r, '5424', 'e2e-file', lines[i]!));
    assertPeer(records[0]!, 'tcp', 'tcp', '127.0.0.1');
    assert.equal(new Set(records.map((r) => r.source.peer)).size, 1, 'one connection');
  });

  it('-f FILE over the Unix datagram socket: each line one datagram, one record', async () => {
    const m = marker('file-dgram');
    const { file, lines } = linesFile('dgram-lines.txt', m);
    await logger(['-d', '-u', dgramSock, '-t', 'e2e-file-dgram', '-f', file]);
    const records = (await delivered('unix-dgram', lines.length)).filter((r) => r.message.includes(m));
    assert.equal(records.length, lines.length, JSON.stringify(records, null, 1));
    records.forEach((r, i) => {
      assertSyslog(r, '3164', 'e2e-file-dgram', lines[i]!, { host: false });
      assertSource(r, 'unix-dgram', 'unix-dgram', dgramSock);
    });
  });

  it('stdin with several lines over octet-counted TCP: one record per line', async () => {
    const m = marker('stdin');
    const lines = [`${m} a`, `${m} b`, `${m} c`];
    await logger(['-T', '--octet-count', ...server('tcp'), '-t', 'e2e-stdin'], lines.join('\n') + '\n');
    const records = (await delivered('tcp', 3)).filter((r) => r.message.includes(m));
    assert.deepEqual(records.map((r) => r.message), lines);
    for (const r of records) assertSyslog(r, '5424', 'e2e-stdin', r.message);
  });

  it('non-ASCII UTF-8 arrives intact over TCP, UDP and the Unix datagram socket', async () => {
    const mt = marker('utf8-tcp');
    const mu = marker('utf8-udp');
    const md = marker('utf8-dgram');
    await logger(['-T', ...server('tcp'), '-t', 'e2e-utf8', `${mt} ${NON_ASCII}`]);
    await delivered('tcp', 1);
    await logger(['-d', '--rfc3164', ...server('udp'), '-t', 'e2e-utf8', `${mu} ${NON_ASCII}`]);
    await delivered('udp', 1);
    await logger(['-d', '-u', dgramSock, '-t', 'e2e-utf8', `${md} ${NON_ASCII}`]);
    const records = await delivered('unix-dgram', 1);
    assertSyslog(only(records, mt), '5424', 'e2e-utf8', `${mt} ${NON_ASCII}`);
    assertSyslog(only(records, mu), '3164', 'e2e-utf8', `${mu} ${NON_ASCII}`);
    assertSyslog(only(records, md), '3164', 'e2e-utf8', `${md} ${NON_ASCII}`, { host: false });
    for (const m of [mt, mu, md]) assert.ok(!only(records, m).message.includes('\uFFFD'), 'no replacement characters');
  });

  it('/metrics: ringlog_received_frames_total of each listener equals what was sent and what was written', async () => {
    assert.ok(total > 0, 'earlier tests sent messages');
    const records = readNdjson(out);
    assert.equal(records.length, total, 'every record written once');
    const samples = await srv.metrics();
    const names = srv.listeners.filter((l) => l.transport !== 'http').map((l) => l.name);
    assert.deepEqual([...names].sort(), ['tcp', 'udp', 'unix', 'unix-dgram', ...(v6 ? ['tcp-2', 'udp-2'] : [])].sort());
    for (const name of names) {
      const metric = samples.find((s) => s.name === 'ringlog_received_frames_total' && s.labels.listener === name);
      assert.ok(metric, `ringlog_received_frames_total{listener="${name}"} is exported`);
      const written = records.filter((r) => r.source.listener === name).length;
      assert.equal(metric.value, sent.get(name) ?? 0, `${name}: frames counted vs sent`);
      assert.equal(written, sent.get(name) ?? 0, `${name}: records written vs sent`);
    }
    const stream = samples.find((s) => s.name === 'ringlog_connections_accepted_total' && s.labels.listener === 'unix');
    assert.equal(stream?.value, 2, 'two logger connections to the Unix stream socket');
  });
});

/**
 * Peer forms that need care: socket paths that are not ASCII, and IPv4 senders on an
 * IPv6 socket bound to an IPv4-mapped address. The dual-stack default listener (":5140",
 * bound to [::]) sees every IPv4 sender that way too; binding ::ffff:127.0.0.1 shows
 * the same thing without listening beyond loopback.
 */
describe('logger → ringlog: peer address forms', { skip }, () => {
  let dir = '';
  let out = '';
  let srv: RinglogServer;
  let v6 = false;
  let streamSock = '';
  let dgramSock = '';
  let total = 0;
  const run = uniqueId();

  before(async () => {
    dir = makeTempDir('peers');
    out = path.join(dir, 'records.ndjson');
    streamSock = path.join(dir, 'strëam-日本.sock');
    dgramSock = path.join(dir, 'dgrám-日本.sock');
    v6 = await ipv6LoopbackWorks();
    const args = ['--unix', streamSock, '--unix-dgram', dgramSock];
    const expectListeners = ['unix', 'unix-dgram'];
    if (v6) {
      args.push('--tcp', '[::ffff:127.0.0.1]:0', '--udp', '[::ffff:127.0.0.1]:0');
      expectListeners.push('tcp', 'udp');
    }
    srv = await startServer({ tcp: false, output: [`ndjson:${out}`], dataDir: path.join(dir, 'data'), args, expectListeners });
  });

  after(async () => {
    await srv?.stop();
    removeDir(dir);
  });

  /** Sends one message with logger and returns its record (waiting until it is written). */
  async function send(listener: string, args: string[], m: string): Promise<NdjsonRecord> {
    const before = await srv.metric('ringlog_received_frames_total', { listener });
    await runOk(LOGGER, [...args, '-t', 'e2e-peer', m], { timeoutMs: 15_000 });
    await metricReaches(srv, 'ringlog_received_frames_total', { listener }, before + 1);
    await outputReaches(srv, out, ++total);
    const found = readNdjson(out).filter((r) => r.message.includes(m));
    assert.equal(found.length, 1, JSON.stringify(found));
    return found[0]!;
  }

  it('a Unix stream socket path with non-ASCII characters is the peer, intact', async () => {
    const rec = await send('unix', ['-T', '-u', streamSock], `${run}-stream-path`);
    assert.deepEqual(rec.source, { transport: 'unix', listener: 'unix', peer: streamSock });
  });

  // Fails at the time of writing: for datagram batches NdjsonOutput.format() writes the
  // per-record head (listener and peer) with out.write(..., 'latin1'), so any non-ASCII
  // character of a socket path (or listener name) is mangled in the NDJSON file.
  it('a Unix datagram socket path with non-ASCII characters is the peer, intact', async () => {
    const rec = await send('unix-dgram', ['-d', '-u', dgramSock], `${run}-dgram-path`);
    assert.deepEqual(rec.source, { transport: 'unix-dgram', listener: 'unix-dgram', peer: dgramSock });
  });

  // Both fail at the time of writing: the peer is "[::ffff:127.0.0.1]:PORT" because
  // formatHostPort() is given the socket's IPv4-mapped remote address as it is.
  it('TCP: an IPv4 sender on an IPv4-mapped IPv6 listener is 127.0.0.1:port, not [::ffff:127.0.0.1]:port', async (t) => {
    if (!v6) return t.skip('no IPv6 on this host');
    const rec = await send('tcp', ['-T', '-n', '127.0.0.1', '-P', String(srv.address('tcp').port)], `${run}-mapped-tcp`);
    assert.match(rec.source.peer, /^127\.0\.0\.1:\d+$/);
  });

  it('UDP: an IPv4 sender on an IPv4-mapped IPv6 listener is 127.0.0.1:port, not [::ffff:127.0.0.1]:port', async (t) => {
    if (!v6) return t.skip('no IPv6 on this host');
    const rec = await send('udp', ['-d', '-n', '127.0.0.1', '-P', String(srv.address('udp').port)], `${run}-mapped-udp`);
    assert.match(rec.source.peer, /^127\.0\.0\.1:\d+$/);
  });
});
