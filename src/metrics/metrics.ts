/**
 * Every metric ringlog exports, registered on one prom-client Registry per server
 * (so tests can run several servers in one process). Hot paths never touch these
 * per message: listeners count in plain numbers per chunk and call `inc(n)` once.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();

  readonly connectionsOpen = new Gauge({
    name: 'ringlog_connections_open', help: 'Stream connections currently open', labelNames: ['listener'], registers: [this.registry],
  });
  readonly connectionsAccepted = new Counter({
    name: 'ringlog_connections_accepted_total', help: 'Stream connections accepted', labelNames: ['listener'], registers: [this.registry],
  });
  readonly connectionsRefused = new Counter({
    name: 'ringlog_connections_refused_total',
    help: 'Stream connections refused or failed before use, by reason (max_connections; fd_limit: the cap the open-files limit imposes; emfile, accept_error: accept() failed; tls_handshake; shutting_down)',
    labelNames: ['listener', 'reason'], registers: [this.registry],
  });
  readonly connectionsClosed = new Counter({
    name: 'ringlog_connections_closed_total',
    help: 'Stream connections closed, by reason (peer: the sender closed; idle_timeout; error; shutdown: closed by the server while shutting down)',
    labelNames: ['listener', 'reason'], registers: [this.registry],
  });
  readonly receivedBytes = new Counter({
    name: 'ringlog_received_bytes_total', help: 'Bytes read from sockets', labelNames: ['listener'], registers: [this.registry],
  });
  readonly receivedFrames = new Counter({
    name: 'ringlog_received_frames_total', help: 'Frames (messages) handed to the pipeline', labelNames: ['listener'], registers: [this.registry],
  });
  readonly framesTruncated = new Counter({
    name: 'ringlog_frames_truncated_total', help: 'Frames longer than the maximum frame size, cut and flagged', labelNames: ['listener'], registers: [this.registry],
  });
  readonly framingErrors = new Counter({
    name: 'ringlog_framing_errors_total', help: 'Framing anomalies by reason (bad_octet_count)', labelNames: ['listener', 'reason'], registers: [this.registry],
  });
  readonly recordsParsed = new Counter({
    name: 'ringlog_records_parsed_total',
    help: 'Records parsed, by the format detected or forced (syslog, rfc5424, rfc3164, json, gelf, logfmt, raw)',
    labelNames: ['listener', 'format'], registers: [this.registry],
  });
  readonly parseErrors = new Counter({
    name: 'ringlog_parse_errors_total',
    help: 'Frames that did not parse and were kept as raw records with a parse_error field, by reason (docs/record.md)',
    labelNames: ['listener', 'reason'], registers: [this.registry],
  });
  readonly timestampsReplaced = new Counter({
    name: 'ringlog_timestamps_replaced_total',
    help: 'Records whose own timestamp was absurd (before 1970 or more than 7 days after receipt): they keep the receive time and the original in the original_timestamp field',
    labelNames: ['listener'], registers: [this.registry],
  });
  readonly gelfDropped = new Counter({
    name: 'ringlog_gelf_dropped_total',
    help: 'GELF datagrams or chunked messages dropped while decoding, by reason (decompress_failed, too_large, bad_chunk, duplicate_chunk, expired, evicted)',
    labelNames: ['listener', 'reason'], registers: [this.registry],
  });
  readonly dropped = new Counter({
    name: 'ringlog_dropped_total',
    help: 'Messages dropped, by reason (oversize: longer than the maximum frame with on-oversize=drop; queue_full: datagram arrived while the pipeline was over its high watermark)',
    labelNames: ['listener', 'reason'], registers: [this.registry],
  });
  readonly kernelDrops = new Counter({
    name: 'ringlog_udp_kernel_drops_total',
    help: 'Datagrams the kernel dropped because the socket receive buffer was full (from /proc/net/udp); raise recvBufferSize and net.core.rmem_max',
    labelNames: ['listener'], registers: [this.registry],
  });
  readonly queueBytes = new Gauge({
    name: 'ringlog_pipeline_queue_bytes', help: 'Bytes queued between the edge and the outputs', registers: [this.registry],
  });
  readonly queueBatches = new Gauge({
    name: 'ringlog_pipeline_queue_batches', help: 'Batches queued between the edge and the outputs', registers: [this.registry],
  });
  readonly socketsPaused = new Gauge({
    name: 'ringlog_sockets_paused', help: 'Stream sockets whose reads are paused for backpressure', registers: [this.registry],
  });
  readonly pauses = new Counter({
    name: 'ringlog_backpressure_pauses_total', help: 'Times the pipeline crossed its high watermark and paused stream sockets', registers: [this.registry],
  });
  readonly outputRecords = new Counter({
    name: 'ringlog_output_records_total', help: 'Records written by each output', labelNames: ['output'], registers: [this.registry],
  });
  readonly outputBytes = new Counter({
    name: 'ringlog_output_bytes_total', help: 'Bytes written by each output (NDJSON: formatted bytes; null: frame bytes)', labelNames: ['output'], registers: [this.registry],
  });
  readonly outputLastWrite = new Gauge({
    name: 'ringlog_output_last_write_timestamp_seconds',
    help: 'Wall-clock time of the last successful write of each output (a stalled output stops advancing it)',
    labelNames: ['output'], registers: [this.registry],
  });
  readonly outputErrors = new Counter({
    name: 'ringlog_output_errors_total', help: 'Write or sync errors of each output', labelNames: ['output'], registers: [this.registry],
  });
  readonly outputLatency = new Histogram({
    name: 'ringlog_output_latency_seconds',
    help: 'Per output write: time from the receipt of the oldest record in it to the write completing',
    labelNames: ['output'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  // The store (docs/storage.md). Counters fed from the store worker arrive with its stats, about once a second.
  readonly storeRecords = new Counter({
    name: 'ringlog_store_records_total', help: 'Records made durable in the store (written to the WAL and fsynced): the ack point', registers: [this.registry],
  });
  readonly storeBytes = new Counter({
    name: 'ringlog_store_bytes_total', help: 'Frame bytes of the records made durable in the store', registers: [this.registry],
  });
  readonly storeWalBytes = new Counter({
    name: 'ringlog_store_wal_bytes_total', help: 'Bytes of WAL entries made durable (a write retried after an error counts once)', registers: [this.registry],
  });
  readonly storeWalSyncs = new Counter({
    name: 'ringlog_store_wal_syncs_total', help: 'fdatasync calls on the write-ahead log (one per group commit)', registers: [this.registry],
  });
  readonly storeWalSyncSeconds = new Histogram({
    name: 'ringlog_store_wal_sync_seconds', help: 'Duration of each WAL fdatasync',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [this.registry],
  });
  readonly storeDurableLatency = new Histogram({
    name: 'ringlog_store_durable_latency_seconds',
    help: 'Per batch of records read together: time from receipt to durable in the WAL (when the record is acknowledged)',
    buckets: [0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry],
  });
  readonly storePendingBytes = new Gauge({
    name: 'ringlog_store_pending_bytes', help: 'Bytes copied into the store and not yet built into blocks (bounded by store.maxPending)', registers: [this.registry],
  });
  readonly storeWalFiles = new Gauge({
    name: 'ringlog_store_wal_files', help: 'Write-ahead log files on disk', registers: [this.registry],
  });
  readonly storeWalFilesOpened = new Gauge({
    name: 'ringlog_store_wal_files_opened',
    help: 'WAL files opened since start, by how: prepared (made at full size ahead, store.walPrepare) or grown (created empty: none was ready, or too little free space); recycled: those of the prepared that were a committed WAL file reused (the others were zero-filled)',
    labelNames: ['kind'], registers: [this.registry],
  });
  readonly storeBlocks = new Counter({
    name: 'ringlog_store_blocks_total', help: 'Blocks sealed and written', registers: [this.registry],
  });
  readonly storeBlockRawBytes = new Counter({
    name: 'ringlog_store_block_raw_bytes_total', help: 'Columnar bytes of the blocks written, before compression', registers: [this.registry],
  });
  readonly storeBlockBytes = new Counter({
    name: 'ringlog_store_block_bytes_total', help: 'Bytes of the blocks written, compressed, headers included', registers: [this.registry],
  });
  readonly storeCommits = new Counter({
    name: 'ringlog_store_commits_total', help: 'Commits: blocks synced and the checkpoint moved forward', registers: [this.registry],
  });
  readonly storeDiskBytes = new Gauge({
    name: 'ringlog_store_disk_bytes', help: 'Bytes of segment and index files (what retention by size counts)', registers: [this.registry],
  });
  readonly storePartitions = new Gauge({
    name: 'ringlog_store_partitions', help: 'Partition directories (one per UTC hour with records)', registers: [this.registry],
  });
  readonly storeWriteErrors = new Counter({
    name: 'ringlog_store_write_errors_total', help: 'Failed store writes or syncs (retried), by file kind (wal, segment, checkpoint)', labelNames: ['file'], registers: [this.registry],
  });
  readonly storeStalled = new Gauge({
    name: 'ringlog_store_write_stalled', help: '1 while store writes fail and are being retried (disk full, I/O errors): records wait and senders are slowed', registers: [this.registry],
  });
  readonly storeDamage = new Counter({
    name: 'ringlog_store_damage_total',
    help: 'Damage found and handled by recovery, by kind (torn_tail, uncommitted_block, rebuilt_index, damaged_block, damaged_header, damaged_wal_entry, checkpoint_slot, checkpoint_lost, checkpoint_stale)',
    labelNames: ['kind'], registers: [this.registry],
  });
  readonly storeDamagedBytes = new Counter({
    name: 'ringlog_store_damaged_bytes_total', help: 'Bytes of store files found damaged or torn at recovery and cut off or skipped', registers: [this.registry],
  });
  readonly storeReplayed = new Counter({
    name: 'ringlog_store_replayed_records_total', help: 'Records replayed from the WAL at start (durable but not yet in committed blocks)', registers: [this.registry],
  });
  readonly storeRetentionDeleted = new Counter({
    name: 'ringlog_store_retention_deleted_bytes_total', help: 'Bytes deleted by retention, by reason (age, size)', labelNames: ['reason'], registers: [this.registry],
  });

  readonly queryRequests = new Counter({
    name: 'ringlog_query_requests_total',
    help: 'Query API requests by endpoint (query, count, hits, facets, tail) and outcome (ok, invalid, busy, timeout, cancelled, error)',
    labelNames: ['endpoint', 'outcome'], registers: [this.registry],
  });
  readonly queryDuration = new Histogram({
    name: 'ringlog_query_duration_seconds', help: 'Time from a query request to its last byte, by endpoint',
    labelNames: ['endpoint'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry],
  });
  readonly queryBlocks = new Counter({
    name: 'ringlog_query_blocks_total', help: 'Blocks considered by queries, by what happened to them (read, skipped_time, skipped_index, damaged)',
    labelNames: ['result'], registers: [this.registry],
  });
  readonly queryRunning = new Gauge({
    name: 'ringlog_query_active', help: 'Queries running or waiting for a query worker', registers: [this.registry],
  });
  readonly tailSubscribers = new Gauge({
    name: 'ringlog_tail_subscribers', help: 'Live tail subscribers connected', registers: [this.registry],
  });
  readonly tailRecords = new Counter({
    name: 'ringlog_tail_records_total', help: 'Records sent to live tail subscribers', registers: [this.registry],
  });
  readonly tailMissed = new Counter({
    name: 'ringlog_tail_missed_total', help: 'Records live tail subscribers missed because they read too slowly (each was told how many)', registers: [this.registry],
  });

  readonly tailMissedEntries = new Counter({
    name: 'ringlog_tail_missed_entries_total',
    help: 'WAL entries live tail could not read at all (jumped over when two or more WAL files behind, recycled or deleted before it read them, or damaged), counted per subscriber told; their records are not known',
    registers: [this.registry],
  });

  readonly ingestRequests = new Counter({
    name: 'ringlog_ingest_requests_total', help: 'HTTP ingest requests by endpoint and the status answered',
    labelNames: ['endpoint', 'status'], registers: [this.registry],
  });
  readonly ingestRecords = new Counter({
    name: 'ringlog_ingest_records_total', help: 'Records taken in by HTTP ingest endpoints (handed to the pipeline)', labelNames: ['endpoint'], registers: [this.registry],
  });
  readonly ingestBytes = new Counter({
    name: 'ringlog_ingest_bytes_total', help: 'Request body bytes read by HTTP ingest endpoints (as sent, compressed or not)', labelNames: ['endpoint'], registers: [this.registry],
  });
  readonly ingestRejected = new Counter({
    name: 'ringlog_ingest_rejected_total', help: 'Items of ingest requests not stored, by reason (too_large, not_object, …)', labelNames: ['endpoint', 'reason'], registers: [this.registry],
  });
  readonly ingestDuration = new Histogram({
    name: 'ringlog_ingest_request_duration_seconds', help: 'From an ingest request to its answer (after the records are durable)',
    labelNames: ['endpoint'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'ringlog_' });
  }

  private readonly collectors: (() => void)[] = [];

  /**
   * Registers a function run before each scrape: hot paths keep plain-number
   * counters and move them into the registry here, instead of calling prom-client per read.
   */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  text(): Promise<string> {
    for (const fn of this.collectors) fn();
    return this.registry.metrics();
  }
}
