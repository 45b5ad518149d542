/**
 * The parsed form of a query (docs/query.md). The parser (parser.ts) builds it; the
 * reference evaluator (evaluate.ts) tests one LogRecord against it; the planner
 * (plan.ts) turns it into block skipping and column filters. Relative times ("1h",
 * "now-15m") are resolved by the parser against its `now`, so a Query means the
 * same thing wherever it is evaluated.
 */

/** What a term looks at. */
export type FieldRef =
  | { kind: 'message' }
  /** host, app, procid, msgid: the record's header slots. */
  | { kind: 'slot'; name: 'host' | 'app' | 'procid' | 'msgid' }
  | { kind: 'severity' }
  | { kind: 'facility' }
  /** A key of `fields` (`fields.user_id:42`, or `user_id:42` for a name that is not one of the others). */
  | { kind: 'field'; name: string }
  /** Where the record came from: the listener's name, the transport (tcp, udp, …), the peer address. */
  | { kind: 'source'; name: 'listener' | 'transport' | 'peer' };

/**
 * How a value is matched.
 *
 * On text (bare terms: the message and every field value; `message:`): `words` is a
 * word or a phrase, matched as that character sequence, ASCII case-insensitively, at
 * token boundaries where it starts or ends with a token character (the tokenizer's
 * letters, digits, `_`, bytes ≥ 0x80). `glob` (`err*`, `user?id`) matches one token
 * as a whole, ASCII case-insensitively. `regex` searches (unanchored) with the
 * pattern's own flags.
 *
 * On a field, slot or source value: `exact` is equality, case-sensitive; `glob` the
 * whole value, case-sensitive; `regex` searches the value; `exists` (`name:*`) is
 * true when the record has the field at all.
 *
 * Glob `pattern` syntax: `*` matches any run of characters (also none), `?` exactly one
 * character (a code point), and `\` makes the next character literal: `\*`, `\?`, `\\`
 * (the parser keeps exactly these three escaped; `a\*b*` is "a*b" followed by
 * anything). A glob from the parser always has at least one unescaped `*` or `?`;
 * a word whose only wildcards are escaped is `words`/`exact` with the literal text.
 *
 * Regex `source` is the text between the slashes with `\/` turned into `/`; other
 * backslash sequences are kept as the RegExp syntax reads them. `flags` ⊆ "imsu".
 *
 * What the parser produces: bare terms `words`/`glob`/`regex`; `message:` the same
 * (a quoted value is `words` too); slots, fields and sources `exact`/`glob`/`regex`/
 * `exists`. The evaluator also defines the other combinations (`words` on a value is
 * a text search of that value; `exact` on text is equality; `exists` on text is true).
 */
export type Match =
  | { kind: 'words'; text: string }
  | { kind: 'exact'; value: string }
  | { kind: 'glob'; pattern: string }
  | { kind: 'regex'; source: string; flags: string }
  | { kind: 'exists' };

export type CompareOp = '<' | '<=' | '>' | '>=';

export type Node =
  /** Matches every record: the empty query, `*`. */
  | { kind: 'all' }
  | { kind: 'and'; items: Node[] }
  | { kind: 'or'; items: Node[] }
  | { kind: 'not'; item: Node }
  /** `field === null`: a bare term, searched in the message and every field value. */
  | { kind: 'match'; field: FieldRef | null; match: Match }
  /**
   * Numeric comparison. severity and facility compare their numbers (names are
   * resolved by the parser: `severity<=err` is severity 0..3); a field compares its
   * value as a decimal number and a record whose value is not a number does not match.
   */
  | { kind: 'compare'; field: FieldRef; op: CompareOp; value: number }
  /**
   * severity / facility given as a name or number: `severity:err` → values [3];
   * a list `severity:(err OR crit)` → values [3, 2] (in the order written).
   */
  | { kind: 'level'; field: { kind: 'severity' } | { kind: 'facility' }; values: number[] }
  /**
   * A time range on the record timestamp, ns since the epoch; from inclusive, to
   * exclusive; null = open. Exclusive and inclusive ends of the query text are made
   * exact in ns: `time:>X` is from X+1, `time:<=X` is to X+1.
   */
  | { kind: 'time'; from: bigint | null; to: bigint | null };

export interface Query {
  root: Node;
  /** The query text it came from. */
  text: string;
}
