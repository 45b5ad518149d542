/**
 * End-to-end: a real rsyslog relays into ringlog.
 *
 *   logger -u IN.sock ──► rsyslogd (imuxsock on a temp socket)
 *        ├─ omfwd TCP, octet-counted, RSYSLOG_SyslogProtocol23Format ──► ringlog listener "tcp"
 *        └─ omfwd TCP, traditional LF framing, RSYSLOG_ForwardFormat ───► ringlog listener "tcp-2"
 *
 * rsyslog runs in the foreground with its own config, work directory and pid file in
 * a temp dir (no /dev/log, no imklog, nothing needing root paths). Only messages with
 * our tag are forwarded (rsyslog's own start-up messages go to a file in the temp dir,
 * which is also what a failure prints). The test feeds N messages with sequence
 * markers and asserts that each listener got exactly those N, once each, in order,
 * in the format of the template; octet counting is detected by ringlog's auto framing.
 *
 * Skipped when /usr/sbin/rsyslogd is absent (Debian package rsyslog; .ci/run installs it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startServer, type RinglogServer } from '../../bench/lib/server.js';
import {
  type NdjsonRecord, isExecutable, makeTempDir, metricReaches, outputReaches, readNdjson, removeDir, runOk,
  startChild, stopChild, uniqueId, waitFor,
} from './helpers.js';

const RSYSLOGD = '/usr/sbin/rsyslogd';
const LOGGER = '/usr/bin/logger';
const skip = !isExecutable(RSYSLOGD)
  ? `${RSYSLOGD} not found: install the Debian package rsyslog (.ci/run does) to run the rsyslog interop test`
  : !isExecutable(LOGGER)
    ? `${LOGGER} not found (Debian package bsdutils)`
    : false;

const N = 500;
const TAG = 'e2e-rsyslog';
const PROCID = '4242';
/** local3.notice = 19 * 8 + 5 */

function rsyslogConfig(dir: string, inSock: string, octetPort: number, lfPort: number): string {
  // Direct queues: each message is handed to omfwd as soon as imuxsock has it. Unlimited
  // retries so nothing is discarded if a send must be retried.
  const fwd = (port: number, framing: string, template: string) =>
    `action(type="omfwd" target="127.0.0.1" port="${port}" protocol="tcp" TCP_Framing="${framing}" template="${template}"
           queue.type="Direct" action.resumeRetryCount="-1" action.resumeInterval="1")`;
  return `
global(workDirectory="${dir}/work" processInternalMessages="on")
main_queue(queue.type="Direct")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="${inSock}" RateLimit.Interval="0" CreatePath="on")
if $programname == "${TAG}" then {
  ${fwd(octetPort, 'octet-counted', 'RSYSLOG_SyslogProtocol23Format')}
  ${fwd(lfPort, 'traditional', 'RSYSLOG_ForwardFormat')}
  stop
}
action(type="omfile" file="${dir}/rsyslog-other.log")
`;
}

