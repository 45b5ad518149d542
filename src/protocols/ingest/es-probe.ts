/**
 * The requests Elasticsearch clients make besides `_bulk` (at start-up, on
 * reconnect, for sniffing), answered so that the client carries on and sends
 * `_bulk` (docs/ingest-compat.md, "Probe requests", has the table with which client
 * makes which request and why each answer is what it is).
 *
 * The rule behind the answers: ringlog has no indices, templates, ILM policies or
 * pipelines, so it says that whatever a client asks about exists (it then does not
 * try to create it) and acknowledges whatever a client creates.
 */

/**
 * The version ringlog reports. 8.19 is the last 8.x minor: Beats 8.0–8.10 refuse an
 * Elasticsearch older than themselves (allow_older_versions defaulted to false
 * until 8.11), so a lower 8.x number would lock out newer 8.x Beats; Beats 9 accept
 * it (allow_older_versions defaults to true). Major 8 makes Vector, Filebeat,
 * Logstash and Fluentd write typeless `_bulk` actions. Logstash ≥ 7.14 also needs
 * the X-Elastic-Product header, and build_flavor "default" (not "serverless").
 */
export const ES_VERSION = '8.19.0';

export interface EsProbeAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const JSON_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json; charset=UTF-8',
  'x-elastic-product': 'Elasticsearch',
};

const CLUSTER_NAME = 'ringlog';
const CLUSTER_UUID = 'cmluZ2xvZy1yaW5nbG9n';

function answer(status: number, body: unknown, headers: Readonly<Record<string, string>> = JSON_HEADERS): EsProbeAnswer {
  return { status, headers: { ...headers }, body: body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body), 'utf8') };
}

const ROOT = {
  name: 'ringlog',
  cluster_name: CLUSTER_NAME,
  cluster_uuid: CLUSTER_UUID,
  version: {
    number: ES_VERSION,
    build_flavor: 'default',
    build_type: 'tar',
    build_hash: '0000000000000000000000000000000000000000',
    build_date: '2025-07-01T00:00:00.000Z',
    build_snapshot: false,
    lucene_version: '9.12.2',
    minimum_wire_compatibility_version: '7.17.0',
    minimum_index_compatibility_version: '7.0.0',
  },
  tagline: 'You Know, for Search',
};

const LICENSE = {
  license: {
    status: 'active',
    uid: '00000000-0000-4000-8000-000000000000',
    type: 'basic',
    issue_date: '1970-01-01T00:00:00.000Z',
    issue_date_in_millis: 0,
    max_nodes: 1000,
    max_resource_units: null,
    issued_to: CLUSTER_NAME,
    issuer: 'ringlog',
    start_date_in_millis: -1,
  },
};

const XPACK = {
  build: { hash: ROOT.version.build_hash, date: ROOT.version.build_date },
  license: { uid: LICENSE.license.uid, type: 'basic', mode: 'basic', status: 'active' },
  // Logstash's ilm_enabled => true checks features.ilm; saying it is there lets such
  // configurations start (their ILM calls below are acknowledged).
  features: { ilm: { available: true, enabled: true } },
  tagline: 'for you',
};

const HEALTH = {
  cluster_name: CLUSTER_NAME, status: 'green', timed_out: false,
  number_of_nodes: 1, number_of_data_nodes: 1, active_primary_shards: 0, active_shards: 0,
  relocating_shards: 0, initializing_shards: 0, unassigned_shards: 0, delayed_unassigned_shards: 0,
  number_of_pending_tasks: 0, number_of_in_flight_fetch: 0, task_max_waiting_in_queue_millis: 0,
  active_shards_percent_as_number: 100.0,
};

/** Sniffing (`GET /_nodes/http`): no nodes, so Logstash keeps the hosts it was configured with. */
const NODES = { _nodes: { total: 0, successful: 0, failed: 0 }, cluster_name: CLUSTER_NAME, nodes: {} };

const ACK = { acknowledged: true };

/** The path's segments (URL-decoded, without the query, empty ones dropped) and the query. */
function splitPath(raw: string): { segs: string[]; query: URLSearchParams } {
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const segs = path.split('/').filter((s) => s.length > 0).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { segs, query };
}

