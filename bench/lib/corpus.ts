/**
 * Deterministic generator of a realistic log corpus, for measuring the storage
 * engine's compression ratio and query skipping: node dist/bench/lib/corpus.js
 * prints samples, average line sizes and generation speed.
 *
 *   syslog  RFC 3164 / rsyslog forward format (RFC 3339 stamp) / RFC 5424, per host as
 *           a fleet configured for it sends: sshd, systemd, logind, cron, kernel,
 *           postfix, sudo, postgres, redis, dockerd, chronyd, and apps logging RFC 5424
 *           with structured data
 *   nginx   access logs (and a few error-log lines) as nginx sends them over syslog
 *   json    application logs in the shapes of pino, zap, logrus, bunyan and
 *           logstash-logback-encoder
 *   mixed   40% syslog, 30% nginx, 30% json, interleaved on one clock
 *
 * Value distributions: Zipf-like popularity for hosts, apps, URLs, users, products,
 * user agents; lognormal latencies and sizes; ~90%+ 2xx/3xx; a long tail of unique
 * values (request/trace ids, queue ids, container ids, client IPs from a few /16
 * pools, ephemeral ports, pids, session numbers).
 *
 * Everything comes from a seeded PRNG (never Math.random): the same options give the
 * same lines. The lookup tables are built once from a fixed seed, so the fleet, the
 * products and the popularity ranks are the same for every seed; the seed only drives
 * the stream. Lines are ASCII except for a few search terms (UTF-8 in JSON, percent-
 * encoded in URLs).
 */
import { deflateSync } from 'node:zlib';

export type CorpusKind = 'syslog' | 'nginx' | 'json' | 'mixed';

export interface CorpusOptions {
  kind: CorpusKind;
  /** PRNG seed (default 1). */
  seed?: number;
  /** Time of the first line, epoch ms (default 2026-11-22T10:00:00Z). */
  startMs?: number;
  /** Mean lines per second of simulated time (default 20000). */
  ratePerSec?: number;
}

const DEFAULT_START_MS = Date.UTC(2026, 10, 22, 10, 0, 0);

// ---------------------------------------------------------------- PRNG & tables

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const HEX2U: string[] = HEX2.map((h) => h.toUpperCase());
const P2: string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const P3: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Inverse of the standard normal CDF (Acklam's rational approximation, |err| < 1.2e-9). */
function normInv(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -normInv(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** 65536 quantiles of N(0,1): a normal sample is one table lookup. */
const NORM = new Float64Array(65536);
for (let i = 0; i < NORM.length; i++) NORM[i] = normInv((i + 0.5) / NORM.length);

/** mulberry32: small, fast, good enough for synthetic data. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (Math.imul(seed | 0, 0x9e3779b1) ^ 0x5bd1e995) | 0;
    for (let i = 0; i < 4; i++) this.u32();
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  u(): number {
    return this.u32() / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.u() * n);
  }
  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + Math.floor(this.u() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.u() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.u() * a.length)];
  }
  normal(): number {
    return NORM[this.u32() >>> 16];
  }
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * NORM[this.u32() >>> 16]);
  }
  exp(mean: number): number {
    return -Math.log(1 - this.u()) * mean;
  }
  /** Rank in [0, n) with P(rank) ~ 1/(rank+1): continuous Zipf (s = 1) without a table. */
  zipfRank(n: number): number {
    return Math.min(n - 1, Math.floor(Math.exp(this.u() * Math.log(n + 1))) - 1);
  }
  hex8(): string {
    const x = this.u32();
    return HEX2[x >>> 24] + HEX2[(x >>> 16) & 255] + HEX2[(x >>> 8) & 255] + HEX2[x & 255];
  }
  hex16(): string {
    return this.hex8() + this.hex8();
  }
  hex32(): string {
    return this.hex8() + this.hex8() + this.hex8() + this.hex8();
  }
  hexU(bytes: number): string {
    let s = '';
    for (let i = 0; i < bytes; i++) s += HEX2U[this.u32() >>> 24];
    return s;
  }
  chars(alphabet: string, n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.u() * alphabet.length)];
    return s;
  }
}

/** A discrete distribution: pick() is a binary search over the CDF. */
class Dist<T> {
  readonly items: readonly T[];
  private readonly cdf: Float64Array;
  constructor(items: readonly T[], weights: readonly number[]) {
    if (items.length === 0 || items.length !== weights.length) throw new Error('Dist: bad table');
    this.items = items;
    this.cdf = new Float64Array(items.length);
    let sum = 0;
    for (let i = 0; i < items.length; i++) this.cdf[i] = sum += weights[i];
    for (let i = 0; i < items.length; i++) this.cdf[i] /= sum;
    this.cdf[items.length - 1] = 1;
  }
  pick(r: Rng): T {
    const u = r.u();
    const cdf = this.cdf;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (cdf[m] > u) hi = m;
      else lo = m + 1;
    }
    return this.items[lo];
  }
}

/** Popularity ~ 1/rank^s, in the order given. */
function zipf<T>(items: readonly T[], s = 1): Dist<T> {
  return new Dist(items, items.map((_, i) => 1 / Math.pow(i + 1, s)));
}

function weighted<T>(pairs: readonly (readonly [T, number])[]): Dist<T> {
  return new Dist(
    pairs.map((p) => p[0]),
    pairs.map((p) => p[1]),
  );
}

/** Tables are built from this fixed seed: the same fleet and popularity for every stream seed. */
const T = new Rng(20261122);

function shuffled<X>(a: readonly X[]): X[] {
  const b = a.slice();
  for (let i = b.length - 1; i > 0; i--) {
    const j = T.int(i + 1);
    [b[i], b[j]] = [b[j], b[i]];
  }
  return b;
}

// ---------------------------------------------------------------- time formats

const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The time of the current line in every format used; per-second parts are cached. */
class Stamp {
  private sec = NaN;
  /** 2026-11-22T10:00:00 */
  iso = '';
  /** Nov 22 10:00:00 (RFC 3164, day space-padded) */
  bsd = '';
  /** 22/Nov/2026:10:00:00 +0000 */
  ngx = '';
  /** 2026/11/22 10:00:00 (nginx error log) */
  ngxErr = '';
  /** 22 Nov 2026 10:00:00 (redis) */
  redis = '';
  /** 2026-11-22 10:00:00 (postgres %m) */
  pg = '';
  /** epoch seconds */
  epochSec = 0;
  /** milliseconds within the second, 3 digits */
  ms3 = '000';
  /** microseconds within the second, 6 digits */
  us6 = '000000';
  /** epoch ms, integer */
  epochMs = 0;

  set(ms: number): void {
    const sec = Math.floor(ms / 1000);
    if (sec !== this.sec) this.fill(sec);
    const us = Math.floor((ms - sec * 1000) * 1000);
    const m = Math.floor(us / 1000);
    this.ms3 = P3[m];
    this.us6 = P3[m] + P3[us - m * 1000];
    this.epochMs = sec * 1000 + m;
  }

  private fill(sec: number): void {
    const d = new Date(sec * 1000);
    const Y = d.getUTCFullYear();
    const M = d.getUTCMonth();
    const D = d.getUTCDate();
    const hms = `${P2[d.getUTCHours()]}:${P2[d.getUTCMinutes()]}:${P2[d.getUTCSeconds()]}`;
    this.sec = sec;
    this.epochSec = sec;
    this.iso = `${Y}-${P2[M + 1]}-${P2[D]}T${hms}`;
    this.bsd = `${MON[M]} ${D < 10 ? ' ' : ''}${D} ${hms}`;
    this.ngx = `${P2[D]}/${MON[M]}/${Y}:${hms} +0000`;
    this.ngxErr = `${Y}/${P2[M + 1]}/${P2[D]} ${hms}`;
    this.redis = `${D} ${MON[M]} ${Y} ${hms}`;
    this.pg = `${Y}-${P2[M + 1]}-${P2[D]} ${hms}`;
  }
}

/** Per-stream state shared by the line builders. */
interface Ctx {
  r: Rng;
  st: Stamp;
  /** time of this line, epoch ms (fractional) */
  ms: number;
  /** seconds since the start of the stream */
  elapsed: number;
  /** monotonically increasing counters (sessions, nginx connections, orders) */
  session: number;
  conn: number;
  // set by JSON events
  lvl: number;
  msg: string;
  err: number;
}

/** `ms` as seconds with 3 decimals, like nginx $request_time. */
function secs3(ms: number): string {
  const m = Math.max(0, Math.round(ms));
  const s = Math.floor(m / 1000);
  return `${s}.${P3[m - s * 1000]}`;
}

/** A number with 2 decimals. */
function dec2(x: number): string {
  const c = Math.round(x * 100);
  const i = Math.floor(c / 100);
  return `${i}.${P2[c - i * 100]}`;
}

/** A number with 3 decimals. */
function dec3(x: number): string {
  const c = Math.round(x * 1000);
  const i = Math.floor(c / 1000);
  return `${i}.${P3[c - i * 1000]}`;
}

// ---------------------------------------------------------------- fleet

interface Host {
  name: string;
  ip: string;
  /** syslog header: 0 RFC 3164, 1 rsyslog forward format (RFC 3339 stamp), 2 RFC 5424 */
  style: 0 | 1 | 2;
  region: string;
  az: string;
  /** uptime in seconds at the stream start (kernel timestamps) */
  boot: number;
  /** base of this host's daemon pids */
  pidBase: number;
  /** exposed to the internet: brute-force ssh, port scans */
  exposed: boolean;
  /** nginx log_format variant for web hosts: 0 main+timings, 1 with request id and upstream */
  ngxFmt: 0 | 1;
  mac: string;
}

let hostCount = 0;
function host(name: string, exposed = false): Host {
  const i = hostCount++;
  const eu = T.chance(0.6);
  const region = eu ? 'eu-west-1' : 'us-east-1';
  const style = (i % 5 < 2 ? 0 : i % 5 < 4 ? 1 : 2) as 0 | 1 | 2;
  let mac = '0a';
  for (let k = 0; k < 5; k++) mac += ':' + HEX2[T.int(256)];
  return {
    name,
    ip: `10.${eu ? 1 : 2}.${T.range(0, 15)}.${T.range(4, 250)}`,
    style,
    region,
    az: region + 'abc'[T.int(3)],
    boot: T.range(3600, 90 * 86400),
    pidBase: T.range(300, 2500),
    exposed,
    ngxFmt: T.chance(0.3) ? 1 : 0,
    mac,
  };
}

const nums = (n: number, pad: number) => Array.from({ length: n }, (_, i) => String(i + 1).padStart(pad, '0'));
const WEB = nums(40, 2).map((n) => host(`web-${n}`));
const EDGE = nums(4, 2).map((n) => host(`edge-${n}`, true));
const DB = [host('db-primary'), ...nums(3, 1).map((n) => host(`db-replica-${n}`))];
const CACHE = nums(8, 2).map((n) => host(`cache-${n}`));
const WORKER = nums(12, 2).map((n) => host(`worker-${n}`));
const MAIL = [host('mail-01', true), host('mail-02', true)];
const BASTION = [host('bastion-01', true)];
const ALL = [...WEB, ...EDGE, ...DB, ...CACHE, ...WORKER, ...MAIL, ...BASTION];
const EXPOSED = [...EDGE, ...MAIL, ...BASTION];

