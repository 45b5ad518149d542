// A block builder's append loop over a run of a parsed batch's records, in one call
// (src/store/block-append.ts): BlockBuilder.append() (block-builder.ts), which stays
// the definition and takes every record this function leaves to it. Per record the
// JIT-compiled append cost about as much as parsing the record, mostly in checks and
// typed-array stores.
//
// appendRun(buf, timeMs, timeNs, facility, severity, spans, enc, fieldStart, fieldKey,
//           fieldEnc, fieldSpans,                                    (the batch, read)
//           from, to,
//           tsMs, tsNs, rcMs, rcNs, fac, sev, src, slotIds×4, msgAt, msgLen, msgs,
//           fStart, fCol, fAt, fLen, values, colMap: Int32Array, colCount,
//           per slot (4×): table: Int32Array, hashes: Int32Array, starts, lens, arena,
//           tokens, st: Float64Array)                                 (the builder, written)
//   → the index of the first record not appended
//
// Records from `from` on are appended while they are in partition st[KEY] (hours since
// the epoch of their time in ms), and until the builder holds st[LIMIT] bytes (its
// estimate) or st[MAX_RECORDS] records; st[STATUS] is then 0. A record this function
// does not take is left to BlockBuilder.append() (st[STATUS] = 1, the return value its
// index): a value stored with escapes or as a constant, a field key without a column
// yet, a time in ms that is not a safe integer, or no room left in an array, an arena,
// a dictionary or the token set (JavaScript grows them). A range outside its buffer is
// left to JavaScript as well (a parser's bug; it reads what it reads there).
//
// The slots' dictionaries are ByteDictionary's (byte-dictionary.ts): an FNV-1a hash per
// value, an open-addressing table of id + 1, entries' bytes in an arena. A value new to
// the block is added, and the hash of its `name=value` pair (tokenizer.ts hashPairFrom,
// from the slot's prefix in st) to the token set (HashSet32) — what append() does.
//
// Every array's length bounds what is read or written through it, and no two arrays
// may share memory (a RangeError: a write to one would change what was checked in
// another); arrays over a SharedArrayBuffer are refused (napi_arrays.h).
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>

#include "bytes.h"
#include "napi_arrays.h"

namespace {

using ringlog::GetF64;
using ringlog::GetIndex;
using ringlog::GetU32;
using ringlog::GetU8;
using ringlog::Span;

// st[]: the builder's scalar state, read at the start and written back at the end.
enum State {
  N = 0, NF, BYTES, MIN_MS, MIN_NS, MAX_MS, MAX_NS, FAC_MASK, SEV_MASK, MAX_LSN,
  MSGS_USED, VALUES_USED, RECV_MS, RECV_NS, SOURCE, LSN, KEY, LIMIT, MAX_RECORDS,
  TOKENS_SIZE, DICT_SIZE,                       // 4 entries
  DICT_USED = DICT_SIZE + 4,                    // 4 entries
  SLOT_PREFIX = DICT_USED + 4,                  // 4 entries
  STATUS = SLOT_PREFIX + 4,
  STATE_SIZE,
};

constexpr uint32_t kFnvOffset = 0x811c9dc5u;
constexpr uint32_t kFnvPrime = 0x01000193u;
constexpr double kPartitionMs = 3600000.0;
constexpr double kMaxSafe = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER
constexpr int kSlots = 5;                        // record-batch.ts SLOTS
constexpr uint8_t kEncUtf8 = 0;

inline uint8_t Lower(uint8_t c) { return c >= 0x41 && c <= 0x5a ? c + 32 : c; }

struct Dict {
  Span<int32_t> table;
  Span<int32_t> hashes;
  Span<uint32_t> starts;
  Span<uint32_t> lens;
  Span<uint8_t> arena;
  size_t size = 0;
  size_t used = 0;
  uint32_t prefix = 0;
  int64_t last = -1;

  bool Same(size_t id, const uint8_t* p, size_t len) const {
    return lens.data[id] == len && static_cast<size_t>(starts.data[id]) + len <= used && ringlog::BytesEqual(arena.data + starts.data[id], p, len);
  }
};

struct TokenSet {
  Span<uint32_t> table;
  size_t size = 0;

