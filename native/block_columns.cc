// A block's row-wise columns written in one call each (src/store/block-columns.ts): the
// loops of block-builder.ts encodeBlock() that visit every row or field entry, in
// the payload's row order. They write the same bytes as the JavaScript loops, which
// stay the definition and the fallback; the JIT-compiled loops cost about as much as
// zstd and the bloom filter together, because every row is reached through the row
// order (an index load per column per row) and every value is checked.
//
// orderRows(host: Uint32Array, hostRange, app: Uint32Array, appRange, n, perm: Uint32Array)
//   perm[0, n) ← the rows by app, then host, then arrival (two stable counting sorts;
//   keys are dictionary id + 1, below their range).
// encodeRows(out: Uint8Array, pos, perm, n, tsMs: Float64Array, tsNs: Uint32Array,
//            rcMs: Float64Array, rcNs: Uint32Array, fac: Uint8Array, sev: Uint8Array,
//            minMs, minNs, unit) → position after, or -1
//   time deltas (svarint, in `unit` ns), receive ms deltas (svarint), receive ns
//   (uvarint), facility and severity bytes. -1 when a delta is not a whole number
//   below 2^52 (which no block the store builds has): the caller encodes in JavaScript.
// putUvarints(out, pos, vals: Uint32Array, perm, from, to) → position after
//   uvarint of vals[perm[k]] for k in [from, to).
// encodeFields(out, pos, perm, n, fStart, fCol, fAt, fLen, values: Uint8Array,
//              names: Uint8Array, nameEnds: Uint32Array, counts: Uint32Array) → position after
//   per column k: names[nameEnds[k-1], nameEnds[k]) (its name as written), uvarint
//   counts[k], the rows (in payload order) of its entries as uvarint deltas, their
//   lengths, then their bytes from `values`.
//
// Every index, range and count is checked before anything is written; a bad one is a
// RangeError (a bug in the caller), and so are too little room in `out` and an output
// (`out`, orderRows' `perm`) that shares memory with an input: writing it would change
// what was checked. Arrays over a SharedArrayBuffer are refused (napi_arrays.h).
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "napi_arrays.h"

