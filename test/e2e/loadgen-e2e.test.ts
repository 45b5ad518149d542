/**
 * End-to-end: the real load generator CLI (`ringlog bench`) into `ringlog serve`,
 * for every message format × stream framing, over TCP, a Unix stream socket, UDP
 * and a Unix datagram socket. Every run must come out of the NDJSON output with
 * every sequence number 0..N-1 exactly once: no loss, no duplicates, no frames
 * merged or cut (each message has exactly the size the generator put on the wire).
 *
 * One server for the whole file (a config file, so the UDP listener gets a large
 * receive buffer); runs are sequential and each reads only what it added to the
 * output. UDP runs use a modest --rate so the kernel has no reason to drop; should it
 * drop anyway, the failure says so (from /proc/net/udp) rather than blaming ringlog.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ringlogBin, startServer, type RinglogServer } from '../../bench/lib/server.js';
import { FORMATS, FRAMINGS, seqOfRecord, type Framing, type MessageFormat } from '../../src/loadgen/payload.js';
import { fileSize, makeTempDir, metricReaches, outputReaches, readNdjson, removeDir, runOk, type NdjsonRecord } from './helpers.js';

const CONNECTIONS = 4;
const SIZE = 128;
const STREAM_MESSAGES = 20_000;
const DGRAM_MESSAGES = 10_000;
/** Datagrams per second over UDP: a few seconds per run, far below what loopback and ringlog take. */
const UDP_RATE = 5_000;

type Transport = 'tcp' | 'unix' | 'udp' | 'unix-dgram';

/**
 * What a bench message of each format must have become once parsed: the header
 * fields mapped, the sequence in the fields (RFC 5424, JSON) or the message (RFC 3164),
 * and no parse error. Returns what is wrong, or null.
 */
function recordProblem(format: MessageFormat, rec: NdjsonRecord): string | null {
  const want: Partial<NdjsonRecord> = { host: 'bench-host', app: 'ringlog-bench', severity: 6 };
  if (format !== 'json') Object.assign(want, { procid: '4242', facility: 16 });
  for (const [k, v] of Object.entries(want)) if (rec[k as keyof NdjsonRecord] !== v) return `${k} ${JSON.stringify(rec[k as keyof NdjsonRecord])}, not ${JSON.stringify(v)}`;
  if (rec.fields?.['parse_error']) return `parse_error ${rec.fields['parse_error']}`;
  const message = format === 'rfc3164' ? /^conn=\d+ seq=\d{9} [a-z ]+$/ : /^[a-z ]*$/;
  if (!message.test(rec.message)) return `message ${JSON.stringify(rec.message)}`;
  if (format === 'rfc5424' && !/^\d{9}$/.test(rec.fields?.['bench@32473.seq'] ?? '')) return `fields ${JSON.stringify(rec.fields)}`;
  if (format === 'json' && !/^\d+$/.test(rec.fields?.['seq'] ?? '')) return `fields ${JSON.stringify(rec.fields)}`;
  return null;
}

/** Sum of the kernel's drop counters for UDP sockets bound to `port` (IPv4 and IPv6), or null if unreadable. */
function udpKernelDrops(port: number): number | null {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let drops = 0;
  try {
    for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
      let text = '';
      try {
        text = readFileSync(f, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length > 12 && cols[1]!.endsWith(`:${hexPort}`)) drops += Number(cols[cols.length - 1]);
      }
    }
  } catch {
    return null;
  }
  return drops;
}

interface BenchSummary {
  messages: number;
  senderDrops: number;
  interrupted: boolean;
  transport: string;
  format: string;
  framing: string;
  connections: number;
}

