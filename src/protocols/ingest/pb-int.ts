/**
 * 64-bit integers as protobufjs decodes them: a Long (long.js, a dependency of
 * protobufjs) or, without long.js, a number. Read from the two 32-bit halves, so
 * that no value goes through a double.
 */

export interface PbLong {
  low: number;
  high: number;
}

/** A protobufjs int64 (Long, or a number without long.js) → bigint. */
export function int64(v: PbLong | number): bigint {
  if (typeof v === 'number') return BigInt(v);
  return BigInt.asIntN(64, (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0));
}

/** A protobufjs uint64/fixed64 → bigint. */
export function uint64(v: PbLong | number): bigint {
  if (typeof v === 'number') return BigInt(v);
  return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
}