const H_WEB = zipf(shuffled(WEB), 0.7);
const H_NGINX = zipf([...shuffled(EDGE), ...shuffled(WEB)], 0.8);
const H_ALL = zipf(shuffled(ALL), 0.6);
const H_DB = zipf(DB, 1.2);
const H_CACHE = zipf(shuffled(CACHE), 0.8);
const H_APP = zipf(shuffled([...WEB, ...WORKER]), 0.7);
const H_MAIL = zipf(MAIL, 1);
const H_SSH = weighted<Host>([...ALL.map((h) => [h, 1] as const), [BASTION[0], 40], ...EDGE.map((h) => [h, 6] as const)]);
const H_SUDO = weighted<Host>([...ALL.map((h) => [h, 1] as const), [BASTION[0], 10], ...DB.map((h) => [h, 5] as const)]);

// ---------------------------------------------------------------- addresses

/** Public client address pools (/16 each) and their share of traffic. */
const CLIENT_POOLS = weighted([
  ['81.2', 22], ['92.40', 18], ['84.17', 12], ['176.58', 10], ['73.12', 14], ['100.36', 8], ['151.29', 6], ['188.114', 4],
] as const);
const ATTACK_POOLS = weighted([['218.92', 30], ['61.177', 25], ['45.155', 15], ['193.32', 12], ['141.98', 10], ['185.220', 8]] as const);

function ipIn(r: Rng, pool: string): string {
  return `${pool}.${r.range(0, 255)}.${r.range(1, 254)}`;
}

/** Returning clients: a fixed set with Zipf popularity; the rest are new addresses. */
const CLIENTS: string[] = Array.from({ length: 30000 }, () =>
  T.chance(0.05)
    ? `2a02:8109:${HEX2[T.int(256)]}${HEX2[T.int(256)]}:${HEX2[T.int(256)]}00:${T.hexU(2).toLowerCase()}:${T.hexU(2).toLowerCase()}:${T.hexU(2).toLowerCase()}:${T.hexU(2).toLowerCase()}`
    : ipIn(T, CLIENT_POOLS.pick(T)),
);
function clientIp(r: Rng): string {
  return r.chance(0.8) ? CLIENTS[r.zipfRank(CLIENTS.length)] : ipIn(r, CLIENT_POOLS.pick(r));
}
const ATTACKERS: string[] = Array.from({ length: 400 }, () => ipIn(T, ATTACK_POOLS.pick(T)));
function attackerIp(r: Rng): string {
  return r.chance(0.85) ? ATTACKERS[r.zipfRank(ATTACKERS.length)] : ipIn(r, ATTACK_POOLS.pick(r));
}
const LB_IPS = ['10.0.1.17', '10.0.2.41', '10.0.3.9', '10.0.1.112', '10.0.2.203', '10.0.3.77'];
const VPN_IPS = Array.from({ length: 60 }, () => `10.8.${T.range(0, 3)}.${T.range(2, 250)}`);
const PROM_IPS = ['10.0.5.21', '10.0.5.22'];
const UPSTREAMS = Array.from({ length: 16 }, () => `10.${T.range(1, 2)}.${T.range(16, 31)}.${T.range(2, 250)}:8080`);
const ephemeral = (r: Rng) => r.range(32768, 60999);

// ---------------------------------------------------------------- syslog

const FAC_KERN = 0, FAC_MAIL = 2, FAC_DAEMON = 3, FAC_AUTHPRIV = 10, FAC_CRON = 9, FAC_LOCAL0 = 16, FAC_LOCAL7 = 23;
const SEV_ALERT = 1, SEV_ERR = 3, SEV_WARNING = 4, SEV_NOTICE = 5, SEV_INFO = 6;
const pri = (fac: number, sev: number) => fac * 8 + sev;

/** Syslog header as the host's forwarder writes it; pid 0 = no pid. */
function sysHead(c: Ctx, h: Host, p: number, tag: string, pid: number): string {
  const st = c.st;
  switch (h.style) {
    case 0:
      return pid ? `<${p}>${st.bsd} ${h.name} ${tag}[${pid}]: ` : `<${p}>${st.bsd} ${h.name} ${tag}: `;
    case 1:
      return pid
        ? `<${p}>${st.iso}.${st.us6}+00:00 ${h.name} ${tag}[${pid}]: `
        : `<${p}>${st.iso}.${st.us6}+00:00 ${h.name} ${tag}: `;
    default:
      return `<${p}>1 ${st.iso}.${st.us6}+00:00 ${h.name} ${tag} ${pid || '-'} - - `;
  }
}

const daemonPid = (h: Host, k: number) => h.pidBase + k * 37;
const transientPid = (r: Rng) => r.range(1000, 420000);

const LOGIN_USERS = zipf(['deploy', 'ubuntu', 'ansible', 'alice', 'bob', 'jenkins', 'carol', 'git', 'dave', 'backup', 'erin', 'frank', 'ec2-user', 'postgres'], 1.1);
const UID: Record<string, number> = { root: 0, postgres: 113, 'www-data': 33 };
LOGIN_USERS.items.forEach((u, i) => (UID[u] ??= 1000 + i));
const FPR: Record<string, string> = {};
for (const u of LOGIN_USERS.items) FPR[u] = `${T.chance(0.7) ? 'ED25519' : 'RSA'} SHA256:${T.chars(B64, 43)}`;
const BAD_USERS = zipf(
  ['root', 'admin', 'test', 'user', 'ubuntu', 'oracle', 'guest', 'postgres', 'pi', 'ftpuser', 'support', 'git', 'hadoop', 'test1', 'mysql', 'ubnt', 'administrator', 'deploy', 'jenkins', 'minecraft', 'steam', 'nagios', 'tomcat', 'sysadmin', 'dev', 'user1', 'es', 'solana', 'sol', 'validator'],
  0.9,
);
function badUser(r: Rng): string {
  return r.chance(0.9) ? BAD_USERS.pick(r) : r.chars('abcdefghijklmnopqrstuvwxyz', r.range(3, 8)) + (r.chance(0.4) ? r.range(1, 99) : '');
}

function sshd(c: Ctx): string {
  const r = c.r;
  const h = H_SSH.pick(r);
  const pid = transientPid(r);
  const hd = (sev: number) => sysHead(c, h, pri(FAC_AUTHPRIV, sev), 'sshd', pid);
  if (h.exposed && r.chance(0.75)) {
    const ip = attackerIp(r);
    const port = ephemeral(r);
    const u = badUser(r);
    switch (r.int(9)) {
      case 0:
      case 1:
        return u === 'root'
          ? `${hd(SEV_INFO)}Failed password for root from ${ip} port ${port} ssh2`
          : `${hd(SEV_INFO)}Failed password for invalid user ${u} from ${ip} port ${port} ssh2`;
      case 2:
        return `${hd(SEV_INFO)}Invalid user ${u} from ${ip} port ${port}`;
      case 3:
        return `${hd(SEV_INFO)}Received disconnect from ${ip} port ${port}:11: Bye Bye [preauth]`;
      case 4:
        return `${hd(SEV_INFO)}Disconnected from invalid user ${u} ${ip} port ${port} [preauth]`;
      case 5:
        return `${hd(SEV_INFO)}Connection closed by authenticating user root ${ip} port ${port} [preauth]`;
      case 6:
        return `${hd(SEV_NOTICE)}pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${ip}  user=${u}`;
      case 7:
        return `${hd(SEV_ERR)}error: kex_exchange_identification: read: Connection reset by peer`;
      default:
        return `${hd(SEV_INFO)}Connection reset by ${ip} port ${port} [preauth]`;
    }
  }
  const u = LOGIN_USERS.pick(r);
  const ip = h === BASTION[0] ? r.pick(VPN_IPS) : BASTION[0].ip;
  const port = ephemeral(r);
  switch (r.int(6)) {
    case 0:
    case 1:
      return `${hd(SEV_INFO)}Accepted publickey for ${u} from ${ip} port ${port} ssh2: ${FPR[u]}`;
    case 2:
      return `${hd(SEV_INFO)}pam_unix(sshd:session): session opened for user ${u}(uid=${UID[u]}) by (uid=0)`;
    case 3:
      return `${hd(SEV_INFO)}pam_unix(sshd:session): session closed for user ${u}`;
    case 4:
      return `${hd(SEV_INFO)}Received disconnect from ${ip} port ${port}:11: disconnected by user`;
    default:
      return `${hd(SEV_INFO)}Disconnected from user ${u} ${ip} port ${port}`;
  }
}

const UNITS = zipf([
  'sysstat-collect.service - system activity accounting tool',
  'phpsessionclean.service - Clean php session files',
  'node-exporter-textfile.service - Collect node-exporter textfile metrics',
  'logrotate.service - Rotate log files',
  'systemd-tmpfiles-clean.service - Cleanup of Temporary Directories',
  'apt-daily.service - Daily apt download activities',
  'apt-daily-upgrade.service - Daily apt upgrade and clean activities',
  'man-db.service - Daily man-db regeneration',
  'certbot.service - Certbot',
  'motd-news.service - Message of the Day',
  'fstrim.service - Discard unused blocks on filesystems from /etc/fstab',
  'fwupd-refresh.service - Refresh fwupd metadata and update motd',
  'update-notifier-download.service - Download data for packages that failed at package install time',
  'snapd.service - Snap Daemon',
  'e2scrub_all.service - Online ext4 Metadata Check for All Filesystems',
  'dpkg-db-backup.service - Daily dpkg database backup service',
]);

function systemd(c: Ctx): string {
  const r = c.r;
  const h = H_ALL.pick(r);
  const hd = sysHead(c, h, pri(FAC_DAEMON, SEV_INFO), 'systemd', 1);
  const unit = UNITS.pick(r);
  const name = unit.slice(0, unit.indexOf(' '));
  switch (r.int(10)) {
    case 0:
    case 1:
      return `${hd}Starting ${unit}...`;
    case 2:
    case 3:
      return `${hd}Finished ${unit}.`;
    case 4:
    case 5:
      return `${hd}${name}: Deactivated successfully.`;
    case 6:
      return `${hd}${name}: Consumed ${dec3(r.lognormal(0.15, 1.2))}s CPU time.`;
    case 7: {
      const u = LOGIN_USERS.pick(r);
      return `${hd}Started session-${c.session - r.int(50)}.scope - Session ${c.session - r.int(50)} of User ${u}.`;
    }
    case 8:
      return r.chance(0.9)
        ? `${hd}Started ${unit}.`
        : `${sysHead(c, h, pri(FAC_DAEMON, SEV_WARNING), 'systemd', 1)}${name}: Main process exited, code=exited, status=1/FAILURE`;
    default:
      return r.chance(0.95)
        ? `${hd}Stopped ${unit}.`
        : `${sysHead(c, h, pri(FAC_DAEMON, SEV_ERR), 'systemd', 1)}Failed to start ${unit}.`;
  }
}

