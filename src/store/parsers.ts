/**
 * The store worker's parse step: one ParseStage per (listener, format) — the same
 * parsers, with the same per-listener counts, that listeners run on the event loop
 * when something there needs records (docs/architecture.md, "Where records are
 * parsed"). Frames come from WAL entries; a parser failing on one is a bug, logged,
 * and the frame kept as a raw record (ParseStage does that).
 */
import type { FrameBatch } from '../pipeline/batch.js';
import type { RecordBatch } from '../record/record-batch.js';
import { ParseStage, type ParseCounts } from '../protocols/formats/parse-stage.js';
import type { FormatName } from '../protocols/formats/format.js';

/** Counts since the last take(), per listener. */
export type ParseCountsByListener = { listener: string; counts: ParseCounts }[];

/** The parse stage of a batch: one per listener and format. */
export function stageKey(b: FrameBatch & { format: FormatName }): string {
  return `${b.source.listener}\u0000${b.format}`;
}

export class Parsers {
  private readonly stages = new Map<string, ParseStage>();

  /**
   * `reuseColumns`: a batch's columns are valid only until the next parse() (no memory
   * allocated per batch): for the store worker, which builds a batch into blocks before
   * it parses the next.
   */
  constructor(
    private readonly onInternalError: (listener: string, err: unknown) => void = () => {},
    private readonly reuseColumns = false,
  ) {}

  parse(b: FrameBatch & { format: FormatName }): RecordBatch {
    const key = stageKey(b);
    let st = this.stages.get(key);
    if (st === undefined) {
      st = new ParseStage(b.format, this.reuseColumns);
      const listener = b.source.listener;
      st.onInternalError = (err) => this.onInternalError(listener, err);
      this.stages.set(key, st);
    }
    return st.parse(b);
  }

  /** Counts since the last call, per listener (listeners with nothing new are left out). */
  take(): ParseCountsByListener {
    const out: ParseCountsByListener = [];
    for (const [key, st] of this.stages) {
      const counts = st.take();
      if (counts.formats.size > 0 || counts.errors.size > 0 || counts.timestampsReplaced > 0) out.push({ listener: key.split('\u0000')[0]!, counts });
    }
    return out;
  }
}
