import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseRfc3164 } from './rfc3164.js';
import { checkTotal, expectRecord, local, pad2, type Want } from './syslog-test-helpers.js';
import { RECEIVED_MS, ns, parseOne } from './test-helpers.js';

// Times without a zone are local to the server: expected values come from `new Date(y, m, …)`
// (local time of this process), so these tests hold in any TZ. RECEIVED_MS is 2026-11-22T10:00Z.

/** [name, frame, expected record, receive time (default RECEIVED_MS)] */
const CASES: [string, string, Want, number?][] = [
  [
    'bench line',
    '<134>Nov 22 10:00:00 bench-host ringlog-bench[4242]: conn=3 seq=000000123 lorem ipsum',
    { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'bench-host', app: 'ringlog-bench', procid: '4242', facility: 16, severity: 6, message: 'conn=3 seq=000000123 lorem ipsum' },
  ],
  ['day space-padded', '<13>Nov  2 03:04:05 host app: x', { timestamp: local(2026, 11, 2, 3, 4, 5), host: 'host', app: 'app', message: 'x' }],
  ['day not padded', '<13>Nov 2 03:04:05 host app: x', { timestamp: local(2026, 11, 2, 3, 4, 5), host: 'host', app: 'app', message: 'x' }],
  ['day zero-padded', '<13>Nov 02 03:04:05 host app: x', { timestamp: local(2026, 11, 2, 3, 4, 5), host: 'host', app: 'app', message: 'x' }],
  ['month in lower case', '<13>nov 22 10:00:00 host app: x', { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'host', app: 'app', message: 'x' }],
  ['ms fraction', '<13>Nov 22 10:00:00.123 host app: x', { timestamp: local(2026, 11, 22, 10, 0, 0, 123), host: 'host', app: 'app', message: 'x' }],
  ['µs fraction', '<13>Nov 22 10:00:00.123456 host app: x', { timestamp: local(2026, 11, 22, 10, 0, 0, 123, 456_000), host: 'host', app: 'app', message: 'x' }],
  ['ns fraction', '<13>Nov 22 10:00:00.000000001 host app: x', { timestamp: local(2026, 11, 22, 10, 0, 0, 0, 1), host: 'host', app: 'app', message: 'x' }],
  ['year after the day', '<13>Nov 22 2025 10:00:00 host app: x', { timestamp: local(2025, 11, 22, 10, 0, 0), host: 'host', app: 'app', message: 'x' }],
  ['UTC zone token', '<13>Nov 22 09:00:00 UTC host app: x', { timestamp: ns('2026-11-22T09:00:00Z'), host: 'host', app: 'app', message: 'x' }],
  ['GMT zone token', '<13>Nov 22 09:00:00.5 GMT host app: x', { timestamp: ns('2026-11-22T09:00:00.500Z'), host: 'host', app: 'app', message: 'x' }],
  ['leap year Feb 29 with a year', '<13>Feb 29 2024 12:00:00 host app: x', { timestamp: local(2024, 2, 29, 12, 0, 0), host: 'host', app: 'app', message: 'x' }],
  [
    'leap year Feb 29 without a year, received in a leap year',
    '<13>Feb 29 12:00:00 host app: x',
    { timestamp: local(2028, 2, 29, 12, 0, 0), host: 'host', app: 'app', message: 'x' },
    localMs(2028, 3, 1, 8, 0, 0),
  ],
  [
    'New Year: Dec 31 received on Jan 1 is last year',
    '<13>Dec 31 23:59:59 host app: x',
    { timestamp: local(2026, 12, 31, 23, 59, 59), host: 'host', app: 'app', message: 'x' },
    localMs(2027, 1, 1, 0, 0, 10),
  ],
  [
    'New Year: Jan 1 received on Dec 31 is next year',
    '<13>Jan  1 00:00:05 host app: x',
    { timestamp: local(2027, 1, 1, 0, 0, 5), host: 'host', app: 'app', message: 'x' },
    localMs(2026, 12, 31, 23, 59, 50),
  ],
  ['a time an hour ahead of the receive time stays this year', '<13>Nov 22 11:00:00 h a: x', { timestamp: local(2026, 11, 22, 11, 0, 0), host: 'h', app: 'a', message: 'x' }],
  ['July received in November is this year', '<13>Jul  4 12:00:00 h a: x', { timestamp: local(2026, 7, 4, 12, 0, 0), host: 'h', app: 'a', message: 'x' }],
  ['March received in November is next year', '<13>Mar  4 12:00:00 h a: x', { timestamp: local(2027, 3, 4, 12, 0, 0), host: 'h', app: 'a', message: 'x' }],
  // RFC 3339 / ISO 8601
  [
    'rsyslog RSYSLOG_ForwardFormat',
    '<86>2026-11-22T11:00:00.123456+01:00 myhost sshd[1234]: Accepted publickey for alice',
    { timestamp: ns('2026-11-22T10:00:00.123Z', 456_000), host: 'myhost', app: 'sshd', procid: '1234', facility: 10, severity: 6, message: 'Accepted publickey for alice' },
  ],
  [
    'syslog-ng ISO date',
    '<38>2026-11-22T10:00:00+01:00 gw sshd[4321]: Accepted',
    { timestamp: ns('2026-11-22T09:00:00Z'), host: 'gw', app: 'sshd', procid: '4321', facility: 4, severity: 6, message: 'Accepted' },
  ],
  ['ISO date with Z', '<13>2026-11-22T10:00:00Z h a: x', { timestamp: ns('2026-11-22T10:00:00Z'), host: 'h', app: 'a', message: 'x' }],
  ['ISO date without offset is local time', '<13>2026-11-22T10:00:00.250 h a: x', { timestamp: local(2026, 11, 22, 10, 0, 0, 250), host: 'h', app: 'a', message: 'x' }],
  // hosts and tags
  [
    'rsyslog traditional forwarding',
    '<86>Nov 22 10:00:00 myhost sshd[1234]: Accepted publickey for alice from 10.0.0.2 port 50000 ssh2',
    { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'myhost', app: 'sshd', procid: '1234', facility: 10, severity: 6, message: 'Accepted publickey for alice from 10.0.0.2 port 50000 ssh2' },
  ],
  // verbatim from util-linux logger 2.38.1 and rsyslog 8.2302 (captured on this machine)
  ['captured: logger -u <socket> (no host)', '<13>Nov 22 15:31:10 myapp: hello local', { timestamp: local(2026, 11, 22, 15, 31, 10), app: 'myapp', message: 'hello local' }],
  ['captured: logger -u <socket> --id', '<13>Nov 22 15:31:10 myapp[4321]: hello local id', { timestamp: local(2026, 11, 22, 15, 31, 10), app: 'myapp', procid: '4321', message: 'hello local id' }],
  ['captured: logger --rfc3164 -n', '<13>Nov 22 15:31:10 vm myapp: hello 3164 remote', { timestamp: local(2026, 11, 22, 15, 31, 10), host: 'vm', app: 'myapp', message: 'hello 3164 remote' }],
  [
    'captured: rsyslog RSYSLOG_ForwardFormat',
    '<157>2026-11-22T15:31:17.824080+00:00 vm captest[31523]: payload ünïcødé ok',
    { timestamp: ns('2026-11-22T15:31:17.824Z', 80000), host: 'vm', app: 'captest', procid: '31523', facility: 19, severity: 5, message: 'payload ünïcødé ok' },
  ],
  [
    'captured: rsyslog RSYSLOG_TraditionalForwardFormat',
    '<157>Nov 22 15:31:17 vm captest[31523]: payload ünïcødé ok',
    { timestamp: local(2026, 11, 22, 15, 31, 17), host: 'vm', app: 'captest', procid: '31523', facility: 19, severity: 5, message: 'payload ünïcødé ok' },
  ],
  ['util-linux logger --rfc3164', '<13>Nov 22 10:00:00 myhost alice: hello world', { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'myhost', app: 'alice', message: 'hello world' }],
  ['util-linux logger to /dev/log (no host), --id', '<13>Nov 22 10:00:00 alice[4321]: hello', { timestamp: local(2026, 11, 22, 10, 0, 0), app: 'alice', procid: '4321', message: 'hello' }],
  ['journald forwarding (no host)', '<30>Nov 22 10:00:00 systemd[1]: Started Session 5.', { timestamp: local(2026, 11, 22, 10, 0, 0), app: 'systemd', procid: '1', facility: 3, severity: 6, message: 'Started Session 5.' }],
  ['BusyBox logger (no host, no pid)', '<13>Nov 22 10:00:00 root: hello from busybox', { timestamp: local(2026, 11, 22, 10, 0, 0), app: 'root', message: 'hello from busybox' }],
  ['BusyBox udhcpc', '<14>Nov 22 10:00:00 udhcpc[123]: lease of 10.0.0.9 obtained', { timestamp: local(2026, 11, 22, 10, 0, 0), app: 'udhcpc', procid: '123', severity: 6, message: 'lease of 10.0.0.9 obtained' }],
  [
    'nginx via syslog',
    '<190>Nov 22 10:00:00 web-1 nginx: 127.0.0.1 - - [22/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.5.0"',
    { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'web-1', app: 'nginx', facility: 23, severity: 6, message: '127.0.0.1 - - [22/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.5.0"' },
  ],
  [
    "Docker's syslog driver, rfc3164",
    '<30>Nov 22 10:00:00 dockerhost docker/3f2a1b9c8d7e[812]: hello from the container',
    { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'dockerhost', app: 'docker/3f2a1b9c8d7e', procid: '812', facility: 3, severity: 6, message: 'hello from the container' },
  ],
  [
    'postfix tag with a slash',
    '<22>Nov 22 10:00:00 mail postfix/smtpd[123]: connect from unknown[10.0.0.3]',
    { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'mail', app: 'postfix/smtpd', procid: '123', facility: 2, severity: 6, message: 'connect from unknown[10.0.0.3]' },
  ],
  ['tag with . _ @ -', '<13>Nov 22 10:00:00 h my.app_x@1-2[9]: m', { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'h', app: 'my.app_x@1-2', procid: '9', message: 'm' }],
  ['tag with [pid] but no colon', '<13>Nov 22 10:00:00 h app[9] m', { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'h', app: 'app', procid: '9', message: 'm' }],
  ['tag with empty []', '<13>Nov 22 10:00:00 h app[]: m', { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'h', app: 'app', message: 'm' }],
  ['host but no tag', '<13>Nov 22 10:00:00 host just a message', { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'host', message: 'just a message' }],
  ['a single word after the time is the message', '<13>Nov 22 10:00:00 hello', { timestamp: local(2026, 11, 22, 10, 0, 0), message: 'hello' }],
  ['tag and no message', '<13>Nov 22 10:00:00 host app:', { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'host', app: 'app' }],
  ['tag, SP and no message', '<13>Nov 22 10:00:00 host app: ', { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'host', app: 'app' }],
  ['nothing after the time', '<13>Nov 22 10:00:00', { timestamp: local(2026, 11, 22, 10, 0, 0) }],
  ['tag longer than 128 bytes is message text', `<13>Nov 22 10:00:00 h ${'t'.repeat(128)}: m`, { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'h', message: `${'t'.repeat(128)}: m` }],
  ['tag of 127 bytes + colon', `<13>Nov 22 10:00:00 h ${'t'.repeat(127)}: m`, { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'h', app: 't'.repeat(127), message: 'm' }],
  ['message keeps a second SP', '<13>Nov 22 10:00:00 h a:  m', { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'h', app: 'a', message: ' m' }],
  ['trailing CR LF NUL trimmed', '<13>Nov 22 10:00:00 h a: m\r\n\0', { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'h', app: 'a', message: 'm' }],
  ['leading spaces before the PRI', ' \t<13>Nov 22 10:00:00 h a: m', { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'h', app: 'a', message: 'm' }],
  // Cisco
  [
    'Cisco IOS: seq, *, ms, UTC, trailing colon',
    '<189>123: *Mar  1 18:46:11.123 UTC: %SYS-5-CONFIG_I: Configured from console by vty0 (10.0.0.1)',
    { timestamp: ns('2026-03-01T18:46:11.123Z'), facility: 23, severity: 5, message: '%SYS-5-CONFIG_I: Configured from console by vty0 (10.0.0.1)' },
    Date.UTC(2026, 2, 1, 19, 0, 0),
  ],
  [
    'Cisco IOS: seq, no zone → local time',
    '<187>000045: Mar  1 18:46:11: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to down',
    { timestamp: local(2026, 3, 1, 18, 46, 11), facility: 23, severity: 3, message: '%LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to down' },
    localMs(2026, 3, 1, 19, 0, 0),
  ],
  [
    'Cisco IOS: `.` marker and an unknown zone (kept as local time)',
    '<189>.Mar  1 18:46:11.123 CET: %SYS-5-CONFIG_I: Configured',
    { timestamp: local(2026, 3, 1, 18, 46, 11, 123), facility: 23, severity: 5, message: '%SYS-5-CONFIG_I: Configured' },
    localMs(2026, 3, 1, 19, 0, 0),
  ],
  [
    'Cisco IOS: no seq or marker, zone before `: %`',
    '<189>Mar  1 18:46:11 PST: %SYS-5-CONFIG_I: Configured',
    { timestamp: local(2026, 3, 1, 18, 46, 11), facility: 23, severity: 5, message: '%SYS-5-CONFIG_I: Configured' },
    localMs(2026, 3, 1, 19, 0, 0),
  ],
  [
    'Cisco ASA: year, host, lone colon',
    '<166>Nov 22 2026 10:00:00 asa-1 : %ASA-6-302013: Built outbound TCP connection 1 for outside:10.0.0.1/443',
    { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'asa-1', facility: 20, severity: 6, message: '%ASA-6-302013: Built outbound TCP connection 1 for outside:10.0.0.1/443' },
  ],
  ['Cisco with a host before the %', '<189>Nov 22 10:00:00 rtr1 %SYS-5-CONFIG_I: Configured', { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'rtr1', facility: 23, severity: 5, message: '%SYS-5-CONFIG_I: Configured' }],
  ['an upper-case tag right after the time stays a tag', '<13>Nov 22 10:00:00 CRON: job', { timestamp: local(2026, 11, 22, 10, 0, 0), app: 'CRON', message: 'job' }],
  // no PRI, bad timestamps
  ['no PRI: user.notice, parsed anyway', 'Nov 22 10:00:00 host app: x', { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'host', app: 'app', message: 'x' }],
  ['no PRI and no timestamp: all message', 'just some text', { message: 'just some text' }],
  ['no PRI keeps leading spaces', '   indented text', { message: '   indented text' }],
  ['no timestamp: message is everything after the PRI', '<14>hello world', { severity: 6, message: 'hello world' }],
  ['bad day: no timestamp', '<14>Nov 32 10:00:00 host app: x', { severity: 6, message: 'Nov 32 10:00:00 host app: x' }],
  ['bad hour: no timestamp', '<14>Nov 22 24:00:00 host app: x', { severity: 6, message: 'Nov 22 24:00:00 host app: x' }],
  ['Feb 29 of no nearby leap year: no timestamp', '<14>Feb 29 10:00:00 host app: x', { severity: 6, message: 'Feb 29 10:00:00 host app: x' }],
  ['Nov 31 with a year: no timestamp', '<14>Nov 31 2026 10:00:00 host app: x', { severity: 6, message: 'Nov 31 2026 10:00:00 host app: x' }],
  ['time glued to text: no timestamp', '<14>Nov 22 10:00:00x host', { severity: 6, message: 'Nov 22 10:00:00x host' }],
  ['seq number but no timestamp', '<14>404: not found', { severity: 6, message: '404: not found' }],
  ['PRI only', '<14>', { severity: 6 }],
  ['PRI with leading zero', '<013>Nov 22 10:00:00 h a: x', { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'h', app: 'a', message: 'x' }],
];