namespace {

using ringlog::GetF64;
using ringlog::GetIndex;
using ringlog::GetU32;
using ringlog::GetU8;
using ringlog::Overlap;
using ringlog::Span;

constexpr double kMaxSafe = 4503599627370496.0;  // 2^52: svarint's range in byte-buffer.ts

inline uint8_t* PutUvarint(uint8_t* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

// Zigzag + LEB128 of a double that is a whole number with |v| < 2^52; false otherwise.
inline bool PutSvarint(uint8_t*& p, double v) {
  if (!(std::fabs(v) < kMaxSafe) || v != std::trunc(v)) return false;
  const double z = v >= 0 ? v * 2 : -v * 2 - 1;
  p = PutUvarint(p, static_cast<uint64_t>(z));
  return true;
}

Napi::Value Fail(Napi::Env env, const char* what) {
  Napi::RangeError::New(env, what).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value Usage(Napi::Env env, const char* usage) {
  Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
  return env.Undefined();
}

void CountingSort(const uint32_t* rows, const uint32_t* keys, size_t n, size_t range, uint32_t* out, std::vector<uint32_t>& count) {
  count.assign(range + 1, 0);
  for (size_t j = 0; j < n; j++) count[keys[rows[j]] + 1]++;
  for (size_t k = 1; k <= range; k++) count[k] += count[k - 1];
  for (size_t j = 0; j < n; j++) {
    const uint32_t row = rows[j];
    out[count[keys[row]]++] = row;
  }
}

Napi::Value OrderRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Span<uint32_t> host, app, perm;
  size_t hostRange, appRange, n;
  if (info.Length() < 6 || !GetU32(info[0], &host) || !GetIndex(info[1], 1u << 30, &hostRange) || !GetU32(info[2], &app) ||
      !GetIndex(info[3], 1u << 30, &appRange) || !GetIndex(info[4], 1u << 30, &n) || !GetU32(info[5], &perm)) {
    return Usage(env, "orderRows(host, hostRange, app, appRange, n, perm)");
  }
  if (n > host.length || n > app.length || n > perm.length) return Fail(env, "orderRows: n is beyond an array");
  if (Overlap(perm, host) || Overlap(perm, app)) return Fail(env, "orderRows: perm shares memory with a key array");
  // The counts are sized by the largest key (the order is the same as with the whole range).
  uint32_t maxHost = 0, maxApp = 0;
  for (size_t i = 0; i < n; i++) {
    if (host.data[i] >= hostRange || app.data[i] >= appRange) return Fail(env, "orderRows: a key is outside its range");
    maxHost = std::max(maxHost, host.data[i]);
    maxApp = std::max(maxApp, app.data[i]);
  }
  std::vector<uint32_t> rows(n), byHost(n), count;
  for (size_t i = 0; i < n; i++) rows[i] = static_cast<uint32_t>(i);
  CountingSort(rows.data(), host.data, n, size_t{maxHost} + 1, byHost.data(), count);
  CountingSort(byHost.data(), app.data, n, size_t{maxApp} + 1, perm.data, count);
  return env.Undefined();
}

// perm[0, n) are rows below `rows` (checked once per call that reads through it).
bool PermOk(const Span<uint32_t>& perm, size_t from, size_t to, size_t rows) {
  if (to > perm.length || from > to) return false;
  for (size_t k = from; k < to; k++) {
    if (perm.data[k] >= rows) return false;
  }
  return true;
}

Napi::Value EncodeRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Span<uint8_t> out, fac, sev;
  Span<uint32_t> perm, tsNs, rcNs;
  Span<double> tsMs, rcMs;
  size_t pos, n, unit;
  if (info.Length() < 13 || !GetU8(info[0], &out) || !GetIndex(info[1], SIZE_MAX >> 1, &pos) || !GetU32(info[2], &perm) ||
      !GetIndex(info[3], 1u << 30, &n) || !GetF64(info[4], &tsMs) || !GetU32(info[5], &tsNs) || !GetF64(info[6], &rcMs) ||
      !GetU32(info[7], &rcNs) || !GetU8(info[8], &fac) || !GetU8(info[9], &sev) || !info[10].IsNumber() || !info[11].IsNumber() ||
      !GetIndex(info[12], 1000000, &unit) || unit == 0) {
    return Usage(env, "encodeRows(out, pos, perm, n, tsMs, tsNs, rcMs, rcNs, fac, sev, minMs, minNs, unit)");
  }
  const size_t rows = std::min({tsMs.length, tsNs.length, rcMs.length, rcNs.length, fac.length, sev.length});
  if (n > rows || !PermOk(perm, 0, n, rows)) return Fail(env, "encodeRows: a row is outside the columns");
  if (Overlap(out, perm) || Overlap(out, tsMs) || Overlap(out, tsNs) || Overlap(out, rcMs) || Overlap(out, rcNs) ||
      Overlap(out, fac) || Overlap(out, sev)) {
    return Fail(env, "encodeRows: out shares memory with an input");
  }
  // Per row at most 8 + 8 bytes of svarint (< 2^53), 5 of uvarint, 2 bytes.
  if (pos > out.length || out.length - pos < 23 * n) return Fail(env, "encodeRows: out is too short");
  const double minMs = info[10].As<Napi::Number>().DoubleValue();
  const double minNs = info[11].As<Napi::Number>().DoubleValue();
  const double u = static_cast<double>(unit);
  const uint32_t* order = perm.data;
  uint8_t* p = out.data + pos;
  // The same double arithmetic as encodeBlock(), so the same values (IEEE, no extended precision on x86-64).
  double prevMs = minMs;
  double prevNs = minNs;
  for (size_t j = 0; j < n; j++) {
    const uint32_t i = order[j];
    const double ms = tsMs.data[i];
    const double ns = tsNs.data[i];
    if (!PutSvarint(p, ((ms - prevMs) * 1000000.0 + (ns - prevNs)) / u)) return Napi::Number::New(env, -1);
    prevMs = ms;
    prevNs = ns;
  }
  prevMs = minMs;
  for (size_t j = 0; j < n; j++) {
    const double ms = rcMs.data[order[j]];
    if (!PutSvarint(p, ms - prevMs)) return Napi::Number::New(env, -1);
    prevMs = ms;
  }
  for (size_t j = 0; j < n; j++) p = PutUvarint(p, rcNs.data[order[j]]);
  for (size_t j = 0; j < n; j++) *p++ = fac.data[order[j]];
  for (size_t j = 0; j < n; j++) *p++ = sev.data[order[j]];
  return Napi::Number::New(env, static_cast<double>(p - out.data));
}

Napi::Value PutUvarints(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Span<uint8_t> out;
  Span<uint32_t> vals, perm;
  size_t pos, from, to;
  if (info.Length() < 6 || !GetU8(info[0], &out) || !GetIndex(info[1], SIZE_MAX >> 1, &pos) || !GetU32(info[2], &vals) ||
      !GetU32(info[3], &perm) || !GetIndex(info[4], SIZE_MAX >> 1, &from) || !GetIndex(info[5], SIZE_MAX >> 1, &to)) {
    return Usage(env, "putUvarints(out, pos, vals, perm, from, to)");
  }
  if (!PermOk(perm, from, to, vals.length)) return Fail(env, "putUvarints: a row is outside vals");
  if (Overlap(out, vals) || Overlap(out, perm)) return Fail(env, "putUvarints: out shares memory with an input");
  if (pos > out.length || out.length - pos < 5 * (to - from)) return Fail(env, "putUvarints: out is too short");
  uint8_t* p = out.data + pos;
  for (size_t k = from; k < to; k++) p = PutUvarint(p, vals.data[perm.data[k]]);
  return Napi::Number::New(env, static_cast<double>(p - out.data));
}

Napi::Value EncodeFields(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Span<uint8_t> out, values, names;
  Span<uint32_t> perm, fStart, fCol, fAt, fLen, nameEnds, counts;
  size_t pos, n;
  if (info.Length() < 12 || !GetU8(info[0], &out) || !GetIndex(info[1], SIZE_MAX >> 1, &pos) || !GetU32(info[2], &perm) ||
      !GetIndex(info[3], 1u << 30, &n) || !GetU32(info[4], &fStart) || !GetU32(info[5], &fCol) || !GetU32(info[6], &fAt) ||
      !GetU32(info[7], &fLen) || !GetU8(info[8], &values) || !GetU8(info[9], &names) || !GetU32(info[10], &nameEnds) ||
      !GetU32(info[11], &counts)) {
    return Usage(env, "encodeFields(out, pos, perm, n, fStart, fCol, fAt, fLen, values, names, nameEnds, counts)");
  }
  if (Overlap(out, perm) || Overlap(out, fStart) || Overlap(out, fCol) || Overlap(out, fAt) || Overlap(out, fLen) ||
      Overlap(out, values) || Overlap(out, names) || Overlap(out, nameEnds) || Overlap(out, counts)) {
    return Fail(env, "encodeFields: out shares memory with an input");
  }
  const size_t cols = counts.length;
  if (nameEnds.length != cols || (cols > 0 && nameEnds.data[cols - 1] > names.length)) return Fail(env, "encodeFields: names do not match the columns");
  for (size_t k = 1; k < cols; k++) {
    if (nameEnds.data[k] < nameEnds.data[k - 1]) return Fail(env, "encodeFields: names do not match the columns");
  }
  if (fStart.length < 1 || n > fStart.length - 1 || !PermOk(perm, 0, n, n)) return Fail(env, "encodeFields: a row is outside fStart");
  const size_t entries = std::min({fCol.length, fAt.length, fLen.length});
  // Column starts in the grouped entries (the counts add up to at most the entries there
  // are; each column's are checked below); the entries of each row checked, their bytes counted.
  uint64_t total = 0;
  for (size_t k = 0; k < cols; k++) total += counts.data[k];
  if (total > entries) return Fail(env, "encodeFields: the counts add up to more entries than there are");
  std::vector<uint32_t> base(cols + 1, 0);
  for (size_t k = 0; k < cols; k++) base[k + 1] = base[k] + counts.data[k];
  const size_t nf = base[cols];
  std::vector<uint32_t> fill(base.begin(), base.end() - 1);
  std::vector<uint32_t> entry(nf), row(nf);
  uint64_t bytes = 0;
  for (size_t j = 0; j < n; j++) {
    const uint32_t i = perm.data[j];
    const uint32_t a = fStart.data[i];
    const uint32_t b = fStart.data[i + 1];
    if (a > b || b > entries) return Fail(env, "encodeFields: a row's fields are outside the entries");
    for (uint32_t x = a; x < b; x++) {
      const uint32_t c = fCol.data[x];
      if (c >= cols || fill[c] >= base[c + 1]) return Fail(env, "encodeFields: an entry's column is unknown or over its count");
      if (static_cast<uint64_t>(fAt.data[x]) + fLen.data[x] > values.length) return Fail(env, "encodeFields: a value is outside values");
      const uint32_t at = fill[c]++;
      entry[at] = x;
      row[at] = static_cast<uint32_t>(j);
      bytes += fLen.data[x];
    }
  }
  for (size_t k = 0; k < cols; k++) {
    if (fill[k] != base[k + 1]) return Fail(env, "encodeFields: a column has fewer entries than its count");
  }
  const uint64_t need = (cols > 0 ? nameEnds.data[cols - 1] : 0) + 5 * cols + 10 * static_cast<uint64_t>(nf) + bytes;
  if (pos > out.length || out.length - pos < need) return Fail(env, "encodeFields: out is too short");
  uint8_t* p = out.data + pos;
  for (size_t k = 0; k < cols; k++) {
    const uint32_t ns = k == 0 ? 0 : nameEnds.data[k - 1];
    std::memcpy(p, names.data + ns, nameEnds.data[k] - ns);
    p += nameEnds.data[k] - ns;
    p = PutUvarint(p, counts.data[k]);
    uint32_t prev = 0;
    for (uint32_t e = base[k]; e < base[k + 1]; e++) {
      p = PutUvarint(p, row[e] - prev);
      prev = row[e];
    }
    for (uint32_t e = base[k]; e < base[k + 1]; e++) p = PutUvarint(p, fLen.data[entry[e]]);
    for (uint32_t e = base[k]; e < base[k + 1]; e++) {
      const uint32_t x = entry[e];
      std::memcpy(p, values.data + fAt.data[x], fLen.data[x]);
      p += fLen.data[x];
    }
  }
  return Napi::Number::New(env, static_cast<double>(p - out.data));
}

}  // namespace

Napi::Object InitBlockColumns(Napi::Env env, Napi::Object exports) {
  exports.Set("orderRows", Napi::Function::New(env, OrderRows, "orderRows"));
  exports.Set("encodeRows", Napi::Function::New(env, EncodeRows, "encodeRows"));
  exports.Set("putUvarints", Napi::Function::New(env, PutUvarints, "putUvarints"));
  exports.Set("encodeFields", Napi::Function::New(env, EncodeFields, "encodeFields"));
  return exports;
}