function logind(c: Ctx): string {
  const r = c.r;
  const h = H_SSH.pick(r);
  const hd = sysHead(c, h, pri(FAC_AUTHPRIV, SEV_INFO), 'systemd-logind', daemonPid(h, 1));
  const s = r.chance(0.5) ? ++c.session : c.session - r.int(40);
  switch (r.int(3)) {
    case 0:
      return `${hd}New session ${s} of user ${LOGIN_USERS.pick(r)}.`;
    case 1:
      return `${hd}Session ${s} logged out. Waiting for processes to exit.`;
    default:
      return `${hd}Removed session ${s}.`;
  }
}

const CRON_JOBS = zipf([
  '(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)',
  '(www-data) CMD (php /var/www/shop/artisan schedule:run >> /dev/null 2>&1)',
  '(root) CMD (   cd / && run-parts --report /etc/cron.hourly)',
  '(root) CMD (/usr/local/bin/node-exporter-textfile.sh > /var/lib/node_exporter/textfile/app.prom.$$ && mv /var/lib/node_exporter/textfile/app.prom.$$ /var/lib/node_exporter/textfile/app.prom)',
  '(deploy) CMD (/opt/shop/bin/rotate-tokens --quiet)',
  '(root) CMD ([ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; then /usr/lib/php/sessionclean; fi)',
  '(postgres) CMD (/usr/local/bin/pg-backup.sh --incremental >> /var/log/pg-backup.log 2>&1)',
  '(root) CMD (test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; })',
  '(root) CMD (/usr/bin/certbot -q renew --no-random-sleep-on-renew)',
  '(backup) CMD (/usr/local/bin/restic-backup.sh)',
]);

function cron(c: Ctx): string {
  const r = c.r;
  const h = H_ALL.pick(r);
  const pid = transientPid(r);
  const hd = sysHead(c, h, pri(FAC_CRON, SEV_INFO), 'CRON', pid);
  switch (r.int(4)) {
    case 0:
    case 1:
      return `${hd}${CRON_JOBS.pick(r)}`;
    case 2:
      return `${sysHead(c, h, pri(FAC_AUTHPRIV, SEV_INFO), 'CRON', pid)}pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)`;
    default:
      return `${sysHead(c, h, pri(FAC_AUTHPRIV, SEV_INFO), 'CRON', pid)}pam_unix(cron:session): session closed for user root`;
  }
}

const SCAN_PORTS = zipf([23, 22, 3389, 445, 8080, 5900, 2323, 1433, 3306, 8443, 81, 6379, 5555, 9200, 8888, 21, 25, 110, 7547, 37215]);
const KERNEL_OTHER = weighted<(c: Ctx, h: Host) => [number, string]>([
  [(c) => [SEV_WARNING, `TCP: request_sock_TCP: Possible SYN flooding on port ${c.r.chance(0.8) ? 443 : 80}. Sending cookies.  Check SNMP counters.`], 3],
  [(c) => [SEV_INFO, `EXT4-fs (nvme${c.r.int(2)}n1p1): re-mounted. Opts: errors=remount-ro. Quota mode: none.`], 2],
  [(c) => [SEV_INFO, `EXT4-fs (nvme1n1): mounted filesystem ${c.r.hex8()}-${c.r.hex8().slice(0, 4)}-${c.r.hex8().slice(0, 4)}-${c.r.hex8().slice(0, 4)}-${c.r.hex16().slice(0, 12)} r/w with ordered data mode. Quota mode: none.`], 1],
  [() => [SEV_INFO, 'ena 0000:00:05.0 eth0: Link is Up'], 1],
  [() => [SEV_INFO, 'e1000e 0000:00:1f.6 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx'], 1],
  [() => [SEV_WARNING, 'nf_conntrack: nf_conntrack: table full, dropping packet'], 1],
  [(c) => [SEV_NOTICE, `audit: type=1400 audit(${c.st.epochSec}.${c.st.ms3}:${c.r.range(100, 9999)}): apparmor="DENIED" operation="open" class="file" profile="/usr/sbin/chronyd" name="/proc/${c.r.range(300, 9999)}/status" pid=${c.r.range(300, 9999)} comm="chronyd" requested_mask="r" denied_mask="r" fsuid=0 ouid=0`], 2],
  [(c) => [SEV_ERR, `Out of memory: Killed process ${transientPid(c.r)} (java) total-vm:${c.r.range(6, 12)}${c.r.range(100000, 999999)}kB, anon-rss:${c.r.range(3, 7)}${c.r.range(100000, 999999)}kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:${c.r.range(8000, 16000)}kB oom_score_adj:0`], 0.2],
  [(c, h) => h.name.startsWith('worker')
    ? [SEV_INFO, `docker0: port ${c.r.range(1, 9)}(veth${c.r.hex8().slice(0, 7)}) entered ${c.r.chance(0.5) ? 'blocking' : 'forwarding'} state`]
    : [SEV_INFO, `IPv6: ADDRCONF(NETDEV_CHANGE): eth${c.r.int(2)}: link becomes ready`], 1.5],
]);

function kernel(c: Ctx): string {
  const r = c.r;
  const h = r.chance(0.5) ? r.pick(EXPOSED) : H_ALL.pick(r);
  const uptime = h.boot + c.elapsed;
  const ts = `[${Math.floor(uptime)}.${P3[r.int(1000)]}${P3[r.int(1000)]}] `;
  if (h.exposed && r.chance(0.85)) {
    const dpt = SCAN_PORTS.pick(r);
    const text = `[UFW BLOCK] IN=eth0 OUT= MAC=${h.mac}:0a:3e:12:b4:c1:9f:08:00 SRC=${attackerIp(r)} DST=${h.ip} LEN=${r.chance(0.8) ? 40 : 60} TOS=0x00 PREC=0x00 TTL=${r.range(40, 250)} ID=${r.range(0, 65535)} ${r.chance(0.3) ? 'DF ' : ''}PROTO=TCP SPT=${r.range(1024, 65535)} DPT=${dpt} WINDOW=${r.pick([1024, 65535, 29200, 14600])} RES=0x00 SYN URGP=0`;
    return `${sysHead(c, h, pri(FAC_KERN, SEV_WARNING), 'kernel', 0)}${ts}${text}`;
  }
  const [sev, text] = KERNEL_OTHER.pick(r)(c, h);
  return `${sysHead(c, h, pri(FAC_KERN, sev), 'kernel', 0)}${ts}${text}`;
}

const MAIL_FROM = zipf(['noreply@shop.example.com', 'orders@shop.example.com', 'alerts@ops.example.com', 'newsletter@shop.example.com', 'root@worker-03.internal', 'billing@shop.example.com']);
const MAIL_DOMAINS = zipf(['gmail.com', 'outlook.com', 'yahoo.com', 'icloud.com', 'gmx.de', 'web.de', 'hotmail.com', 'proton.me', 'orange.fr', 'aol.com', 'mail.ru', 'example.org']);
const MX: Record<string, string> = {
  'gmail.com': 'gmail-smtp-in.l.google.com[142.250.102.27]:25',
  'outlook.com': 'outlook-com.olc.protection.outlook.com[52.101.68.15]:25',
  'hotmail.com': 'hotmail-com.olc.protection.outlook.com[52.101.8.43]:25',
  'yahoo.com': 'mta7.am0.yahoodns.net[67.195.204.73]:25',
  'icloud.com': 'mx01.mail.icloud.com[17.57.154.6]:25',
};
for (const d of MAIL_DOMAINS.items) MX[d] ??= `mx.${d}[${ipIn(T, '212.227')}]:25`;
const RCPT_NAMES = Array.from({ length: 3000 }, () => T.chars('abcdefghijklmnopqrstuvwxyz', T.range(3, 7)) + (T.chance(0.5) ? '.' + T.chars('abcdefghijklmnopqrstuvwxyz', T.range(3, 9)) : '') + (T.chance(0.3) ? T.range(1, 99) : ''));

function postfix(c: Ctx): string {
  const r = c.r;
  const h = H_MAIL.pick(r);
  const qid = r.hexU(5);
  switch (r.int(8)) {
    case 0: {
      const ip = r.chance(0.6) ? attackerIp(r) : `10.${r.range(1, 2)}.${r.range(0, 15)}.${r.range(4, 250)}`;
      return `${sysHead(c, h, pri(FAC_MAIL, SEV_INFO), 'postfix/smtpd', transientPid(r))}connect from unknown[${ip}]`;
    }
    case 1: {
      const ip = attackerIp(r);
      return `${sysHead(c, h, pri(FAC_MAIL, SEV_INFO), 'postfix/smtpd', transientPid(r))}disconnect from unknown[${ip}] ehlo=1 mail=1 rcpt=0/1 rset=1 quit=1 commands=4/5`;
    }
    case 2: {
      const ip = attackerIp(r);
      const to = `${r.pick(RCPT_NAMES)}@${MAIL_DOMAINS.pick(r)}`;
      return `${sysHead(c, h, pri(FAC_MAIL, SEV_INFO), 'postfix/smtpd', transientPid(r))}NOQUEUE: reject: RCPT from unknown[${ip}]: 554 5.7.1 <${to}>: Relay access denied; from=<${r.pick(RCPT_NAMES)}@${MAIL_DOMAINS.pick(r)}> to=<${to}> proto=ESMTP helo=<${r.chance(0.5) ? 'User' : ip}>`;
    }
    case 3:
      return `${sysHead(c, h, pri(FAC_MAIL, SEV_INFO), 'postfix/qmgr', daemonPid(h, 3))}${qid}: from=<${MAIL_FROM.pick(r)}>, size=${Math.round(r.lognormal(6000, 0.8))}, nrcpt=1 (queue active)`;
    case 4:
    case 5: {
      const d = MAIL_DOMAINS.pick(r);
      const delay = r.lognormal(0.6, 0.9);
      const ok = r.chance(0.93);
      return `${sysHead(c, h, pri(FAC_MAIL, SEV_INFO), 'postfix/smtp', transientPid(r))}${qid}: to=<${r.pick(RCPT_NAMES)}@${d}>, relay=${MX[d]}, delay=${dec2(delay)}, delays=0.01/0/${dec2(delay * 0.3)}/${dec2(delay * 0.69)}, dsn=${ok ? '2.0.0' : '4.2.1'}, status=${ok ? `sent (250 2.0.0 OK  ${c.st.epochSec} ${r.chars(B62, 20)} - gsmtp)` : 'deferred (host said: 421 4.7.0 Try again later, closing connection. (in reply to end of DATA command))'}`;
    }
    case 6:
      return `${sysHead(c, h, pri(FAC_MAIL, SEV_INFO), 'postfix/cleanup', transientPid(r))}${qid}: message-id=<${c.st.epochSec}.${r.hex16()}@shop.example.com>`;
    default:
      return r.chance(0.7)
        ? `${sysHead(c, h, pri(FAC_MAIL, SEV_INFO), 'postfix/qmgr', daemonPid(h, 3))}${qid}: removed`
        : `${sysHead(c, h, pri(FAC_MAIL, SEV_WARNING), 'postfix/smtpd', transientPid(r))}warning: hostname ${r.chance(0.5) ? 'static' : 'host'}-${r.range(1, 254)}-${r.range(1, 254)}.${r.pick(['dynamic.isp.example.net', 'pool.provider.example', 'rev.cloud.example.com'])} does not resolve to address ${attackerIp(r)}: Name or service not known`;
  }
}