/**
 * The answer to a probe request, or null when (method, path) is not one (then the
 * route answers 404, or it is `_bulk`). `path` may carry a query string.
 */
export function esProbeResponse(method: string, path: string): EsProbeAnswer | null {
  const m = method.toUpperCase();
  const head = m === 'HEAD';
  const read = m === 'GET' || head;
  const write = m === 'PUT' || m === 'POST';
  const { segs, query } = splitPath(path);
  const ok = (body: unknown): EsProbeAnswer => answer(200, head ? undefined : body);
  const s0 = segs[0] ?? '';
  const name = segs[1] ?? '';

  if (segs.length === 0) return read ? ok(ROOT) : null;
  if (segs[segs.length - 1] === '_bulk') return null;

  switch (s0) {
    case '_license':
      return read && segs.length === 1 ? ok(LICENSE) : null;
    case '_xpack':
      return read && segs.length === 1 ? ok(XPACK) : null;
    case '_cluster':
      if (read && name === 'health') return ok(HEALTH);
      if (read && name === 'settings') return ok({ persistent: {}, transient: {} });
      return null;
    case '_nodes':
      return read ? ok(NODES) : null;
    case '_cat':
      if (!read) return null;
      if (query.get('format') === 'json') return ok([]);
      return answer(200, undefined, { 'content-type': 'text/plain; charset=UTF-8', 'x-elastic-product': 'Elasticsearch' });
    case '_index_template':
    case '_component_template':
    case '_template': {
      if (write) return ok(ACK);
      if (!read) return null;
      const list = s0 === '_index_template' ? 'index_templates' : s0 === '_component_template' ? 'component_templates' : null;
      if (name === '') return ok(list === null ? {} : { [list]: [] });
      // It exists: clients then leave it alone (unless told to overwrite, which is acknowledged).
      if (list === null) return ok({ [name]: { order: 0, index_patterns: [], settings: {}, mappings: {}, aliases: {} } });
      return ok({ [list]: [{ name, [s0 === '_index_template' ? 'index_template' : 'component_template']: { index_patterns: [], template: {} } }] });
    }
    case '_ilm':
      if (name !== 'policy') return read && name === 'status' ? ok({ operation_mode: 'RUNNING' }) : null;
      if (write) return ok(ACK);
      if (!read) return null;
      if (segs[2] === undefined) return ok({});
      return ok({ [segs[2]]: { version: 1, modified_date: '1970-01-01T00:00:00.000Z', policy: { phases: {} } } });
    case '_ingest':
      if (name !== 'pipeline') return null;
      if (write) return ok(ACK);
      if (!read) return null;
      if (segs[2] === undefined) return ok({});
      return ok({ [segs[2]]: { description: 'ringlog stores documents as they are sent', processors: [] } });
    case '_data_stream':
      if (write) return ok(ACK);
      if (!read) return null;
      if (name === '') return ok({ data_streams: [] });
      return ok({
        data_streams: [{
          name, timestamp_field: { name: '@timestamp' }, indices: [], generation: 1,
          status: 'GREEN', template: name, hidden: false, system: false,
        }],
      });
    case '_alias':
    case '_aliases':
      if (write) return ok(ACK);
      return read ? ok({}) : null;
    case '_security':
      if (read && name === '_authenticate') {
        return ok({ username: 'ringlog', roles: [], full_name: null, email: null, metadata: {}, enabled: true, authentication_type: 'token' });
      }
      return null;
    default:
      break;
  }
  if (s0.startsWith('_')) return null;
  // `/{index}`: an index or alias exists (HEAD/GET), is created (PUT).
  if (segs.length === 1) {
    if (read) return ok({ [s0]: { aliases: {}, mappings: {}, settings: {} } });
    if (m === 'PUT') return ok({ acknowledged: true, shards_acknowledged: true, index: s0 });
    return null;
  }
  if (segs[1] === '_alias' || segs[1] === '_mapping' || segs[1] === '_settings') {
    if (write) return ok(ACK);
    return read ? ok({ [s0]: {} }) : null;
  }
  return null;
}