  // Adds h (as HashSet32.add): false when the table would have to grow first (or is full, whatever `size` said).
  bool Add(uint32_t h) {
    if ((size + 1) * 2 > table.length) return false;
    if (h == 0) h = 1;
    const size_t mask = table.length - 1;
    size_t i = static_cast<uint32_t>(h * 0x9e3779b1u) & mask;
    for (size_t probes = 0;; probes++) {
      if (probes > mask) return false;
      const uint32_t v = table.data[i];
      if (v == h) return true;
      if (v == 0) break;
      i = (i + 1) & mask;
    }
    table.data[i] = h;
    size++;
    return true;
  }
};

// The id + 1 of p[0, len) in d, added when new (with its pair's token); 0 when that needs JavaScript.
inline uint32_t Intern(Dict& d, TokenSet& tokens, const uint8_t* p, size_t len) {
  if (d.last >= 0 && d.Same(static_cast<size_t>(d.last), p, len)) return static_cast<uint32_t>(d.last) + 1;
  uint32_t h = kFnvOffset;
  for (size_t k = 0; k < len; k++) h = (h ^ p[k]) * kFnvPrime;
  const size_t mask = d.table.length - 1;
  size_t slot = h & mask;
  for (size_t probes = 0;; probes++) {
    if (probes > mask) return 0;  // a full table (JavaScript never lets it fill)
    const int32_t e = d.table.data[slot];
    if (e == 0) break;
    const size_t id = static_cast<size_t>(e) - 1;
    if (e < 0 || id >= d.size || id >= d.hashes.length || id >= d.lens.length || id >= d.starts.length) return 0;
    if (static_cast<uint32_t>(d.hashes.data[id]) == h && d.Same(id, p, len)) {
      d.last = static_cast<int64_t>(id);
      return static_cast<uint32_t>(id) + 1;
    }
    slot = (slot + 1) & mask;
  }
  // New to the block: room for its entry, its bytes, the table's load (ByteDictionary rehashes past half) and its token.
  const size_t id = d.size;
  if (id >= d.hashes.length || id >= d.starts.length || id >= d.lens.length || (id + 1) * 2 > d.table.length ||
      len > d.arena.length - d.used || (tokens.size + 1) * 2 > tokens.table.length) {
    return 0;
  }
  uint32_t pair = d.prefix;
  for (size_t k = 0; k < len; k++) pair = (pair ^ Lower(p[k])) * kFnvPrime;
  if (!tokens.Add(pair)) return 0;
  std::memcpy(d.arena.data + d.used, p, len);
  d.hashes.data[id] = static_cast<int32_t>(h);
  d.starts.data[id] = static_cast<uint32_t>(d.used);
  d.lens.data[id] = static_cast<uint32_t>(len);
  d.table.data[slot] = static_cast<int32_t>(id + 1);
  d.used += len;
  d.size = id + 1;
  d.last = static_cast<int64_t>(id);
  return static_cast<uint32_t>(id) + 1;
}

// A 32-bit word given as a number, signed or not (JavaScript's bit operations give either): false unless d is a whole number in [-2^31, 2^32).
bool Word(double d, uint32_t* out) {
  if (!(d >= -2147483648.0 && d < 4294967296.0) || std::floor(d) != d) return false;
  *out = static_cast<uint32_t>(static_cast<int64_t>(d));
  return true;
}

bool PowerOfTwo(size_t n) { return n > 0 && (n & (n - 1)) == 0; }

Napi::Value AppendRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  constexpr size_t kArgs = 56;
  Span<uint8_t> buf, facility, severity, enc, fieldEnc, fac, sev, msgs, values;
  Span<double> timeMs, tsMs, rcMs, st;
  Span<uint32_t> timeNs, spans, fieldStart, fieldKey, fieldSpans, tsNs, rcNs, src, msgAt, msgLen, fStart, fCol, fAt, fLen, colCount;
  Span<int32_t> colMap;
  Span<uint32_t> slotIds[4];
  Dict dicts[4];
  TokenSet tokens;
  size_t from = 0, to = 0;
  bool ok = info.Length() >= kArgs && GetU8(info[0], &buf) && GetF64(info[1], &timeMs) && GetU32(info[2], &timeNs) &&
            GetU8(info[3], &facility) && GetU8(info[4], &severity) && GetU32(info[5], &spans) && GetU8(info[6], &enc) &&
            GetU32(info[7], &fieldStart) && GetU32(info[8], &fieldKey) && GetU8(info[9], &fieldEnc) && GetU32(info[10], &fieldSpans) &&
            GetIndex(info[11], 4294967295.0, &from) && GetIndex(info[12], 4294967295.0, &to) &&
            GetF64(info[13], &tsMs) && GetU32(info[14], &tsNs) && GetF64(info[15], &rcMs) && GetU32(info[16], &rcNs) &&
            GetU8(info[17], &fac) && GetU8(info[18], &sev) && GetU32(info[19], &src) &&
            GetU32(info[20], &slotIds[0]) && GetU32(info[21], &slotIds[1]) && GetU32(info[22], &slotIds[2]) && GetU32(info[23], &slotIds[3]) &&
            GetU32(info[24], &msgAt) && GetU32(info[25], &msgLen) && GetU8(info[26], &msgs) &&
            GetU32(info[27], &fStart) && GetU32(info[28], &fCol) && GetU32(info[29], &fAt) && GetU32(info[30], &fLen) && GetU8(info[31], &values) &&
            ringlog::GetArray(info[32], napi_int32_array, &colMap) && GetU32(info[33], &colCount);
  for (int k = 0; ok && k < 4; k++) {
    const size_t a = 34 + 5 * k;
    Dict& d = dicts[k];
    ok = ringlog::GetArray(info[a], napi_int32_array, &d.table) && ringlog::GetArray(info[a + 1], napi_int32_array, &d.hashes) &&
         GetU32(info[a + 2], &d.starts) && GetU32(info[a + 3], &d.lens) && GetU8(info[a + 4], &d.arena);
  }
  ok = ok && GetU32(info[54], &tokens.table) && GetF64(info[55], &st);
  if (!ok) {
    Napi::TypeError::New(env, "appendRun: see native/block_append.cc for the arguments (typed arrays, none over a SharedArrayBuffer; from, to)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (st.length < STATE_SIZE || !PowerOfTwo(tokens.table.length) || from > to || to > timeMs.length) {
    Napi::RangeError::New(env, "appendRun: state too short, token table not a power of two, or from/to out of range").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // No two arrays may share memory: sort them by address and compare neighbours.
  std::pair<uintptr_t, uintptr_t> ranges[kArgs];
  size_t nr = 0;
  auto add = [&](const auto& a) {
    if (a.length == 0) return;
    const uintptr_t p = reinterpret_cast<uintptr_t>(a.data);
    ranges[nr++] = {p, p + a.length * sizeof(*a.data)};
  };
  add(buf), add(timeMs), add(timeNs), add(facility), add(severity), add(spans), add(enc), add(fieldStart), add(fieldKey), add(fieldEnc), add(fieldSpans);
  add(tsMs), add(tsNs), add(rcMs), add(rcNs), add(fac), add(sev), add(src), add(msgAt), add(msgLen), add(msgs);
  add(fStart), add(fCol), add(fAt), add(fLen), add(values), add(colMap), add(colCount), add(tokens.table), add(st);
  for (int k = 0; k < 4; k++) {
    add(slotIds[k]), add(dicts[k].table), add(dicts[k].hashes), add(dicts[k].starts), add(dicts[k].lens), add(dicts[k].arena);
  }
  std::sort(ranges, ranges + nr);
  for (size_t k = 1; k < nr; k++) {
    if (ranges[k].first < ranges[k - 1].second) {
      Napi::RangeError::New(env, "appendRun: two arrays share memory").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  for (int k = 0; k < 4; k++) {
    Dict& d = dicts[k];
    const double size = st.data[DICT_SIZE + k];
    const double used = st.data[DICT_USED + k];
    if (!PowerOfTwo(d.table.length) || !Word(st.data[SLOT_PREFIX + k], &d.prefix) || !(size >= 0 && size <= static_cast<double>(d.hashes.length)) || !(used >= 0 && used <= static_cast<double>(d.arena.length))) {
      Napi::RangeError::New(env, "appendRun: a dictionary's size, arena use or pair prefix is out of range").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    d.size = static_cast<size_t>(size);
    d.used = static_cast<size_t>(used);
  }
  const double* s = st.data;
  const double nD = s[N], nfD = s[NF], msgsD = s[MSGS_USED], valuesD = s[VALUES_USED], tokD = s[TOKENS_SIZE];
  if (!(nD >= 0 && nD <= 4294967295.0) || !(nfD >= 0 && nfD <= 4294967295.0) || !(msgsD >= 0 && msgsD <= static_cast<double>(msgs.length)) ||
      !(valuesD >= 0 && valuesD <= static_cast<double>(values.length)) || !(tokD >= 0 && tokD <= static_cast<double>(tokens.table.length))) {
    Napi::RangeError::New(env, "appendRun: the builder's counts are out of range").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t n = static_cast<size_t>(nD);
  size_t nf = static_cast<size_t>(nfD);
  size_t msgsUsed = static_cast<size_t>(msgsD);
  size_t valuesUsed = static_cast<size_t>(valuesD);
  tokens.size = static_cast<size_t>(tokD);
  double bytes = s[BYTES];
  double minMs = s[MIN_MS], minNs = s[MIN_NS], maxMs = s[MAX_MS], maxNs = s[MAX_NS];
  uint32_t facMask, sevMask, recvNs, source;
  if (!Word(s[FAC_MASK], &facMask) || !Word(s[SEV_MASK], &sevMask) || !Word(s[RECV_NS], &recvNs) || !Word(s[SOURCE], &source)) {
    Napi::RangeError::New(env, "appendRun: a mask, the receive ns or the source id is not a 32-bit word").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double maxLsn = s[MAX_LSN];
  const double recvMs = s[RECV_MS];
  const double lsn = s[LSN], key = s[KEY], limit = s[LIMIT], maxRecords = s[MAX_RECORDS];

  size_t cap = std::min({tsMs.length, tsNs.length, rcMs.length, rcNs.length, fac.length, sev.length, src.length, msgAt.length, msgLen.length});
  for (int k = 0; k < 4; k++) cap = std::min(cap, slotIds[k].length);
  if (fStart.length == 0) cap = 0;
  cap = std::min(cap, fStart.length - (fStart.length > 0 ? 1 : 0));
  const size_t fcap = std::min({fCol.length, fAt.length, fLen.length});
  if (nf > fcap) {
    Napi::RangeError::New(env, "appendRun: the builder's field count is past its field arrays").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const size_t bufLen = buf.length;
  const uint8_t* data = buf.data;

  double status = 0;
  size_t i = from;
  for (; i < to; i++) {
    const double ms = timeMs.data[i];
    if (std::floor(ms / kPartitionMs) != key) break;  // another partition (NaN too: never its key)
    // What only JavaScript does: the record goes to append().
    status = 1;
    if (n >= cap || !(std::fabs(ms) <= kMaxSafe) || std::floor(ms) != ms || i >= timeNs.length || i >= facility.length || i >= severity.length ||
        (i + 1) * 10 > spans.length || (i + 1) * kSlots > enc.length || i + 1 >= fieldStart.length) {
      break;
    }
    const uint32_t* sp = spans.data + i * 10;
    const uint8_t* en = enc.data + i * kSlots;
    bool fits = true;
    for (int k = 0; k < kSlots && fits; k++) fits = en[k] == kEncUtf8 && sp[2 * k] <= sp[2 * k + 1] && sp[2 * k + 1] <= bufLen;
    if (!fits) break;
    const size_t mLen = sp[9] - sp[8];
    if (mLen > msgs.length - msgsUsed) break;
    const size_t f0 = fieldStart.data[i];
    const size_t f1 = fieldStart.data[i + 1];
    if (f0 > f1 || f1 > fieldKey.length || f1 > fieldEnc.length || f1 * 2 > fieldSpans.length || f1 - f0 > fcap - nf) break;
    size_t vBytes = 0;
    for (size_t fi = f0; fi < f1 && fits; fi++) {
      const uint32_t fk = fieldKey.data[fi];
      const uint32_t a = fieldSpans.data[2 * fi];
      const uint32_t b = fieldSpans.data[2 * fi + 1];
      fits = fieldEnc.data[fi] == kEncUtf8 && fk < colMap.length && colMap.data[fk] > 0 && static_cast<size_t>(colMap.data[fk]) <= colCount.length &&
             a <= b && b <= bufLen;
      vBytes += static_cast<size_t>(b) - a;
    }
    if (!fits || vBytes > values.length - valuesUsed) break;
    // The slots last: a value new to the block is added to its dictionary even when a later slot sends the record to JavaScript (which then finds it).
    uint32_t ids[4];
    double recBytes = 24;
    for (int k = 0; k < 4 && fits; k++) {
      const uint32_t a = sp[2 * k];
      const uint32_t b = sp[2 * k + 1];
      if (a == b) {
        ids[k] = 0;
        continue;
      }
      ids[k] = Intern(dicts[k], tokens, data + a, b - a);
      fits = ids[k] != 0;
      recBytes += b - a;
    }
    if (!fits) break;
    status = 0;

    // Append record i as record n.
    const uint32_t ns = timeNs.data[i];
    tsMs.data[n] = ms;
    tsNs.data[n] = ns;
    if (ms < minMs || (ms == minMs && ns < minNs)) {
      minMs = ms;
      minNs = ns;
    }
    if (ms > maxMs || (ms == maxMs && ns > maxNs)) {
      maxMs = ms;
      maxNs = ns;
    }
    rcMs.data[n] = recvMs;
    rcNs.data[n] = recvNs;
    const uint8_t f = facility.data[i];
    const uint8_t v = severity.data[i];
    fac.data[n] = f;
    sev.data[n] = v;
    facMask |= 1u << (f & 31);
    sevMask |= 1u << (v & 31);
    if (lsn > maxLsn) maxLsn = lsn;
    src.data[n] = source;
    for (int k = 0; k < 4; k++) slotIds[k].data[n] = ids[k];
    std::memcpy(msgs.data + msgsUsed, data + sp[8], mLen);
    msgAt.data[n] = static_cast<uint32_t>(msgsUsed);
    msgLen.data[n] = static_cast<uint32_t>(mLen);
    msgsUsed += mLen;
    recBytes += static_cast<double>(mLen);
    fStart.data[n] = static_cast<uint32_t>(nf);
    for (size_t fi = f0; fi < f1; fi++) {
      const uint32_t col = static_cast<uint32_t>(colMap.data[fieldKey.data[fi]] - 1);
      const uint32_t a = fieldSpans.data[2 * fi];
      const uint32_t len = fieldSpans.data[2 * fi + 1] - a;
      std::memcpy(values.data + valuesUsed, data + a, len);
      fCol.data[nf] = col;
      fAt.data[nf] = static_cast<uint32_t>(valuesUsed);
      fLen.data[nf] = len;
      nf++;
      valuesUsed += len;
      colCount.data[col]++;
      recBytes += static_cast<double>(len) + 4;
    }
    bytes += recBytes;
    n++;
    if (bytes >= limit || static_cast<double>(n) >= maxRecords) {
      i++;
      break;
    }
  }
  double* w = st.data;
  w[N] = static_cast<double>(n);
  w[NF] = static_cast<double>(nf);
  w[BYTES] = bytes;
  w[MIN_MS] = minMs;
  w[MIN_NS] = minNs;
  w[MAX_MS] = maxMs;
  w[MAX_NS] = maxNs;
  w[FAC_MASK] = static_cast<int32_t>(facMask);  // as JavaScript's `mask |= 1 << f` keeps it
  w[SEV_MASK] = static_cast<int32_t>(sevMask);
  w[MAX_LSN] = maxLsn;
  w[MSGS_USED] = static_cast<double>(msgsUsed);
  w[VALUES_USED] = static_cast<double>(valuesUsed);
  w[TOKENS_SIZE] = static_cast<double>(tokens.size);
  for (int k = 0; k < 4; k++) {
    w[DICT_SIZE + k] = static_cast<double>(dicts[k].size);
    w[DICT_USED + k] = static_cast<double>(dicts[k].used);
  }
  w[STATUS] = i < to ? status : 0;
  return Napi::Number::New(env, static_cast<double>(i));
}

}  // namespace

Napi::Object InitBlockAppend(Napi::Env env, Napi::Object exports) {
  exports.Set("appendRun", Napi::Function::New(env, AppendRun, "appendRun"));
  return exports;
}