describe('ringlog bench → ringlog serve: every sequence number exactly once', () => {
  let dir = '';
  let out = '';
  let streamSock = '';
  let dgramSock = '';
  let srv: RinglogServer;
  let total = 0;

  before(async () => {
    dir = makeTempDir('loadgen');
    out = path.join(dir, 'records.ndjson');
    streamSock = path.join(dir, 'stream.sock');
    dgramSock = path.join(dir, 'dgram.sock');
    const config = path.join(dir, 'ringlog.json');
    writeFileSync(config, JSON.stringify({
      listeners: [
        { type: 'tcp', address: '127.0.0.1:0' },
        { type: 'unix', path: streamSock },
        { type: 'udp', address: '127.0.0.1:0', recvBufferSize: 4 * 1024 * 1024 },
        { type: 'unix-dgram', path: dgramSock },
      ],
    }));
    srv = await startServer({
      tcp: false,
      output: [`ndjson:${out}`],
      dataDir: path.join(dir, 'data'),
      args: ['--config', config],
      expectListeners: ['tcp', 'unix', 'udp', 'unix-dgram'],
    });
  });

  after(async () => {
    await srv?.stop();
    removeDir(dir);
  });

  function transportArgs(t: Transport): string[] {
    switch (t) {
      case 'tcp':
        return ['--transport', 'tcp', '--target', srv.target('tcp')];
      case 'udp':
        return ['--transport', 'udp', '--target', srv.target('udp'), '--rate', String(UDP_RATE)];
      case 'unix':
        return ['--transport', 'unix', '--path', streamSock];
      case 'unix-dgram':
        return ['--transport', 'unix-dgram', '--path', dgramSock];
    }
  }

  async function benchRun(transport: Transport, format: MessageFormat, framing: Framing, n: number): Promise<void> {
    const listener = transport;
    const framesBefore = await srv.metric('ringlog_received_frames_total', { listener });
    const udpDropsBefore = transport === 'udp' ? udpKernelDrops(srv.address('udp').port) : null;
    const from = fileSize(out);
    const args = [
      ringlogBin, 'bench', ...transportArgs(transport), '--connections', String(CONNECTIONS), '--messages', String(n),
      '--format', format, '--framing', framing, '--size', String(SIZE), '--no-progress', '--json-summary',
    ];
    const r = await runOk(process.execPath, args, { timeoutMs: 90_000 });
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as BenchSummary;
    assert.equal(summary.messages, n, `bench sent ${summary.messages} of ${n}`);
    assert.equal(summary.senderDrops, 0, 'the sender dropped nothing');
    assert.equal(summary.interrupted, false);
    assert.deepEqual([summary.transport, summary.format, summary.framing, summary.connections], [transport, format, framing, CONNECTIONS]);
    total += n;

    try {
      const frames = await metricReaches(srv, 'ringlog_received_frames_total', { listener }, framesBefore + n, 30_000);
      assert.equal(frames - framesBefore, n, `frames received on ${listener}`);
    } catch (err) {
      if (transport === 'udp' && udpDropsBefore !== null) {
        const kernel = (udpKernelDrops(srv.address('udp').port) ?? 0) - udpDropsBefore;
        if (kernel > 0) {
          throw new Error(`${(err as Error).message}\nthe kernel dropped ${kernel} datagrams (receive buffer overflow, /proc/net/udp): the host was too busy, not a ringlog loss`);
        }
      }
      throw err;
    }
    assert.equal(await outputReaches(srv, out, total), total, 'records written in all');

    const records = readNdjson(out, from);
    assert.equal(records.length, n, 'records this run added to the output');
    const count = new Uint8Array(n);
    const lastSeqOfConn = new Array<number>(CONNECTIONS).fill(-1);
    const stream = transport === 'tcp' || transport === 'unix';
    let bad = 0;
    const problems: string[] = [];
    const problem = (what: string) => {
      if (++bad <= 5) problems.push(what);
    };
    for (const rec of records) {
      if (rec.source.listener !== listener || rec.source.transport !== transport) problem(`source ${JSON.stringify(rec.source)}`);
      const wrong = recordProblem(format, rec);
      if (wrong) problem(`${format}/${framing}: ${wrong}`);
      const p = seqOfRecord(rec);
      if (!p || p.seq >= n || p.conn >= CONNECTIONS) {
        problem(`seq/conn: ${JSON.stringify(rec)}`);
        continue;
      }
      count[p.seq]!++;
      // Within one connection a stream keeps the order the generator sent in.
      if (stream && p.seq <= lastSeqOfConn[p.conn]!) problem(`conn ${p.conn}: seq ${p.seq} after ${lastSeqOfConn[p.conn]}`);
      lastSeqOfConn[p.conn] = p.seq;
    }
    const missing: number[] = [];
    const duplicated: number[] = [];
    count.forEach((c, seq) => {
      if (c === 0) missing.push(seq);
      if (c > 1) duplicated.push(seq);
    });
    assert.deepEqual(
      { bad, problems, missing: missing.length, firstMissing: missing.slice(0, 10), duplicated: duplicated.length, firstDuplicated: duplicated.slice(0, 10) },
      { bad: 0, problems: [], missing: 0, firstMissing: [], duplicated: 0, firstDuplicated: [] },
    );
    if (stream) assert.deepEqual(new Set(records.map((x) => x.source.peer)).size, transport === 'tcp' ? CONNECTIONS : 1, 'peers');
  }

  for (const transport of ['tcp', 'unix'] as const) {
    for (const format of FORMATS) {
      for (const framing of FRAMINGS) {
        it(`${transport}: ${format}, ${framing} framing, ${STREAM_MESSAGES} messages over ${CONNECTIONS} connections`, () =>
          benchRun(transport, format, framing, STREAM_MESSAGES));
      }
    }
  }

  // Datagram transports: one message per datagram, so there is no octet framing.
  for (const transport of ['udp', 'unix-dgram'] as const) {
    for (const format of FORMATS) {
      it(`${transport}: ${format}, ${DGRAM_MESSAGES} messages from ${CONNECTIONS} sockets${transport === 'udp' ? ` at ${UDP_RATE}/s` : ''}`, () =>
        benchRun(transport, format, 'lf', DGRAM_MESSAGES));
    }
  }

  it('/metrics: no framing errors, truncations or drops over all runs; the output wrote every record', async () => {
    assert.ok(total > 0);
    const samples = await srv.metrics();
    const sum = (name: string) => samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
    assert.equal(sum('ringlog_framing_errors_total'), 0);
    assert.equal(sum('ringlog_frames_truncated_total'), 0);
    assert.equal(sum('ringlog_dropped_total'), 0);
    assert.equal(sum('ringlog_received_frames_total'), total);
    assert.equal(readNdjson(out).length, total);
  });
});