const SUDO_CMDS = zipf([
  '/usr/bin/systemctl restart nginx',
  '/usr/bin/journalctl -u api-gateway -n 200 --no-pager',
  '/usr/bin/docker ps',
  '/usr/bin/tail -n 100 /var/log/syslog',
  '/usr/bin/systemctl status postgresql@16-main',
  '/usr/bin/apt-get update',
  '/usr/sbin/ufw status verbose',
  '/usr/bin/cat /var/log/nginx/error.log',
  '/usr/bin/psql -U postgres -c select * from pg_stat_activity',
  '/usr/bin/systemctl reload nginx',
  '/bin/bash',
  '/usr/bin/du -sh /var/lib/docker',
]);
const SUDO_PWD = ['/home/deploy', '/srv/shop', '/var/log', '/etc/nginx', '/tmp', '/root'];

function sudo(c: Ctx): string {
  const r = c.r;
  const h = H_SUDO.pick(r);
  const pid = transientPid(r);
  const u = LOGIN_USERS.pick(r);
  const tty = r.chance(0.8) ? `pts/${r.int(4)}` : 'unknown';
  switch (r.int(5)) {
    case 0:
    case 1: {
      const cmd = u === 'ansible'
        ? `/bin/sh -c echo BECOME-SUCCESS-${r.chars('abcdefghijklmnopqrstuvwxyz', 32)} ; /usr/bin/python3 /home/ansible/.ansible/tmp/ansible-tmp-${c.st.epochSec}.${r.range(10, 99)}-${r.range(1000, 99999)}-${r.range(10 ** 13, 10 ** 14 - 1)}/AnsiballZ_${r.pick(['apt', 'systemd', 'copy', 'command', 'stat', 'file', 'setup'])}.py`
        : SUDO_CMDS.pick(r);
      return `${sysHead(c, h, pri(FAC_AUTHPRIV, SEV_NOTICE), 'sudo', pid)}${u} : TTY=${tty} ; PWD=${r.pick(SUDO_PWD)} ; USER=root ; COMMAND=${cmd}`;
    }
    case 2:
      return `${sysHead(c, h, pri(FAC_AUTHPRIV, SEV_INFO), 'sudo', pid)}pam_unix(sudo:session): session opened for user root(uid=0) by ${u}(uid=${UID[u]})`;
    case 3:
      return `${sysHead(c, h, pri(FAC_AUTHPRIV, SEV_INFO), 'sudo', pid)}pam_unix(sudo:session): session closed for user root`;
    default:
      return r.chance(0.9)
        ? `${sysHead(c, h, pri(FAC_AUTHPRIV, SEV_INFO), 'sudo', pid)}pam_unix(sudo:session): session opened for user root(uid=0) by ${u}(uid=${UID[u]})`
        : `${sysHead(c, h, pri(FAC_AUTHPRIV, SEV_ALERT), 'sudo', pid)}${u} : 3 incorrect password attempts ; TTY=${tty} ; PWD=/home/${u} ; USER=root ; COMMAND=/bin/bash`;
  }
}

/** Apps sending RFC 5424 themselves, with structured data. */
const APPS5424 = zipf(['api-gateway', 'billing', 'inventory-sync', 'auth-proxy', 'feature-flags', 'image-resizer']);
const APP_VER: Record<string, string> = { 'api-gateway': '2.14.1', billing: '5.3.0', 'inventory-sync': '1.9.12', 'auth-proxy': '0.31.4', 'feature-flags': '3.0.2', 'image-resizer': '1.2.7' };
const TENANTS = zipf(['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne', 'wonka', 'tyrell', 'soylent', 'cyberdyne', 'aperture']);
const GW_ROUTES = zipf(['/v1/orders', '/v1/products', '/v1/cart', '/v1/users/me', '/v1/search', '/v1/payments', '/v1/inventory', '/v2/recommendations']);

function app5424(c: Ctx): string {
  const r = c.r;
  const h = H_APP.pick(r);
  const app = APPS5424.pick(r);
  const st = c.st;
  const roll = r.u();
  let sev = SEV_INFO;
  let msgid = 'ACCESS';
  let msg: string;
  if (roll < 0.55) {
    const status = r.chance(0.95) ? 200 : r.pick([400, 401, 404, 429, 500, 503]);
    if (status >= 500) sev = SEV_ERR;
    else if (status >= 400) sev = SEV_WARNING;
    msg = `request completed method=${r.chance(0.8) ? 'GET' : 'POST'} path=${GW_ROUTES.pick(r)} status=${status} dur_ms=${Math.round(r.lognormal(18, 0.9))} bytes=${Math.round(r.lognormal(900, 1))}`;
  } else if (roll < 0.7) {
    msgid = 'AUDIT';
    sev = SEV_NOTICE;
    msg = `token validated sub=user-${r.zipfRank(250000) + 1} scope="${r.pick(['orders:read', 'orders:write', 'profile', 'cart'])}" exp=${st.epochSec + r.range(60, 3600)}`;
  } else if (roll < 0.85) {
    msgid = 'METRICS';
    msg = `pool stats active=${r.range(0, 64)} idle=${r.range(0, 32)} waiting=${r.chance(0.9) ? 0 : r.range(1, 20)} max=64`;
  } else if (roll < 0.95) {
    msgid = '-';
    msg = `cache refresh completed keys=${r.range(100, 50000)} took=${Math.round(r.lognormal(120, 0.7))}ms`;
  } else {
    msgid = '-';
    sev = r.chance(0.7) ? SEV_WARNING : SEV_ERR;
    msg = sev === SEV_WARNING
      ? `rate limit exceeded client=${clientIp(r)} limit=100/s tenant=${TENANTS.pick(r)}`
      : `upstream ${r.pick(UPSTREAMS)} failed: connection refused, retrying (attempt ${r.range(1, 3)}/3)`;
  }
  const sd = r.chance(0.25)
    ? `[meta@32473 req="${r.hex16()}" region="${h.region}" tenant="${TENANTS.pick(r)}"][origin ip="${h.ip}" software="${app}" swVersion="${APP_VER[app]}"]`
    : r.chance(0.1)
      ? `[timeQuality tzKnown="1" isSynced="1" syncAccuracy="${r.range(1000, 90000)}"][meta@32473 req="${r.hex16()}" region="${h.region}"]`
      : `[meta@32473 req="${r.hex16()}" region="${h.region}" az="${h.az}" tenant="${TENANTS.pick(r)}"]`;
  return `<${pri(FAC_LOCAL0, sev)}>1 ${st.iso}.${st.ms3}Z ${h.name} ${app} ${daemonPid(h, 5 + APPS5424.items.indexOf(app))} ${msgid} ${sd} ${msg}`;
}

const PG_STMTS = zipf([
  'SELECT o.id, o.status, o.total_cents, o.created_at FROM orders o WHERE o.user_id = $1 ORDER BY o.created_at DESC LIMIT 20',
  'SELECT p.* FROM products p WHERE p.category_id = $1 AND p.active ORDER BY p.popularity DESC LIMIT 48 OFFSET $2',
  'UPDATE inventory SET reserved = reserved + $1, updated_at = now() WHERE sku = $2',
  'INSERT INTO order_items (order_id, product_id, qty, price_cents) VALUES ($1, $2, $3, $4)',
  'SELECT count(*) FROM events WHERE tenant_id = $1 AND created_at > now() - interval \'1 hour\'',
  'DELETE FROM sessions WHERE expires_at < now()',
  'SELECT u.id, u.email, u.locale FROM users u WHERE u.id = ANY($1)',
  'UPDATE orders SET status = $1, updated_at = now() WHERE id = $2',
  'WITH r AS (SELECT product_id, sum(qty) q FROM order_items WHERE created_at > $1 GROUP BY 1) SELECT * FROM r ORDER BY q DESC LIMIT 100',
]);
const PG_USERS = weighted([['app@shop', 80], ['reporting@shop', 12], ['postgres@postgres', 5], ['replicator@[unknown]', 3]] as const);
const PG_APPS = zipf(['order-service', 'catalog-service', 'cart-service', 'payment-service', 'metabase', 'psql']);

function postgres(c: Ctx): string {
  const r = c.r;
  const h = H_DB.pick(r);
  const pid = r.chance(0.1) ? daemonPid(h, 2) : r.range(10000, 999999);
  const st = c.st;
  const pre = (sev: number) =>
    `${sysHead(c, h, pri(FAC_LOCAL0, sev), 'postgres', pid)}[${r.range(1, 9000)}-1] ${st.pg}.${st.ms3} UTC [${pid}] ${PG_USERS.pick(r)} `;
  const roll = r.u();
  if (roll < 0.55) {
    const d = 250 + r.lognormal(120, 1.2);
    return `${pre(SEV_INFO)}LOG:  duration: ${dec3(d)} ms  execute S_${r.range(1, 40)}: ${PG_STMTS.pick(r)}`;
  }
  if (roll < 0.75) return `${pre(SEV_INFO)}LOG:  connection authorized: user=app database=shop application_name=${PG_APPS.pick(r)} SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)`;
  if (roll < 0.85) return `${pre(SEV_INFO)}LOG:  disconnection: session time: 0:${P2[r.int(60)]}:${P2[r.int(60)]}.${P3[r.int(1000)]} user=app database=shop host=${r.pick(UPSTREAMS).split(':')[0]} port=${ephemeral(r)}`;
  if (roll < 0.9) {
    const wrote = r.range(200, 40000);
    return `${pre(SEV_INFO)}LOG:  checkpoint complete: wrote ${wrote} buffers (${dec2(wrote / 1638.4)}%); 0 WAL file(s) added, 0 removed, ${r.range(0, 12)} recycled; write=${dec3(r.lognormal(200, 0.4))} s, sync=${dec3(r.lognormal(0.004, 1))} s, total=${dec3(r.lognormal(210, 0.4))} s; sync files=${r.range(10, 300)}, longest=0.${P3[r.int(40)]} s, average=0.001 s; distance=${r.range(1000, 900000)} kB, estimate=${r.range(1000, 900000)} kB`;
  }
  if (roll < 0.97) return `${pre(SEV_WARNING)}ERROR:  duplicate key value violates unique constraint "order_items_order_id_product_id_key"`;
  if (roll < 0.99) return `${pre(SEV_WARNING)}ERROR:  canceling statement due to statement timeout`;
  return `${pre(SEV_ERR)}FATAL:  password authentication failed for user "postgres"`;
}