describe('rsyslog omfwd → ringlog serve', { skip }, () => {
  let dir = '';
  let out = '';
  let srv: RinglogServer;
  let rsyslog: ChildProcess | null = null;
  let rsyslogStderr = '';
  const run = uniqueId();

  before(async () => {
    dir = makeTempDir('rsyslog');
    mkdirSync(path.join(dir, 'work'));
    out = path.join(dir, 'records.ndjson');
    srv = await startServer({
      output: [`ndjson:${out}`],
      dataDir: path.join(dir, 'data'),
      args: ['--tcp', '127.0.0.1:0'],
      expectListeners: ['tcp-2'],
    });
  });

  after(async () => {
    if (rsyslog) await stopChild(rsyslog, 'SIGTERM', 10_000);
    await srv?.stop();
    removeDir(dir);
  });

  /** What rsyslog said, for failure messages. */
  function rsyslogDiagnostics(): string {
    const other = path.join(dir, 'rsyslog-other.log');
    return `rsyslogd stderr:\n${rsyslogStderr.slice(-3000)}\nrsyslog-other.log:\n${existsSync(other) ? readFileSync(other, 'utf8').slice(-3000) : '(none)'}`;
  }

  /** Every seq 0..N-1 exactly once and in order; returns nothing, fails with the differences. */
  function assertSeqs(records: NdjsonRecord[], re: RegExp, what: string): void {
    const seqs: number[] = [];
    for (const r of records) {
      const m = re.exec(r.message);
      assert.ok(m, `${what}: message not in the expected form ${re}: ${JSON.stringify(r.message)}`);
      seqs.push(Number(m[1]));
    }
    const seen = new Map<number, number>();
    for (const s of seqs) seen.set(s, (seen.get(s) ?? 0) + 1);
    const missing = [...Array(N).keys()].filter((s) => !seen.has(s));
    const dup = [...seen].filter(([, c]) => c > 1).map(([s]) => s);
    const stray = seqs.filter((s) => s < 0 || s >= N);
    assert.deepEqual({ missing: missing.slice(0, 20), duplicated: dup.slice(0, 20), stray: stray.slice(0, 20) }, { missing: [], duplicated: [], stray: [] }, what);
    assert.deepEqual(seqs, [...Array(N).keys()], `${what}: in the order sent (one connection, one worker)`);
  }

  it(`relays ${N} messages: octet-counted RFC 5424 and LF-framed RFC 3164, each exactly once`, async () => {
    const inSock = path.join(dir, 'in.sock');
    const conf = path.join(dir, 'rsyslog.conf');
    writeFileSync(conf, rsyslogConfig(dir, inSock, srv.address('tcp').port, srv.address('tcp-2').port));

    rsyslog = startChild(RSYSLOGD, ['-n', '-f', conf, '-i', path.join(dir, 'rsyslogd.pid')], { cwd: dir });
    rsyslog.stdout!.resume();
    rsyslog.stderr!.setEncoding('utf8').on('data', (s: string) => (rsyslogStderr = (rsyslogStderr + s).slice(-20_000)));
    let exited: string | null = null;
    rsyslog.once('exit', (code, signal) => (exited = signal ?? `exit ${code}`));
    await waitFor('rsyslogd to create its input socket', () => {
      if (exited) throw new Error(`rsyslogd exited (${exited}) before it was ready\n${rsyslogDiagnostics()}`);
      return existsSync(inSock);
    }, { timeoutMs: 20_000, describe: rsyslogDiagnostics });

    // N lines, each one datagram to imuxsock (a Unix datagram sender blocks rather than drop).
    const lines = Array.from({ length: N }, (_, i) => `${run} seq=${String(i).padStart(6, '0')} payload ünïcødé ok`);
    const file = path.join(dir, 'input.txt');
    writeFileSync(file, lines.join('\n') + '\n');
    await runOk(LOGGER, ['-d', '-u', inSock, '-t', TAG, `--id=${PROCID}`, '-p', 'local3.notice', '-f', file], { timeoutMs: 30_000 });

    // rsyslog needs a moment to connect and send: poll ringlog's counters, not the clock.
    for (const listener of ['tcp', 'tcp-2']) {
      let got: number;
      try {
        got = await metricReaches(srv, 'ringlog_received_frames_total', { listener }, N, 60_000);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${rsyslogDiagnostics()}`);
      }
      assert.equal(got, N, `frames received on ${listener}`);
    }
    assert.equal(await outputReaches(srv, out, 2 * N), 2 * N);

    // Stop rsyslog first: if it were going to resend anything, it would do it now.
    const code = await stopChild(rsyslog, 'SIGTERM', 10_000);
    rsyslog = null;
    assert.equal(code, 0, `rsyslogd exit status\n${rsyslogDiagnostics()}`);
    assert.equal(await srv.metric('ringlog_received_frames_total', { listener: 'tcp' }), N);
    assert.equal(await srv.metric('ringlog_received_frames_total', { listener: 'tcp-2' }), N);

    const records = readNdjson(out);
    assert.equal(records.length, 2 * N);
    const octet = records.filter((r) => r.source.listener === 'tcp');
    const lf = records.filter((r) => r.source.listener === 'tcp-2');
    assert.equal(octet.length, N);
    assert.equal(lf.length, N);
    for (const r of records) {
      assert.equal(r.source.transport, 'tcp');
      assert.match(r.source.peer, /^127\.0\.0\.1:\d+$/);
      assert.equal(r.truncated, undefined);
    }
    // One connection per action.
    assert.equal(new Set(octet.map((r) => r.source.peer)).size, 1);
    assert.equal(new Set(lf.map((r) => r.source.peer)).size, 1);

    // Both templates carry the same header fields; ringlog must parse them all the same.
    // RSYSLOG_SyslogProtocol23Format: "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG\n" (the
    // template's own trailing LF is inside the counted octets: not part of the message).
    // RSYSLOG_ForwardFormat: "<PRI>TIMESTAMP HOST TAG[PID]: MSG", framed by omfwd with a LF.
    for (const r of records) {
      assert.equal(r.app, TAG);
      assert.equal(r.procid, PROCID);
      assert.equal(r.facility, 19, 'local3');
      assert.equal(r.severity, 5, 'notice');
      assert.ok(r.host && r.host.length > 0, 'rsyslog names its host');
      assert.equal(r.fields?.['parse_error'], undefined, JSON.stringify(r));
      const skew = Math.abs(Date.parse(r.timestamp.replace(/(\.\d{3})\d*/, '$1')) - Date.parse(r.received.replace(/(\.\d{3})\d*/, '$1')));
      assert.ok(skew < 10_000, `timestamp ${r.timestamp} is rsyslog's (received ${r.received})`);
    }
    const message = new RegExp(`^ ?${run} seq=(\\d{6}) payload ünïcødé ok$`);
    assertSeqs(octet, message, 'octet-counted RFC 5424');
    assertSeqs(lf, message, 'LF-framed RFC 3164 (forward format)');
    assert.equal(await srv.metric('ringlog_framing_errors_total', {}), 0, 'no framing errors');
  });
});
