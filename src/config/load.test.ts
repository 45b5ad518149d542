import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, SERVE_OPTIONS, envName } from './load.js';
import { ConfigError } from '../errors.js';
import { tempDirs } from '../test-dirs.js';

const tempDir = tempDirs('ringlog-config-');

test('defaults: TCP and UDP on 5140, HTTP on 5080, data in ./ringlog-data', () => {
  const c = loadConfig({ env: {} });
  assert.deepEqual(c.listeners, [
    { type: 'tcp', address: ':5140' },
    { type: 'udp', address: ':5140' },
  ]);
  assert.deepEqual(c.http, { address: ':5080', tokens: [] });
  assert.equal(c.dataDir, './ringlog-data');
  assert.equal(c.limits.maxFrame, 65536);
  assert.equal(c.limits.onOversize, 'truncate');
  assert.equal(c.framing.mode, 'auto');
  assert.equal(c.runtime.heapGrowthPercent, 300);
});

test('flags override env, env overrides the file, file overrides defaults', () => {
  const dir = tempDir();
  const file = join(dir, 'ringlog.yaml');
  writeFileSync(file, 'dataDir: /from/file\nlimits:\n  maxFrame: 8KiB\n  idleTimeout: 1m\npipeline:\n  highWatermark: 16MiB\n  lowWatermark: 8MiB\n');
  const c = loadConfig({ configFile: file, env: { RINGLOG_MAX_FRAME: '16KiB', RINGLOG_DATA_DIR: '/from/env' }, flags: { dataDir: '/from/flag' } });
  assert.equal(c.dataDir, '/from/flag');
  assert.equal(c.limits.maxFrame, 16 * 1024);
  assert.equal(c.limits.idleTimeout, 60_000);
  assert.equal(c.pipeline.highWatermark, 16 * 1024 * 1024);
});

test('listener flags replace the default listeners; TLS files apply to --tls listeners', () => {
  const c = loadConfig({
    env: {},
    flags: { tcp: ['127.0.0.1:0', '[::1]:0'], tls: [':6514'], unixDgram: ['/tmp/x.sock'], tlsCert: 'c.pem', tlsKey: 'k.pem', tlsCa: 'ca.pem' },
  });
  assert.deepEqual(c.listeners, [
    { type: 'tcp', address: '127.0.0.1:0' },
    { type: 'tcp', address: '[::1]:0' },
    { type: 'tls', address: ':6514', cert: 'c.pem', key: 'k.pem', ca: 'ca.pem', requireClientCert: true },
    { type: 'unix-dgram', path: '/tmp/x.sock' },
  ]);
});

test('env lists are comma-separated; --http off disables HTTP', () => {
  const c = loadConfig({ env: { RINGLOG_UDP: '127.0.0.1:1514, 127.0.0.1:1515', RINGLOG_HTTP: 'off', RINGLOG_NUL_DELIMITER: 'false' } });
  assert.equal(c.listeners.length, 2);
  assert.equal(c.http, false);
  assert.equal(c.framing.nulDelimiter, false);
});

function rejects(opts: Parameters<typeof loadConfig>[0], ...fragments: string[]): void {
  assert.throws(() => loadConfig(opts), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'RL_CONFIG_INVALID');
    for (const f of fragments) assert.ok(err.message.includes(f), `message should include ${JSON.stringify(f)}:\n${err.message}`);
    return true;
  });
}

test('a bad value is refused with the key, the flag, the env variable and what is allowed', () => {
  rejects({ env: {}, flags: { maxFrame: 'huge' } }, 'limits.maxFrame', '--max-frame', 'RINGLOG_MAX_FRAME', 'between 64B and 16MiB', '"huge"');
  rejects({ env: { RINGLOG_ON_OVERSIZE: 'explode' } }, 'limits.onOversize', 'truncate', 'drop');
  rejects({ env: {}, flags: { tcp: ['localhost'] } }, 'listeners.0.address', 'host:port');
  rejects({ env: {}, flags: { tcp: ['1.2.3.4:70000'] } }, 'port 0-65535');
  rejects({ env: {}, flags: { highWatermark: '1MiB', lowWatermark: '2MiB' } }, 'pipeline.lowWatermark', 'smaller than highWatermark');
  rejects({ env: {}, flags: { tls: [':6514'] } }, 'listeners.0.cert');
  rejects({ env: {}, flags: { output: ['s3://bucket'] } }, 'outputs.0', 'ndjson:PATH');
  rejects({ env: {}, flags: { maxConnections: 'many' } }, '--max-connections', 'whole number');
  rejects({ env: { RINGLOG_IDLE_TIMEOUT: '-5' } }, 'limits.idleTimeout', 'duration');
});

test('the file may give TLS and Unix socket defaults for its listeners; duplicate names are refused', () => {
  const dir = tempDir();
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'tls: { cert: c.pem, key: k.pem }\nsocketMode: "0666"\nlisteners:\n  - { type: tls, address: ":6514" }\n  - { type: unix-dgram, path: /tmp/log.sock }\n  - { type: unix, path: /tmp/s.sock, mode: "0600" }\n');
  const c = loadConfig({ configFile: file, env: {} });
  assert.deepEqual(c.listeners, [
    { type: 'tls', address: ':6514', cert: 'c.pem', key: 'k.pem' },
    { type: 'unix-dgram', path: '/tmp/log.sock', mode: '0666' },
    { type: 'unix', path: '/tmp/s.sock', mode: '0600' },
  ]);
  writeFileSync(file, 'listeners:\n  - { type: tcp, address: ":1", name: edge }\n  - { type: udp, address: ":1", name: edge }\n');
  rejects({ configFile: file, env: {} }, 'listeners.1.name', 'both named "edge"');
  writeFileSync(file, 'listeners:\n  - { type: udp, address: ":1", framing: octet }\n');
  rejects({ configFile: file, env: {} }, 'framing', 'Unrecognized');
});

test('a TLS listener without a certificate names the flag to use', () => {
  rejects({ env: {}, flags: { tls: [':6514'] } }, 'listeners.0.cert', '--tls-cert');
});

test('unknown keys in the file are refused by name', () => {
  const dir = tempDir();
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ limits: { maxFrane: 10 } }));
  rejects({ configFile: file, env: {} }, 'maxFrane', `file ${file}`);
  writeFileSync(file, JSON.stringify({ runtime: { heapGrowthPercent: -5 } }));
  rejects({ configFile: file, env: {} }, 'runtime.heapGrowthPercent');
  writeFileSync(file, '{ not json');
  rejects({ configFile: file, env: {} }, 'not valid JSON');
  rejects({ configFile: join(dir, 'missing.yaml'), env: {} }, 'cannot read config file');
});

test('every option has a distinct flag and environment variable', () => {
  const flags = new Set(SERVE_OPTIONS.map((d) => d.flag));
  const envs = new Set(SERVE_OPTIONS.map(envName));
  assert.equal(flags.size, SERVE_OPTIONS.length);
  assert.equal(envs.size, SERVE_OPTIONS.length);
});