const INVALID: [string, string][] = [
  ['', 'empty'],
  ['   \r\n', 'empty'],
  ['\0', 'empty'],
  ['<192>Nov 22 10:00:00 h a: x', 'invalid_pri'],
  ['<>Nov 22 10:00:00 h a: x', 'invalid_pri'],
  ['<13 Nov 22 10:00:00 h a: x', 'invalid_pri'],
  ['<html><body>', 'invalid_pri'],
];

describe('parseRfc3164', () => {
  for (const [name, frame, want, received] of CASES) {
    it(name, () => expectRecord(parseOne(parseRfc3164, frame, received), want, received));
  }

  for (const [frame, reason] of INVALID) {
    it(`fails ${reason}: ${JSON.stringify(frame)}`, () => {
      expectRecord(parseOne(parseRfc3164, frame), { message: frame.replace(/[\r\n\0]+$/, ''), fields: { parse_error: reason } });
    });
  }

  it('puts any yearless local time within half a year of the receive time, in the closest year', () => {
    const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2200, 0, 1) }), fc.integer({ min: -170 * 86_400_000, max: 170 * 86_400_000 }), (received, delta) => {
        const t = new Date(received + delta);
        t.setMilliseconds(0);
        if (t.getMonth() === 1 && t.getDate() === 29) return; // Feb 29: covered by the table
        const frame = `<13>${MONTHS[t.getMonth()]} ${String(t.getDate()).padStart(2, ' ')} ${pad2(t.getHours())}:${pad2(t.getMinutes())}:${pad2(t.getSeconds())} h a: x`;
        const r = parseOne(parseRfc3164, frame, received);
        // local times repeated by a DST fall-back parse as their first occurrence
        const expected = new Date(t.getFullYear(), t.getMonth(), t.getDate(), t.getHours(), t.getMinutes(), t.getSeconds()).getTime();
        assert.equal(r.timestamp, BigInt(expected) * 1_000_000n, frame);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws and keeps every range inside its frame, whatever the bytes (fast-check)', () => {
    checkTotal(parseRfc3164, [
      '', '<13>', '<13>Nov 22 10:00:00 ', '<13>Nov  2 2026 10:00:00.123 UTC', '<189>12: *Mar  1 18:46:11.1 ', '<13>2026-11-22T10:00:00', '<13>Nov 22 10:00:00 h a[',
    ]);
  });

  it('defaults a frame without PRI to user.notice', () => {
    const r = parseOne(parseRfc3164, 'Nov 22 10:00:00 h a: x');
    assert.equal(r.facility, 1);
    assert.equal(r.severity, 5);
    assert.equal(RECEIVED_MS, Date.UTC(2026, 10, 22, 10));
  });
});

function localMs(y: number, m: number, d: number, h: number, mi: number, s: number): number {
  return new Date(y, m - 1, d, h, mi, s).getTime();
}