function redis(c: Ctx): string {
  const r = c.r;
  const h = H_CACHE.pick(r);
  const pid = daemonPid(h, 4);
  const st = c.st;
  const hd = `${sysHead(c, h, pri(FAC_DAEMON, SEV_INFO), 'redis-server', pid)}${pid}:M ${st.redis}.${st.ms3} `;
  const child = pid + r.range(1, 90000);
  switch (r.int(6)) {
    case 0:
      return `${hd}* ${r.pick([10000, 100, 1])} changes in ${r.pick([60, 300, 3600])} seconds. Saving...`;
    case 1:
      return `${hd}* Background saving started by pid ${child}`;
    case 2:
      return `${sysHead(c, h, pri(FAC_DAEMON, SEV_INFO), 'redis-server', pid)}${child}:C ${st.redis}.${st.ms3} * DB saved on disk`;
    case 3:
      return `${sysHead(c, h, pri(FAC_DAEMON, SEV_INFO), 'redis-server', pid)}${child}:C ${st.redis}.${st.ms3} * Fork CoW for RDB: current ${r.range(1, 40)} MB, peak ${r.range(1, 60)} MB, average ${r.range(1, 30)} MB`;
    case 4:
      return `${hd}* Background saving terminated with success`;
    default:
      return r.chance(0.8)
        ? `${hd}* Connection with replica ${h.ip.replace(/\.\d+$/, '.' + r.range(4, 250))}:6379 lost.`
        : `${sysHead(c, h, pri(FAC_DAEMON, SEV_WARNING), 'redis-server', pid)}${pid}:M ${st.redis}.${st.ms3} # WARNING: ${r.range(90, 99)}% of maxmemory used, evicting keys (policy allkeys-lru)`;
  }
}

const DOCKER_MSGS = zipf([
  (c: Ctx) => `level=info msg="ignoring event" container=${c.r.hex32()}${c.r.hex32()} module=libcontainerd namespace=moby topic=/tasks/delete type="*events.TaskDelete"`,
  (c: Ctx) => `level=info msg="shim disconnected" id=${c.r.hex32()}${c.r.hex32()} namespace=moby`,
  (c: Ctx) => `level=warning msg="cleaning up after shim disconnected" id=${c.r.hex32()}${c.r.hex32()} namespace=moby`,
  () => `level=info msg="cleaning up dead shim" namespace=moby`,
  (c: Ctx) => `level=error msg="Handler for POST /v1.43/containers/${c.r.hex16().slice(0, 12)}/stop returned error: Container ${c.r.hex16().slice(0, 12)} is not running"`,
]);

function dockerd(c: Ctx): string {
  const r = c.r;
  const h = r.chance(0.7) ? r.pick(WORKER) : H_WEB.pick(r);
  const body = DOCKER_MSGS.pick(r)(c);
  const sev = body.includes('level=error') ? SEV_ERR : body.includes('level=warning') ? SEV_WARNING : SEV_INFO;
  return `${sysHead(c, h, pri(FAC_DAEMON, sev), 'dockerd', daemonPid(h, 6))}time="${c.st.iso}.${c.st.us6}${P3[r.int(1000)]}Z" ${body}`;
}

function misc(c: Ctx): string {
  const r = c.r;
  const h = H_ALL.pick(r);
  switch (r.int(5)) {
    case 0:
      return `${sysHead(c, h, pri(FAC_DAEMON, SEV_INFO), 'chronyd', daemonPid(h, 7))}Selected source 169.254.169.123`;
    case 1:
      return `${sysHead(c, h, pri(FAC_DAEMON, SEV_WARNING), 'chronyd', daemonPid(h, 7))}System clock wrong by ${r.chance(0.5) ? '-' : ''}0.${P3[r.int(1000)]}${P3[r.int(1000)]} seconds`;
    case 2:
      return `${sysHead(c, h, pri(FAC_DAEMON, SEV_INFO), 'systemd-resolved', daemonPid(h, 8))}Using degraded feature set UDP instead of UDP+EDNS0 for DNS server 10.0.0.2.`;
    case 3:
      return `${sysHead(c, h, pri(FAC_DAEMON, SEV_INFO), 'dhclient', daemonPid(h, 9))}DHCPACK of ${h.ip} from 10.${h.ip.split('.')[1]}.0.1 (xid=0x${r.hex8()})`;
    default:
      if (r.chance(0.8)) return `${sysHead(c, h, pri(FAC_DAEMON, SEV_INFO), 'snapd', daemonPid(h, 11))}storehelpers.go:769: cannot refresh: snap has no updates available: "core22", "lxd", "snapd"`;
      return `${sysHead(c, h, pri(FAC_DAEMON, SEV_ERR), 'node_exporter', daemonPid(h, 10))}ts=${c.st.iso}.${c.st.ms3}Z caller=collector.go:173 level=error msg="collector failed" name=textfile duration_seconds=0.000${r.range(100, 999)} err="failed to read textfile collector directory"`;
  }
}

const SYSLOG = weighted<(c: Ctx) => string>([
  [sshd, 17], [systemd, 12], [logind, 4], [cron, 10], [kernel, 8], [postfix, 7], [sudo, 3],
  [app5424, 18], [postgres, 8], [redis, 4], [dockerd, 5], [misc, 4],
]);

// ---------------------------------------------------------------- nginx

const UA = zipf([
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'ShopApp/5.12.1 (iPhone; iOS 18.1; Scale/3.00)',
  'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'okhttp/4.12.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'python-requests/2.32.3',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'curl/8.5.0',
  'Go-http-client/1.1',
  'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
  'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
  'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
  'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0',
], 1.0);
const SCANNER_UA = zipf([
  'Mozilla/5.0 zgrab/0.x',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.129 Safari/537.36',
  'Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)',
  'Go-http-client/1.1',
  'python-requests/2.27.1',
  '-',
]);

const ADJ = ['merino', 'classic', 'slim', 'organic', 'vintage', 'waterproof', 'linen', 'wireless', 'ceramic', 'leather', 'bamboo', 'stainless', 'recycled', 'compact', 'premium', 'soft'];
const NOUN = ['wool-sweater', 'running-shoes', 'coffee-mug', 'backpack', 'desk-lamp', 'headphones', 'water-bottle', 'yoga-mat', 'rain-jacket', 'chef-knife', 'bed-sheets', 'sunglasses', 'phone-case', 'hoodie', 'teapot', 'notebook'];
const COLORS = ['black', 'white', 'navy', 'grey', 'olive', 'red', 'sand', 'blue'];
const N_PRODUCTS = 20000;
/** Product ids by popularity rank; slugs by id. */
const PRODUCT_IDS: number[] = shuffled(Array.from({ length: N_PRODUCTS }, (_, i) => 100000 + i * 7 + T.int(7)));
const SLUG = (id: number) => `${ADJ[id % 16]}-${NOUN[(id >> 4) % 16]}-${COLORS[(id >> 8) % 8]}-${id}`;
const productId = (r: Rng) => PRODUCT_IDS[r.zipfRank(N_PRODUCTS)];
const userId = (r: Rng) => 1 + ((r.zipfRank(400000) * 2654435761) >>> 0) % 400000;
const CATEGORIES = zipf(['women', 'men', 'shoes', 'home', 'kitchen', 'electronics', 'outdoor', 'kids', 'beauty', 'sports', 'accessories', 'sale', 'new-in', 'gifts']);
const SEARCH = zipf([
  'jacket', 'sneakers', 'dress', 'hoodie', 'coffee', 'headphones', 'backpack', 'jeans', 'winter coat', 'gift card', 'yoga mat', 'water bottle',
  'black boots', 'rain jacket', 'bed sheets', 'wool socks', 'desk lamp', 'phone case', 'sunglasses', 'teapot', 'café', 'größe 42', 'niños zapatillas',
  'organic cotton t-shirt', 'linen shirt men', 'wireless earbuds', 'stainless steel pan', 'christmas', 'black friday', 'sale',
]);
const SEARCH_URL = new Map(SEARCH.items.map((q) => [q, encodeURIComponent(q).replace(/%20/g, '+')]));
const STATIC_HASH = ['3f9a1c2e', 'b81d44a0', '0c7e9f12', 'e2a5b7c3'];
const STATIC = zipf([
  `/static/js/main.${STATIC_HASH[0]}.js`, `/static/css/app.${STATIC_HASH[1]}.css`, `/static/js/vendor.${STATIC_HASH[2]}.js`, '/favicon.ico',
  '/fonts/inter-var.woff2', `/static/js/chunk-checkout.${STATIC_HASH[3]}.js`, '/static/img/logo.svg', '/apple-touch-icon.png', '/site.webmanifest',
  '/static/img/hero-winter.webp', '/robots.txt', '/sitemap.xml',
]);
const PAGES = zipf(['/', '/products/', '/category/', '/cart', '/search', '/checkout', '/account/orders', '/login', '/account', '/help/shipping']);
const SCANS = zipf([
  '/wp-login.php', '/.env', '/xmlrpc.php', '/.git/config', '/wp-admin/setup-config.php', '/phpmyadmin/', '/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php',
  '/admin/config.php', '/cgi-bin/luci/;stok=/locale', '/actuator/env', '/.aws/credentials', '/boaform/admin/formLogin', '/owa/auth/logon.aspx', '/server-status',
]);

interface ApiRoute {
  method: string;
  path: (c: Ctx) => string;
  /** median latency ms, median response bytes */
  rt: number;
  size: number;
  /** status on success */
  ok: number;
}
const orderId = (c: Ctx) => 4_800_000 + Math.floor(c.elapsed * 35) - Math.floor(c.r.exp(400));
const API = zipf<ApiRoute>([
  { method: 'GET', path: (c) => `/api/v1/products/${productId(c.r)}`, rt: 12, size: 2400, ok: 200 },
  { method: 'GET', path: (c) => `/api/v1/products?category=${CATEGORIES.pick(c.r)}&page=${1 + c.r.zipfRank(30)}&sort=${c.r.chance(0.7) ? 'popular' : 'price_asc'}`, rt: 35, size: 18000, ok: 200 },
  { method: 'GET', path: (c) => `/api/v1/users/${userId(c.r)}/cart`, rt: 9, size: 900, ok: 200 },
  { method: 'GET', path: (c) => `/api/v1/search?q=${SEARCH_URL.get(SEARCH.pick(c.r))}&page=${1 + c.r.zipfRank(10)}`, rt: 60, size: 14000, ok: 200 },
  { method: 'POST', path: () => '/api/v1/cart/items', rt: 22, size: 700, ok: 201 },
  { method: 'GET', path: () => '/api/v1/users/me', rt: 6, size: 650, ok: 200 },
  { method: 'GET', path: (c) => `/api/v1/orders/${orderId(c)}`, rt: 18, size: 1800, ok: 200 },
  { method: 'POST', path: () => '/graphql', rt: 45, size: 5200, ok: 200 },
  { method: 'GET', path: (c) => `/api/v2/recommendations?user_id=${userId(c.r)}&limit=20`, rt: 80, size: 6400, ok: 200 },
  { method: 'POST', path: () => '/api/v1/auth/refresh', rt: 15, size: 420, ok: 200 },
  { method: 'GET', path: (c) => `/api/v1/inventory/SKU-${productId(c.r)}-${c.r.range(1, 6)}`, rt: 7, size: 180, ok: 200 },
  { method: 'POST', path: () => '/api/v1/auth/login', rt: 95, size: 480, ok: 200 },
  { method: 'POST', path: () => '/api/v1/orders', rt: 140, size: 1300, ok: 201 },
  { method: 'DELETE', path: (c) => `/api/v1/cart/items/${productId(c.r)}`, rt: 14, size: 0, ok: 204 },
  { method: 'POST', path: (c) => `/api/v1/payments/${orderId(c)}/capture`, rt: 420, size: 350, ok: 200 },
  { method: 'PUT', path: (c) => `/api/v1/users/${userId(c.r)}/addresses/${c.r.range(1, 3)}`, rt: 25, size: 520, ok: 200 },
  { method: 'PATCH', path: (c) => `/api/v1/orders/${orderId(c)}`, rt: 30, size: 1700, ok: 200 },
], 0.9);

