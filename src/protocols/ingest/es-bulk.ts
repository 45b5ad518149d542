/**
 * Elasticsearch bulk API (`POST /_bulk`, `POST /{index}/_bulk`) → JSON lines, and
 * the per-item bulk response that Filebeat, Logstash, Fluent Bit and Vector read to
 * decide what to retry (docs/ingest-compat.md, "Elasticsearch bulk").
 *
 * The body is NDJSON: an action line (`{"create":{"_index":"logs"}}`), then for
 * `index`, `create` and `update` a source line; `delete` has none. ringlog stores
 * logs append-only: `index` and `create` are stored, `update` and `delete` are
 * answered per item with a 400 and nothing is stored for them.
 *
 * What breaks the pairing of action and source lines (an action line that is not
 * `{"<action>":{…}}`, an unknown action) makes the whole request unusable, as in
 * Elasticsearch: IngestDecodeError, nothing stored. A bad source document only fails
 * its own item.
 *
 * Probe requests (`GET /`, `/_license`, templates, ILM…) are in es-probe.ts
 * (re-exported here).
 */
import { randomBytes } from 'node:crypto';
import { IngestDecodeError } from './types.js';
import {
  KeyNames, RawLine, lastMember, memberTime, objectMembers, stringOf, usableText, wouldBeGelf,
  type Member,
} from './json-members.js';
import { skipBom } from '../utf8-bom.js';

export { ES_VERSION, esProbeResponse, type EsProbeAnswer } from './es-probe.js';

export type EsAction = 'index' | 'create' | 'update' | 'delete';

export interface EsItemError {
  /** The item's HTTP status in the response (400: the item itself is bad). */
  status: number;
  /** Elasticsearch's exception type, which clients log. */
  type: string;
  reason: string;
}

export interface EsBulkItem {
  action: EsAction;
  /** The target index as the response names it ('' when the request named none). */
  _index: string;
  /** The `_id` the client gave, or one made up for the response (not stored). */
  _id: string;
  /** The JSON line to store: set for index/create items whose document is usable. */
  line?: Buffer;
  /** Set when the item is refused; then `line` is not. */
  error?: EsItemError;
}

export interface EsBulkOptions {
  /** Largest source document in bytes (the route passes ingest.maxItem; 64 KiB when not given). */
  maxItem?: number;
  /** Makes the `_id` of an item that has none (default: 20 random base64url characters, like Elasticsearch's). */
  newId?: () => string;
}

export const DEFAULT_MAX_ITEM = 64 * 1024;

const ACTIONS: ReadonlySet<string> = new Set(['index', 'create', 'update', 'delete']);

function randomId(): string {
  return randomBytes(15).toString('base64url');
}

/**
 * Splits a bulk body into items. `indexFromPath`: the `{index}` of `POST /{index}/_bulk`
 * (URL-decoded), the default for action lines without `_index`.
 */
export function decodeEsBulk(body: Buffer, indexFromPath: string | null, opts: EsBulkOptions = {}): { items: EsBulkItem[] } {
  const maxItem = opts.maxItem ?? DEFAULT_MAX_ITEM;
  const newId = opts.newId ?? randomId;
  const items: EsBulkItem[] = [];
  const end = body.length;
  let p = 0;
  let lineNo = 0;
  // A UTF-8 BOM before the first line (RFC 8259 §8.1 lets a parser skip it).
  p = skipBom(body, p, end);

  /** The next line [s, e) without its CR/LF, or null at the end of the body. */
  const nextLine = (): { s: number; e: number } | null => {
    if (p >= end) return null;
    const s = p;
    let nl = body.indexOf(0x0a, p);
    if (nl < 0) nl = end;
    p = nl + 1;
    lineNo++;
    let e = nl;
    if (e > s && body[e - 1] === 0x0d) e--;
    return { s, e };
  };

  for (;;) {
    const a = nextLine();
    if (a === null) break;
    if (isBlank(body, a.s, a.e)) continue;
    if (a.e - a.s > maxItem) {
      throw new IngestDecodeError('invalid_request', `bulk line ${lineNo}: an action line of ${a.e - a.s} bytes (limit ${maxItem})`);
    }
    const { action, meta } = actionOf(body, a.s, a.e, lineNo);
    const index = metaText(body, meta, '_index') ?? indexFromPath ?? '';
    const givenId = metaText(body, meta, '_id');
    const item: EsBulkItem = { action, _index: index, _id: givenId ?? newId() };
    items.push(item);
    if (action === 'delete') {
      item.error = refuse('delete');
      continue;
    }
    const src = nextLine();
    if (action === 'update') {
      item.error = refuse('update');
      continue;
    }
    if (src === null) {
      item.error = {
        status: 400, type: 'action_request_validation_exception',
        reason: `the ${action} action on line ${lineNo} has no source document after it`,
      };
      continue;
    }
    const badName = index === '' ? null : esIndexNameError(index);
    if (badName !== null) {
      item.error = { status: 400, type: 'invalid_index_name_exception', reason: `Invalid index name [${index}], ${badName}` };
      continue;
    }
    const len = src.e - src.s;
    if (len > maxItem) {
      item.error = {
        status: 400, type: 'illegal_argument_exception',
        reason: `the document on line ${lineNo} is ${len} bytes, over ringlog's limit of ${maxItem} bytes (ingest.maxItem)`,
      };
      continue;
    }
    const members = isBlank(body, src.s, src.e) ? null : objectMembers(body, src.s, src.e);
    if (members === null) {
      item.error = {
        status: 400, type: 'document_parsing_exception',
        reason: `the document on line ${lineNo} is not one well-formed JSON object`,
      };
      continue;
    }
    item.line = esLine(body, members, index === '' ? null : index, givenId);
  }
  return { items };
}