/** Error statuses of API calls, given the call failed (~7% of them). */
const API_ERR = weighted([[404, 30], [400, 14], [401, 16], [403, 4], [409, 3], [422, 6], [429, 6], [499, 7], [500, 5], [502, 3], [503, 3], [504, 3]] as const);

const NGX_HEAD = (c: Ctx, h: Host, sev: number) => `<${pri(FAC_LOCAL7, sev)}>${c.st.bsd} ${h.name} nginx: `;

function nginxAccess(c: Ctx, h: Host): string {
  const r = c.r;
  const st = c.st;
  let ip: string;
  let method = 'GET';
  let path: string;
  let status = 200;
  let bytes: number;
  let rtMs: number;
  let upstream = true;
  let ua: string;
  let ref = '-';
  let proto = 'HTTP/1.1';
  const roll = r.u();
  if (roll < 0.24) {
    // health checks from the load balancers / kubelet
    ip = r.pick(LB_IPS);
    path = r.chance(0.8) ? '/healthz' : '/api/v1/health';
    ua = r.chance(0.8) ? 'ELB-HealthChecker/2.0' : 'kube-probe/1.30';
    upstream = path !== '/healthz';
    bytes = upstream ? 27 : 2;
    rtMs = upstream ? r.lognormal(1.5, 0.5) : 0;
    if (r.chance(0.002)) status = 503;
  } else if (roll < 0.26) {
    ip = r.pick(PROM_IPS);
    path = r.chance(0.7) ? '/metrics' : '/nginx_status';
    ua = 'Prometheus/2.54.1';
    upstream = path === '/metrics';
    bytes = upstream ? Math.round(r.lognormal(48000, 0.1)) : r.range(100, 110);
    rtMs = upstream ? r.lognormal(8, 0.4) : 0;
  } else if (roll < 0.62) {
    const a = API.pick(r);
    ip = clientIp(r);
    method = a.method;
    path = a.path(c);
    ua = UA.pick(r);
    if (ua.startsWith('Mozilla') && r.chance(0.6)) {
      proto = 'HTTP/2.0';
      ref = r.chance(0.7) ? 'https://shop.example.com/' : `https://shop.example.com/products/${SLUG(productId(r))}`;
    }
    status = r.chance(0.93) ? a.ok : API_ERR.pick(r);
    rtMs = r.lognormal(a.rt, 0.8);
    bytes = a.size === 0 ? 0 : Math.round(r.lognormal(a.size, 0.6));
    if (status >= 400) bytes = r.range(60, 220);
    if (status === 499) {
      rtMs = r.lognormal(3000, 0.8);
      bytes = 0;
    } else if (status === 504) rtMs = 60000 + r.range(0, 20);
    else if (status === 502) rtMs = r.lognormal(3, 1);
  } else if (roll < 0.88) {
    ip = clientIp(r);
    ua = UA.pick(r);
    if (r.chance(0.5)) {
      path = STATIC.pick(r);
    } else {
      path = `/images/products/${productId(r)}_${r.pick(['320', '640', '1280'])}.webp`;
    }
    upstream = false;
    proto = ua.startsWith('Mozilla') && r.chance(0.7) ? 'HTTP/2.0' : 'HTTP/1.1';
    ref = r.chance(0.8) ? 'https://shop.example.com/' : '-';
    if (r.chance(0.3)) {
      status = 304;
      bytes = 0;
    } else if (r.chance(0.01)) {
      status = 404;
      bytes = 153;
    } else bytes = Math.round(r.lognormal(path.endsWith('.js') ? 90000 : 24000, 0.9));
    rtMs = r.lognormal(0.6, 1.2);
    if (rtMs < 0.5) rtMs = 0;
  } else if (roll < 0.98) {
    ip = clientIp(r);
    ua = UA.pick(r);
    path = PAGES.pick(r);
    if (path === '/products/') path += SLUG(productId(r));
    else if (path === '/category/') path += CATEGORIES.pick(r);
    else if (path === '/search') path += `?q=${SEARCH_URL.get(SEARCH.pick(r))}`;
    if (ua.startsWith('Mozilla') && r.chance(0.7)) proto = 'HTTP/2.0';
    ref = r.chance(0.4) ? '-' : r.pick(['https://www.google.com/', 'https://shop.example.com/', 'https://www.bing.com/', 'https://t.co/', 'android-app://com.google.android.gm/']);
    if (path === '/login' && r.chance(0.3)) method = 'POST';
    status = r.chance(0.95) ? 200 : r.pick([301, 302, 302, 404, 500]);
    rtMs = r.lognormal(40, 0.7);
    bytes = status === 200 ? Math.round(r.lognormal(34000, 0.4)) : r.range(150, 170);
  } else {
    ip = attackerIp(r);
    ua = SCANNER_UA.pick(r);
    path = SCANS.pick(r);
    method = r.chance(0.85) ? 'GET' : 'POST';
    status = r.chance(0.9) ? 404 : r.pick([400, 403, 444]);
    bytes = status === 444 ? 0 : 153;
    upstream = false;
    rtMs = 0;
  }
  const rt = secs3(rtMs);
  const tail = upstream
    ? ` rt=${rt} uct=0.00${r.chance(0.8) ? 0 : r.range(1, 3)} urt=${secs3(rtMs * 0.95)}`
    : ` rt=${rt} uct=- urt=-`;
  const hd = NGX_HEAD(c, h, SEV_INFO);
  if (h.ngxFmt === 0)
    return `${hd}${ip} - - [${st.ngx}] "${method} ${path} ${proto}" ${status} ${bytes} "${ref}" "${ua}"${tail}`;
  return `${hd}${ip} - - [${st.ngx}] "${method} ${path} ${proto}" ${status} ${bytes} "${ref}" "${ua}" rid=${r.hex32()}${tail} ups=${upstream ? r.pick(UPSTREAMS) : '-'}`;
}

function nginxError(c: Ctx, h: Host): string {
  const r = c.r;
  const a = API.pick(r);
  const path = a.path(c);
  const ip = clientIp(r);
  const ups = r.pick(UPSTREAMS);
  const pid = daemonPid(h, 11) + r.int(8);
  const pre = `${c.st.ngxErr} [`;
  const ctx = `client: ${ip}, server: shop.example.com, request: "${a.method} ${path} HTTP/1.1"`;
  switch (r.int(5)) {
    case 0:
    case 1:
      return `${NGX_HEAD(c, h, SEV_ERR)}${pre}error] ${pid}#${pid}: *${c.conn} upstream timed out (110: Connection timed out) while reading response header from upstream, ${ctx}, upstream: "http://${ups}${path}", host: "shop.example.com"`;
    case 2:
      return `${NGX_HEAD(c, h, SEV_ERR)}${pre}error] ${pid}#${pid}: *${c.conn} connect() failed (111: Connection refused) while connecting to upstream, ${ctx}, upstream: "http://${ups}${path}", host: "shop.example.com"`;
    case 3:
      return `${NGX_HEAD(c, h, SEV_WARNING)}${pre}warn] ${pid}#${pid}: *${c.conn} an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/${r.range(0, 9)}/${P2[r.int(100)]}/00000${r.range(10000, 99999)} while reading upstream, ${ctx}, upstream: "http://${ups}${path}", host: "shop.example.com"`;
    default:
      return `${NGX_HEAD(c, h, SEV_ERR)}${pre}error] ${pid}#${pid}: *${c.conn} open() "/var/www/shop/public${SCANS.pick(r)}" failed (2: No such file or directory), client: ${attackerIp(r)}, server: shop.example.com, request: "GET ${SCANS.pick(r)} HTTP/1.1", host: "${h.ip}"`;
  }
}

function nginx(c: Ctx): string {
  const h = H_NGINX.pick(c.r);
  c.conn += 1 + c.r.int(3);
  return c.r.chance(0.012) ? nginxError(c, h) : nginxAccess(c, h);
}

// ---------------------------------------------------------------- JSON application logs

const L_DEBUG = 0, L_INFO = 1, L_WARN = 2, L_ERROR = 3;
type Flavor = 'pino' | 'zap' | 'logrus' | 'bunyan' | 'logback';
const LV_NUM = [20, 30, 40, 50];
const LV_ZAP = ['debug', 'info', 'warn', 'error'];
const LV_LOGRUS = ['debug', 'info', 'warning', 'error'];
const LV_JAVA = ['DEBUG', 'INFO', 'WARN', 'ERROR'];
const LV_JAVA_VAL = [10000, 20000, 30000, 40000];

/** An event sets c.lvl, c.msg and c.err (index into the flavor's errors, -1 none) and returns the fields. */
type Event = (c: Ctx, s: Service) => string;

interface Service {
  name: string;
  flavor: Flavor;
  pods: Dist<string>;
  pid: number;
  events: Dist<Event>;
  /** zap callers / java logger names */
  where: string[];
  version: string;
}

const HTTP_PATHS = zipf(['/v1/orders', '/v1/orders/:id', '/v1/products/:id', '/v1/cart', '/v1/users/me', '/v1/search', '/v1/payments', '/internal/healthz']);

function trace(r: Rng): string {
  return `"trace_id":"${r.hex32()}","span_id":"${r.hex16()}"`;
}

const ev = {
  request(c: Ctx, s: Service): string {
    const r = c.r;
    const status = r.chance(0.93) ? 200 : r.pick([201, 204, 400, 401, 404, 404, 409, 429, 500, 503]);
    c.lvl = status >= 500 ? L_ERROR : status >= 400 ? L_WARN : L_INFO;
    c.msg = 'request completed';
    c.err = -1;
    const path = HTTP_PATHS.pick(r);
    const method = path === '/v1/payments' || (path === '/v1/orders' && r.chance(0.4)) ? 'POST' : 'GET';
    return `${trace(r)},"http":{"method":"${method}","path":"${path.replace(':id', String(path.startsWith('/v1/orders') ? orderId(c) : productId(r)))}","status":${status},"remote_addr":"${clientIp(r)}"},"duration_ms":${dec3(r.lognormal(14, 0.9))},"service_version":"${s.version}"`;
  },
  orderCreated(c: Ctx): string {
    const r = c.r;
    c.lvl = L_INFO;
    c.msg = 'order created';
    c.err = -1;
    return `${trace(r)},"order_id":${orderId(c) + 400},"user_id":${userId(r)},"items":${1 + r.zipfRank(12)},"amount":${dec2(r.lognormal(58, 0.7))},"currency":"${r.chance(0.7) ? 'EUR' : r.chance(0.7) ? 'USD' : 'GBP'}"`;
  },
  orderStatus(c: Ctx): string {
    const r = c.r;
    const t = r.int(4);
    c.lvl = L_INFO;
    c.msg = 'order status changed';
    c.err = -1;
    return `${trace(r)},"order_id":${orderId(c)},"from":"${['pending', 'paid', 'packed', 'shipped'][t]}","to":"${['paid', 'packed', 'shipped', 'delivered'][t]}"`;
  },
  paymentAccepted(c: Ctx): string {
    const r = c.r;
    c.lvl = L_INFO;
    c.msg = 'payment accepted';
    c.err = -1;
    return `${trace(r)},"order_id":${orderId(c)},"payment_id":"pi_${r.chars(B62, 24)}","provider":"${r.chance(0.75) ? 'stripe' : r.chance(0.6) ? 'adyen' : 'paypal'}","amount":${dec2(r.lognormal(58, 0.7))},"duration_ms":${Math.round(r.lognormal(380, 0.5))}`;
  },
  paymentDeclined(c: Ctx): string {
    const r = c.r;
    c.lvl = L_WARN;
    c.msg = 'payment declined';
    c.err = -1;
    return `${trace(r)},"order_id":${orderId(c)},"user_id":${userId(r)},"reason":"${r.pick(['insufficient_funds', 'card_declined', 'expired_card', 'do_not_honor', 'fraudulent'])}","provider":"stripe"`;
  },
  upstreamTimeout(c: Ctx): string {
    const r = c.r;
    c.lvl = L_ERROR;
    c.msg = 'upstream timeout';
    c.err = 0;
    return `${trace(r)},"upstream":"${r.pick(['stripe', 'inventory-service', 'search-api', 'geo-ip', 'tax-calculator'])}","timeout_ms":${r.pick([2000, 5000, 10000])},"attempt":${r.range(1, 3)}`;
  },
  cacheMiss(c: Ctx): string {
    const r = c.r;
    c.lvl = r.chance(0.3) ? L_INFO : L_DEBUG;
    c.msg = r.chance(0.7) ? 'cache miss' : 'cache hit';
    c.err = -1;
    return `"cache":"redis","key":"${r.pick(['product', 'cart', 'price', 'session', 'stock'])}:${r.chance(0.5) ? productId(r) : userId(r)}","duration_ms":${dec3(r.lognormal(0.6, 0.6))}`;
  },
  loginOk(c: Ctx): string {
    const r = c.r;
    c.lvl = L_INFO;
    c.msg = 'user login succeeded';
    c.err = -1;
    return `${trace(r)},"user_id":${userId(r)},"session_id":"${r.hex32()}","method":"${r.chance(0.8) ? 'password' : r.chance(0.5) ? 'google' : 'apple'}","ip":"${clientIp(r)}","mfa":${r.chance(0.3)}`;
  },
  loginFailed(c: Ctx): string {
    const r = c.r;
    c.lvl = L_WARN;
    c.msg = 'user login failed';
    c.err = -1;
    return `${trace(r)},"username":"${r.pick(RCPT_NAMES)}@${MAIL_DOMAINS.pick(r)}","reason":"${r.chance(0.8) ? 'invalid_password' : r.chance(0.5) ? 'unknown_user' : 'account_locked'}","ip":"${r.chance(0.7) ? clientIp(r) : attackerIp(r)}","attempt":${1 + r.zipfRank(10)}`;
  },
  tokenRefreshed(c: Ctx): string {
    const r = c.r;
    c.lvl = L_DEBUG;
    c.msg = 'token refreshed';
    c.err = -1;
    return `"user_id":${userId(r)},"session_id":"${r.hex32()}","expires_in":3600`;
  },
  search(c: Ctx): string {
    const r = c.r;
    c.lvl = L_INFO;
    c.msg = 'search executed';
    c.err = -1;
    const q = r.chance(0.9) ? SEARCH.pick(r) : r.chars('abcdefghijklmnopqrstuvwxyz', r.range(3, 12));
    return `${trace(r)},"query":"${q}","hits":${Math.round(r.lognormal(120, 1.5))},"page":${1 + r.zipfRank(10)},"duration_ms":${dec3(r.lognormal(45, 0.7))}`;
  },
  slowQuery(c: Ctx): string {
    const r = c.r;
    c.lvl = L_WARN;
    c.msg = 'slow query';
    c.err = -1;
    return `${trace(r)},"db":"shop","table":"${r.pick(['orders', 'order_items', 'products', 'inventory', 'users', 'events'])}","rows":${r.range(0, 5000)},"duration_ms":${Math.round(500 + r.lognormal(300, 1))}`;
  },
  stock(c: Ctx): string {
    const r = c.r;
    const q = r.range(0, 40);
    c.lvl = q === 0 ? L_WARN : L_INFO;
    c.msg = q === 0 ? 'stock depleted' : 'stock reserved';
    c.err = -1;
    return `${trace(r)},"sku":"SKU-${productId(r)}-${r.range(1, 6)}","warehouse":"${r.pick(['DUB1', 'FRA2', 'IAD1'])}","available":${q},"reserved":${r.range(1, 3)}`;
  },
  emailSent(c: Ctx): string {
    const r = c.r;
    c.lvl = L_INFO;
    c.msg = 'email sent';
    c.err = -1;
    return `"template":"${r.pick(['order_confirmation', 'shipping_update', 'password_reset', 'welcome', 'cart_reminder'])}","user_id":${userId(r)},"message_id":"<${c.st.epochSec}.${r.hex16()}@shop.example.com>","duration_ms":${Math.round(r.lognormal(180, 0.6))}`;
  },
  jobDone(c: Ctx): string {
    const r = c.r;
    const attempts = 1 + (r.chance(0.05) ? r.range(1, 4) : 0);
    c.lvl = attempts > 1 ? L_WARN : L_INFO;
    c.msg = 'job processed';
    c.err = -1;
    return `"queue":"${r.pick(['emails', 'webhooks', 'exports', 'thumbnails', 'search-index'])}","job_id":"${r.hex8()}-${r.hex8().slice(0, 4)}-4${r.hex8().slice(0, 3)}-${r.hex8().slice(0, 4)}-${r.hex16().slice(0, 12)}","attempts":${attempts},"duration_ms":${Math.round(r.lognormal(90, 1))}`;
  },
  unhandled(c: Ctx): string {
    const r = c.r;
    c.lvl = L_ERROR;
    c.msg = 'unhandled error';
    c.err = 1 + r.int(2);
    return `${trace(r)},"user_id":${userId(r)}`;
  },
  poolStats(c: Ctx): string {
    const r = c.r;
    c.lvl = L_DEBUG;
    c.msg = 'db pool stats';
    c.err = -1;
    return `"pool":"primary","total":20,"idle":${r.range(0, 20)},"waiting":${r.chance(0.95) ? 0 : r.range(1, 12)}`;
  },
};

/** Error text per flavor: [message, stack] (already JSON-escaped); index 0 = timeout. */
const ERRORS: Record<'node' | 'go' | 'java', [string, string, string][]> = {
  node: [
    ['TimeoutError', 'upstream timeout after 5000ms', 'TimeoutError: upstream timeout after 5000ms\\n    at Timeout._onTimeout (/app/dist/clients/http.js:88:19)\\n    at listOnTimeout (node:internal/timers:581:17)\\n    at process.processTimers (node:internal/timers:519:7)'],
    ['TypeError', "Cannot read properties of undefined (reading 'id')", "TypeError: Cannot read properties of undefined (reading 'id')\\n    at OrderService.toDto (/app/dist/orders/service.js:214:31)\\n    at Array.map (<anonymous>)\\n    at OrderService.list (/app/dist/orders/service.js:120:24)\\n    at async /app/dist/orders/routes.js:41:20"],
    ['Error', 'connect ECONNREFUSED 10.2.17.44:6379', 'Error: connect ECONNREFUSED 10.2.17.44:6379\\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1610:16)'],
  ],
  go: [
    ['', 'context deadline exceeded', 'main.(*Server).handleCheckout\\n\\t/src/internal/server/checkout.go:142\\nnet/http.HandlerFunc.ServeHTTP\\n\\t/usr/local/go/src/net/http/server.go:2220\\nnet/http.serverHandler.ServeHTTP\\n\\t/usr/local/go/src/net/http/server.go:3210'],
    ['', 'pq: duplicate key value violates unique constraint \\"orders_pkey\\"', 'github.com/shop/orders/internal/store.(*Store).Insert\\n\\t/src/internal/store/orders.go:88\\ngithub.com/shop/orders/internal/api.(*API).Create\\n\\t/src/internal/api/orders.go:61'],
    ['', 'dial tcp 10.2.20.15:5432: connect: connection refused', 'github.com/shop/orders/internal/store.Open\\n\\t/src/internal/store/db.go:33\\nmain.main\\n\\t/src/cmd/orders/main.go:27\\nruntime.main\\n\\t/usr/local/go/src/runtime/proc.go:272'],
  ],
  java: [
    ['java.net.SocketTimeoutException', 'Read timed out', 'java.net.SocketTimeoutException: Read timed out\\n\\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:278)\\n\\tat java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:304)\\n\\tat org.apache.hc.core5.http.impl.io.SessionInputBufferImpl.fillBuffer(SessionInputBufferImpl.java:149)\\n\\tat com.shop.payments.StripeClient.capture(StripeClient.java:112)\\n\\tat com.shop.payments.PaymentService.capture(PaymentService.java:87)'],
    ['java.lang.NullPointerException', 'Cannot invoke \\"com.shop.model.Address.getCountry()\\" because \\"order.shipping\\" is null', 'java.lang.NullPointerException: Cannot invoke \\"com.shop.model.Address.getCountry()\\" because \\"order.shipping\\" is null\\n\\tat com.shop.tax.TaxCalculator.rateFor(TaxCalculator.java:54)\\n\\tat com.shop.payments.PaymentService.authorize(PaymentService.java:61)'],
    ['org.springframework.dao.DataIntegrityViolationException', 'could not execute statement; constraint [payments_order_id_key]', 'org.springframework.dao.DataIntegrityViolationException: could not execute statement; constraint [payments_order_id_key]\\n\\tat org.springframework.orm.jpa.vendor.HibernateJpaDialect.convertHibernateAccessException(HibernateJpaDialect.java:290)\\n\\tat com.shop.payments.PaymentRepository.save(PaymentRepository.java)'],
  ],
};

function pods(name: string, n: number): Dist<string> {
  const rs = T.chars('bcdfghjklmnpqrstvwxz2456789', 10);
  return zipf(Array.from({ length: n }, () => `${name}-${rs}-${T.chars('bcdfghjklmnpqrstvwxz2456789', 5)}`), 0.3);
}