function refuse(action: 'update' | 'delete'): EsItemError {
  return {
    status: 400, type: 'illegal_argument_exception',
    reason: `ringlog stores log records append-only and does not support the ${action} action; send documents with index or create`,
  };
}

function isBlank(buf: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = buf[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

function actionOf(body: Buffer, s: number, e: number, lineNo: number): { action: EsAction; meta: Member[] } {
  const members = objectMembers(body, s, e);
  if (members === null || members.length !== 1 || members[0]!.kind !== 'object') {
    throw new IngestDecodeError('invalid_request', `bulk line ${lineNo}: malformed action/metadata line, expected {"<action>":{…}}`);
  }
  const m = members[0]!;
  if (!ACTIONS.has(m.key)) {
    throw new IngestDecodeError('invalid_request', `bulk line ${lineNo}: unknown action ${JSON.stringify(m.key.slice(0, 64))}, expected one of create, delete, index, update`);
  }
  const meta = objectMembers(body, m.vs, m.ve) ?? [];
  return { action: m.key as EsAction, meta };
}

/** A metadata value as text (`_index`, `_id`): a non-empty string, or a number as written. */
function metaText(body: Buffer, meta: Member[], key: string): string | null {
  const m = lastMember(meta, key);
  if (m === undefined) return null;
  if (m.kind === 'number') return body.toString('latin1', m.vs, m.ve);
  if (m.kind !== 'string') return null;
  const s = stringOf(body, m);
  return s === '' ? null : s;
}

/** Member `inner` of a top-level object member `outer`, or a top-level dotted key `outer.inner`. */
function ecsMember(body: Buffer, members: Member[], outer: string, inner: string): Member | undefined {
  const o = lastMember(members, outer);
  if (o !== undefined && o.kind === 'object' && !o.empty) {
    const sub = objectMembers(body, o.vs, o.ve);
    const m = sub === null ? undefined : lastMember(sub, inner);
    if (m !== undefined) return m;
  }
  return lastMember(members, `${outer}.${inner}`);
}

/**
 * One source document → the JSON line to store (the mapping is in
 * docs/ingest-compat.md): `time` from `@timestamp`; `host`, `app`, `level` from
 * the ECS fields when the document has no value of its own; `index` and `_id` from
 * the action line. Every member of the document is written, as it was.
 */
export function esLine(body: Buffer, members: Member[], index: string | null, id: string | null): Buffer {
  const docKeys = new Set(members.map((m) => m.key));
  const names = new KeyNames(docKeys);
  const out = new RawLine();
  const skip = new Set<Member>();

  // time: @timestamp is the event time in Elasticsearch (Kibana sorts on it), so it
  // outranks the `time`/`timestamp`/`ts` keys the JSON-lines parser would try first.
  const at = lastMember(members, '@timestamp');
  const time = memberTime(body, at);
  if (time !== null) {
    out.text(names.claim('time'), time);
    skip.add(at!);
  }

  // host: ECS host.name (then host.hostname) when `host` is not already a name.
  const host = lastMember(members, 'host');
  let hoistHost: Member | undefined;
  if (!usableText(host) && (host === undefined || host.kind === 'object')) {
    const h = ecsMember(body, members, 'host', 'name') ?? ecsMember(body, members, 'host', 'hostname');
    if (usableText(h)) {
      out.raw(names.claim('host'), body, h!.vs, h!.ve);
      hoistHost = host;
    }
  }

  // app: ECS service.name, then process.name, unless `app` or a `service` name is there.
  const service = lastMember(members, 'service');
  const serviceName = service !== undefined && service.kind === 'string' && !/^[0-9]/.test(stringOf(body, service));
  if (!docKeys.has('app') && !serviceName) {
    const a = ecsMember(body, members, 'service', 'name') ?? ecsMember(body, members, 'process', 'name');
    if (usableText(a)) out.raw(names.claim('app'), body, a!.vs, a!.ve);
  }

  // level: ECS log.level, unless the document has a level of its own.
  if (!docKeys.has('level') && !docKeys.has('severity') && !docKeys.has('lvl')) {
    const l = ecsMember(body, members, 'log', 'level');
    if (l !== undefined && (l.kind === 'string' || l.kind === 'number')) out.raw(names.claim('level'), body, l.vs, l.ve);
  }

  if (index !== null) out.text(names.claim('index'), index);
  if (id !== null) out.text(names.claim('_id'), id);
  if (wouldBeGelf(docKeys)) names.claim('version');

  for (const m of members) {
    if (skip.has(m)) continue;
    if (m === hoistHost) {
      // The host object's members as `host.<name>` keys: the fields the parser would
      // have made from the object, with `host` itself free for the name.
      for (const sub of objectMembers(body, m.vs, m.ve) ?? []) out.raw(names.docKey(`host.${sub.key}`), body, sub.vs, sub.ve);
      continue;
    }
    out.raw(names.docKey(m.key), body, m.vs, m.ve);
  }
  return out.done();
}

/** Per-item result in the response of an item that was stored. */
/** A stored item's result, as Elasticsearch gives it for a new document. */
export function esCreated(item: EsBulkItem, seqNo: number): object {
  return {
    _index: item._index, _id: item._id, _version: 1, result: 'created',
    _shards: { total: 1, successful: 1, failed: 0 }, _seq_no: seqNo, _primary_term: 1, status: 201,
  };
}

/**
 * The bulk response: one entry per item in order, under its action. `stored(i)` says
 * whether item i (one with a line) is durable; an item that is not gets a 429, which
 * every client retries. `errors` is true when any item failed.
 */
export function esBulkResponse(items: EsBulkItem[], tookMs: number, stored: (i: number) => boolean): Buffer {
  let errors = false;
  const out: object[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    let result: object;
    if (item.error !== undefined) {
      errors = true;
      result = { _index: item._index, _id: item._id, status: item.error.status, error: { type: item.error.type, reason: item.error.reason } };
    } else if (stored(i)) {
      result = esCreated(item, i);
    } else {
      errors = true;
      result = {
        _index: item._index, _id: item._id, status: 429,
        error: { type: 'es_rejected_execution_exception', reason: 'ringlog could not store the document now (overloaded or shutting down); retry' },
      };
    }
    out.push({ [item.action]: result });
  }
  return Buffer.from(JSON.stringify({ took: Math.max(0, Math.round(tookMs)), errors, items: out }), 'utf8');
}

/**
 * A whole-request error in Elasticsearch's shape, for IngestDecodeError and probes
 * of unknown paths: `{"error":{"root_cause":[…],"type":…,"reason":…},"status":N}`.
 */
export function esErrorBody(status: number, type: string, reason: string): Buffer {
  return Buffer.from(JSON.stringify({ error: { root_cause: [{ type, reason }], type, reason }, status }), 'utf8');
}

/**
 * The body of a single-document request (`PUT /{index}/_doc/{id}`) as a bulk source
 * line: the UTF-8 BOM dropped, and CR and LF between JSON tokens (a pretty-printed
 * document) turned into spaces. Inside a string they are left alone, so a document
 * with a raw line break in a string stays invalid JSON and is refused as
 * Elasticsearch refuses it.
 */
export function esDocumentLine(body: Buffer): Buffer {
  const start = skipBom(body, 0, body.length);
  const out = Buffer.from(body.subarray(start));
  let inString = false;
  for (let i = 0; i < out.length; i++) {
    const c = out[i]!;
    if (inString) {
      if (c === 0x5c) i++; // the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x0a || c === 0x0d) out[i] = 0x20;
  }
  return out;
}

/**
 * Why Elasticsearch would refuse `name` as an index name (its rules: lowercase; none
 * of \ / * ? " < > | , # space; not starting with - _ +; not . or ..; at most 255
 * bytes), or null when it is a valid one.
 */
export function esIndexNameError(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  if (name !== name.toLowerCase()) return 'must be lowercase';
  if (/[\\/*?"<>| ,#]/.test(name)) return 'must not contain \\, /, *, ?, ", <, >, |, a space, a comma or #';
  if (/^[-_+]/.test(name)) return 'must not start with -, _ or +';
  if (name === '.' || name === '..') return 'must not be . or ..';
  if (Buffer.byteLength(name, 'utf8') > 255) return 'is longer than 255 bytes';
  return null;
}