function service(name: string, flavor: Flavor, nPods: number, events: [Event, number][], where: string[]): Service {
  return { name, flavor, pods: pods(name, nPods), pid: T.chance(0.7) ? 1 : T.range(7, 40), events: weighted(events), where, version: `${T.range(1, 6)}.${T.range(0, 30)}.${T.range(0, 9)}` };
}

const SERVICES = zipf<Service>([
  service('api-gateway', 'zap', 8, [[ev.request, 85], [ev.cacheMiss, 5], [ev.upstreamTimeout, 1.5], [ev.tokenRefreshed, 6], [ev.unhandled, 0.3]], ['gateway/proxy.go:212', 'gateway/auth.go:77', 'gateway/ratelimit.go:54']),
  service('catalog-service', 'pino', 6, [[ev.request, 55], [ev.cacheMiss, 35], [ev.poolStats, 3], [ev.slowQuery, 1], [ev.unhandled, 0.3]], []),
  service('order-service', 'zap', 5, [[ev.request, 50], [ev.orderCreated, 20], [ev.orderStatus, 18], [ev.slowQuery, 2], [ev.upstreamTimeout, 1], [ev.unhandled, 0.4]], ['orders/handler.go:142', 'orders/service.go:88', 'store/orders.go:61']),
  service('cart-service', 'pino', 4, [[ev.request, 60], [ev.cacheMiss, 30], [ev.stock, 8], [ev.unhandled, 0.3]], []),
  service('search-api', 'bunyan', 4, [[ev.search, 70], [ev.request, 25], [ev.cacheMiss, 5], [ev.upstreamTimeout, 0.5]], []),
  service('auth-service', 'logrus', 3, [[ev.loginOk, 45], [ev.loginFailed, 8], [ev.tokenRefreshed, 35], [ev.request, 12], [ev.unhandled, 0.2]], []),
  service('payment-service', 'logback', 3, [[ev.paymentAccepted, 45], [ev.paymentDeclined, 6], [ev.request, 40], [ev.upstreamTimeout, 2], [ev.unhandled, 0.5]], ['com.shop.payments.PaymentService', 'com.shop.payments.StripeClient', 'com.shop.payments.web.PaymentController']),
  service('inventory-service', 'logback', 3, [[ev.stock, 60], [ev.request, 35], [ev.slowQuery, 2], [ev.unhandled, 0.3]], ['com.shop.inventory.StockService', 'com.shop.inventory.web.StockController']),
  service('notification-worker', 'pino', 2, [[ev.emailSent, 60], [ev.jobDone, 38], [ev.upstreamTimeout, 1]], []),
  service('export-worker', 'logrus', 2, [[ev.jobDone, 90], [ev.slowQuery, 8], [ev.unhandled, 0.5]], []),
], 0.8);

function json(c: Ctx): string {
  const r = c.r;
  const s = SERVICES.pick(r);
  const st = c.st;
  const fields = s.events.pick(r)(c, s);
  const pod = s.pods.pick(r);
  const lvl = c.lvl;
  const msg = c.msg;
  switch (s.flavor) {
    case 'pino': {
      let e = '';
      if (c.err >= 0) {
        const [type, m, stack] = ERRORS.node[c.err];
        e = `,"err":{"type":"${type}","message":"${m}","stack":"${stack}"}`;
      }
      return `{"level":${LV_NUM[lvl]},"time":${st.epochMs},"pid":${s.pid},"hostname":"${pod}","service":"${s.name}",${fields}${e},"msg":"${msg}"}`;
    }
    case 'zap': {
      let e = '';
      if (c.err >= 0) {
        const [, m, stack] = ERRORS.go[c.err];
        e = `,"error":"${m}","stacktrace":"${stack}"`;
      }
      return `{"level":"${LV_ZAP[lvl]}","ts":${st.epochSec}.${st.us6},"caller":"${s.where[r.int(s.where.length)]}","msg":"${msg}","service":"${s.name}","host":"${pod}",${fields}${e}}`;
    }
    case 'logrus': {
      const e = c.err >= 0 ? `"error":"${ERRORS.go[c.err][1]}",` : '';
      return `{${e}${fields},"host":"${pod}","level":"${LV_LOGRUS[lvl]}","msg":"${msg}","service":"${s.name}","time":"${st.iso}Z"}`;
    }
    case 'bunyan': {
      let e = '';
      if (c.err >= 0) {
        const [type, m, stack] = ERRORS.node[c.err];
        e = `,"err":{"name":"${type}","message":"${m}","stack":"${stack}"}`;
      }
      return `{"name":"${s.name}","hostname":"${pod}","pid":${s.pid},"level":${LV_NUM[lvl]},${fields}${e},"msg":"${msg}","time":"${st.iso}.${st.ms3}Z","v":0}`;
    }
    default: {
      const e = c.err >= 0 ? `,"stack_trace":"${ERRORS.java[c.err][2]}"` : '';
      return `{"@timestamp":"${st.iso}.${st.ms3}Z","@version":"1","message":"${msg}","logger_name":"${s.where[r.int(s.where.length)]}","thread_name":"http-nio-8080-exec-${1 + r.zipfRank(200)}","level":"${LV_JAVA[lvl]}","level_value":${LV_JAVA_VAL[lvl]},"service":"${s.name}","host":"${pod}",${fields}${e}}`;
    }
  }
}

// ---------------------------------------------------------------- stream

const KINDS: Record<CorpusKind, Dist<(c: Ctx) => string>> = {
  syslog: weighted([[(c: Ctx) => SYSLOG.pick(c.r)(c), 1]]),
  nginx: weighted([[nginx, 1]]),
  json: weighted([[json, 1]]),
  mixed: weighted([[(c: Ctx) => SYSLOG.pick(c.r)(c), 40], [nginx, 30], [json, 30]]),
};

/** A line source: each call returns the next line (no newline). */
function source(opts: CorpusOptions): () => string {
  const pickKind = KINDS[opts.kind];
  if (!pickKind) throw new Error(`unknown corpus kind: ${String(opts.kind)}`);
  const start = opts.startMs ?? DEFAULT_START_MS;
  const rate = opts.ratePerSec ?? 20000;
  if (!(rate > 0)) throw new Error('ratePerSec must be > 0');
  const r = new Rng(opts.seed ?? 1);
  const c: Ctx = { r, st: new Stamp(), ms: start, elapsed: 0, session: 1000 + r.int(90000), conn: r.range(1, 9_000_000), lvl: 0, msg: '', err: -1 };
  const meanGap = 1000 / rate;
  let clock = start;
  // The rate drifts (mean-reverting random walk in log space, redrawn every simulated second).
  let factor = 1;
  let nextDrift = start + 1000;
  return () => {
    clock += r.exp(meanGap) / factor;
    if (clock >= nextDrift) {
      factor = Math.exp(0.8 * Math.log(factor) + 0.2 * r.normal());
      nextDrift += 1000;
    }
    // Sources lag a little behind the receiver; a few lines arrive late (buffered forwarders).
    const lag = r.chance(0.97) ? r.u() * 2 : r.chance(0.97) ? r.lognormal(40, 1) : r.u() * 5000;
    c.ms = clock - lag < start ? clock : clock - lag;
    c.elapsed = (c.ms - start) / 1000;
    c.st.set(c.ms);
    return pickKind.pick(r)(c);
  };
}

/** An endless, deterministic stream of log lines (without newlines). */
export function* corpusLines(opts: CorpusOptions): Generator<string> {
  const next = source(opts);
  for (;;) yield next();
}

/** `count` lines, each LF-terminated, in one buffer. */
export function corpusBuffer(opts: CorpusOptions & { count: number }): { buf: Buffer; lines: number; bytes: number } {
  const next = source(opts);
  const CHUNK = 1 << 20;
  const parts: Buffer[] = [];
  let cur = Buffer.allocUnsafe(CHUNK);
  let off = 0;
  for (let i = 0; i < opts.count; i++) {
    const line = next();
    if (off + line.length * 3 + 1 > cur.length) {
      parts.push(cur.subarray(0, off));
      cur = Buffer.allocUnsafe(Math.max(CHUNK, line.length * 3 + 1));
      off = 0;
    }
    off += cur.write(line, off, 'utf8');
    cur[off++] = 10;
  }
  parts.push(cur.subarray(0, off));
  const buf = Buffer.concat(parts);
  return { buf, lines: opts.count, bytes: buf.length };
}

// ---------------------------------------------------------------- self-check

if (process.argv[1]?.endsWith('corpus.js')) {
  const kinds: CorpusKind[] = ['syslog', 'nginx', 'json', 'mixed'];
  for (const kind of kinds) {
    console.log(`--- ${kind}: 10 sample lines (seed 1)`);
    const it = corpusLines({ kind, seed: 1 });
    for (let i = 0; i < 10; i++) console.log(it.next().value as string);
    console.log();
  }
  // Determinism: the same options give the same bytes; another seed gives others.
  const a = corpusBuffer({ kind: 'mixed', seed: 7, count: 20000 }).buf;
  const b = corpusBuffer({ kind: 'mixed', seed: 7, count: 20000 }).buf;
  const d = corpusBuffer({ kind: 'mixed', seed: 8, count: 20000 }).buf;
  if (!a.equals(b) || a.equals(d)) throw new Error('corpus is not deterministic per seed');

  const N = 1_000_000;
  console.log(`corpusBuffer, ${N.toLocaleString('en-US')} lines per kind (seed 1); length percentiles over the first 100k lines; deflate over the first 16 MiB`);
  console.log('kind     avg bytes/line    min    p50    p99    max   deflate-6 ratio      lines/s      MB/s');
  for (const kind of kinds) {
    const t0 = process.hrtime.bigint();
    const { buf, lines, bytes } = corpusBuffer({ kind, seed: 1, count: N });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const lens: number[] = [];
    let from = 0;
    for (let i = 0; i < 100000; i++) {
      const nl = buf.indexOf(10, from);
      lens.push(nl - from);
      from = nl + 1;
    }
    lens.sort((x, y) => x - y);
    const sample = buf.subarray(0, Math.min(buf.length, 16 * 1024 * 1024));
    const ratio = sample.length / deflateSync(sample, { level: 6 }).length;
    console.log(
      `${kind.padEnd(8)} ${(bytes / lines).toFixed(1).padStart(14)} ${String(lens[0]).padStart(6)} ${String(lens[50000]).padStart(6)} ${String(lens[99000]).padStart(6)} ${String(lens[99999]).padStart(6)}   ${ratio.toFixed(2).padStart(15)}   ${Math.round(lines / s).toLocaleString('en-US').padStart(10)}   ${(bytes / s / 1e6).toFixed(0).padStart(7)}`,
    );
  }
  const t0 = process.hrtime.bigint();
  const it = corpusLines({ kind: 'mixed', seed: 3 });
  let chars = 0;
  for (let i = 0; i < N; i++) chars += (it.next().value as string).length;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`corpusLines('mixed'): ${N.toLocaleString('en-US')} lines in ${s.toFixed(2)} s = ${Math.round(N / s).toLocaleString('en-US')} lines/s (${chars} chars)`);
}
