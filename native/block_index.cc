// The block index in one call per block (src/store/native-index.ts): tokenizes every
// message and field value of a block, hashes each token (FNV-1a 32 of the lower-cased
// bytes), collects the distinct hashes and builds the block's filter over them: the
// split-block bloom filter or the binary fuse filter — the same bytes as the JavaScript
// path (tokenizer.ts addTokens/addValueTokens, HashSet32, bloom-filter.ts
// BloomFilter.build, fuse-filter.ts FuseFilter.build), which stays the definition and
// the fallback.
//
// A text indexed a moment ago in this block (the same bytes, for a field value also the
// same column) adds nothing new: a small cache keyed by a 64-bit hash of its bytes
// recognises it (memcmp to be sure) and it is skipped: log lines and field values repeat.
//
// indexBlock(msgs: Buffer, msgAt: Uint32Array, msgLen: Uint32Array, n: number,
//            values: Buffer, fAt: Uint32Array, fLen: Uint32Array, fCol: Uint32Array, nf: number,
//            prefixes: Uint32Array (per column: FNV state after "name="),
//            extra: Uint32Array (more hashes: non-zero entries are added, zeros skipped),
//            bitsPerKey: number, maxBlocks: number, filter?: number) → Uint8Array | null
//
//   filter 0 (or left out): the bloom filter (bitsPerKey, at most maxBlocks blocks of
//     256 bits): its words, little-endian.
//   filter 1: the fuse filter, serialized as FuseFilter.marshal writes it: u32 seed ·
//     u32 segmentLength · u32 segmentCount (little-endian) · the fingerprints (just the
//     12-byte header of zeros for no hashes); null when there is none (more slots than
//     MAX_FUSE_SLOTS, or no seed peeled): the caller builds a bloom filter instead.
//     bitsPerKey and maxBlocks are still checked, and unused.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "bytes.h"
#include "napi_arrays.h"

namespace {

using ringlog::GetBytes;
using ringlog::Load64;
using ringlog::GetU32;
using ringlog::Span;

constexpr uint32_t kFnvOffset = 0x811c9dc5u;
constexpr uint32_t kFnvPrime = 0x01000193u;
constexpr uint32_t kSalt[8] = {0x47b6137bu, 0x44974d91u, 0x8824ad5bu, 0xa2b7289du,
                               0x705495c7u, 0x2df1424bu, 0x9efc4947u, 0x5c6bfb31u};

struct Tables {
  uint8_t token[256];
  uint8_t lower[256];
  Tables() {
    for (int c = 0; c < 256; c++) {
      token[c] = ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c >= 0x80) ? 1 : 0;
      lower[c] = (c >= 0x41 && c <= 0x5a) ? static_cast<uint8_t>(c + 32) : static_cast<uint8_t>(c);
    }
  }
};
const Tables kT;

// Set of 32-bit hashes (0 is the empty slot; hash 0 is stored as 1, as HashSet32 does).
class HashSet {
 public:
  explicit HashSet(size_t capacity) {
    size_t n = 1024;
    while (n < capacity * 2) n *= 2;
    table_.assign(n, 0);
    mask_ = n - 1;
  }
  void Add(uint32_t h) {
    if (h == 0) h = 1;
    size_t i = (h * 0x9e3779b1u) & mask_;
    for (;;) {
      uint32_t v = table_[i];
      if (v == h) return;
      if (v == 0) break;
      i = (i + 1) & mask_;
    }
    table_[i] = h;
    if (++size_ * 2 > table_.size()) Grow();
  }
  size_t size() const { return size_; }
  const std::vector<uint32_t>& slots() const { return table_; }

 private:
  void Grow() {
    std::vector<uint32_t> old;
    old.swap(table_);
    table_.assign(old.size() * 2, 0);
    mask_ = table_.size() - 1;
    size_ = 0;
    for (uint32_t h : old) if (h != 0) Add(h);
  }
  std::vector<uint32_t> table_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// A fast 64-bit hash of a byte string (only for recognising repeats; collisions are checked with memcmp).
uint64_t TextHash(const uint8_t* p, size_t len, uint64_t seed) {
  uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
  size_t i = 0;
  for (; i + 8 <= len; i += 8) h = (h ^ Load64(p + i)) * 0x9fb21c651e98df25ULL;
  // The rest: the last 8 bytes (overlapping what the loop read) or, for texts under 8
  // bytes, two overlapping 4-byte reads or the bytes themselves: the length is in the seed.
  uint64_t tail = 0;
  if (i < len) {
    if (len >= 8) {
      tail = Load64(p + len - 8);
    } else if (len >= 4) {
      tail = (static_cast<uint64_t>(ringlog::Load32(p)) << 32) | ringlog::Load32(p + len - 4);
    } else {
      for (size_t k = 0; k < len; k++) tail |= static_cast<uint64_t>(p[k]) << (8 * k);
    }
  }
  return Mix64(h ^ tail);
}

// Texts indexed recently in this block: a direct-mapped cache of (hash, where, length,
// column), so that its memory stays small (in cache) however many distinct texts a block has.
class SeenTexts {
 public:
  // True when the same bytes (same column) were indexed before; otherwise remembers them.
  bool SeenOrAdd(const uint8_t* base, uint32_t at, uint32_t len, uint32_t col) {
    const uint8_t* p = base + at;
    const uint64_t h = TextHash(p, len, col);
    Slot& s = slots_[h & (kSlots - 1)];
    if (s.hash == h && s.len == len && s.col == col && s.used && memcmp(base + s.at, p, len) == 0) return true;
    s = Slot{h, at, len, col, true};
    return false;
  }

 private:
  static constexpr size_t kSlots = 4096;
  struct Slot {
    uint64_t hash = 0;
    uint32_t at = 0;
    uint32_t len = 0;
    uint32_t col = 0;
    bool used = false;
  };
  std::vector<Slot> slots_ = std::vector<Slot>(kSlots);
};

// tokenizer.ts addTokens
void AddTokens(HashSet& out, const uint8_t* p, size_t len) {
  uint32_t h = kFnvOffset;
  bool in = false;
  for (size_t i = 0; i < len; i++) {
    const uint8_t c = p[i];
    if (kT.token[c]) {
      h = (h ^ kT.lower[c]) * kFnvPrime;
      in = true;
    } else if (in) {
      out.Add(h);
      h = kFnvOffset;
      in = false;
    }
  }
  if (in) out.Add(h);
}

// tokenizer.ts addValueTokens
void AddValueTokens(HashSet& out, uint32_t prefix, const uint8_t* p, size_t len) {
  uint32_t pair = prefix;
  uint32_t h = kFnvOffset;
  bool in = false;
  bool whole = true;
  for (size_t i = 0; i < len; i++) {
    const uint8_t c = p[i];
    const uint8_t l = kT.lower[c];
    pair = (pair ^ l) * kFnvPrime;
    if (kT.token[c]) {
      h = (h ^ l) * kFnvPrime;
      in = true;
    } else {
      whole = false;
      if (in) {
        out.Add(h);
        h = kFnvOffset;
        in = false;
      }
    }
  }
  if (in) out.Add(h);
  if (!whole || len == 0) out.Add(pair);
}

// bloom-filter.ts mix and mix2 (mix is also fuse-filter.ts fmix)
inline uint32_t Mix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

inline uint32_t Mix2(uint32_t h) {
  h = (h ^ (h >> 15)) * 0x2c1b3c6du;
  h = (h ^ (h >> 12)) * 0x297a2d39u;
  return h ^ (h >> 15);
}

// fuse-filter.ts, line for line where it matters: the bytes depend only on the set of
// hashes (counts and XORs per slot, the first queue by ascending slot, last in first out).
constexpr uint32_t kGolden = 0x9e3779b9u;
constexpr uint32_t kMaxSegmentLength = 1u << 18;
constexpr uint64_t kMaxFuseSlots = 1u << 21;  // MAX_FUSE_SLOTS
constexpr uint32_t kMaxFuseAttempts = 64;     // MAX_ATTEMPTS

// fuseSeed
inline uint32_t FuseSeed(uint32_t keysXor, uint32_t attempt) { return Mix(keysXor ^ ((attempt + 1) * kGolden)); }

// Math.round of x >= 0, exactly (halves up): floor(x + 0.5) would differ where x + 0.5 rounds.
inline double JsRound(double x) {
  const double r = std::floor(x);
  return x - r >= 0.5 ? r + 1 : r;
}

// fuseGeometry (n >= 1), in doubles as JavaScript computes it. Checked equal to the
// JavaScript for every n up to 2.2 million (past MAX_FUSE_SLOTS).
void FuseGeometry(size_t n, uint64_t* segmentLength, uint64_t* segmentCount) {
  const double dn = static_cast<double>(n);
  double length = n <= 1 ? 4 : std::ldexp(1.0, static_cast<int>(std::floor(std::log(dn) / std::log(3.33) + 2.25)));
  if (length > kMaxSegmentLength) length = kMaxSegmentLength;
  const double sizeFactor = n <= 1 ? 0 : std::max(1.125, 0.875 + (0.25 * std::log(1000000.0)) / std::log(dn));
  const double capacity = JsRound(dn * sizeFactor);
  const double perSegment = std::ceil(capacity / length);
  *segmentLength = static_cast<uint64_t>(length);
  *segmentCount = perSegment <= 2 ? 1 : static_cast<uint64_t>(perSegment) - 2;
}

// The three slots of a key (FuseFilter.build's place): its fingerprint is returned.
struct FusePlace {
  uint32_t seed, length, mask;
  uint64_t spread;  // segmentCount × segmentLength
  inline uint32_t operator()(uint32_t key, uint32_t at[3]) const {
    const uint32_t a = Mix(key ^ seed);
    const uint32_t b = Mix(a + kGolden);
    const uint32_t c = Mix(b + kGolden);
    const uint32_t s0 = static_cast<uint32_t>((static_cast<uint64_t>(a) * spread) >> 32);
    at[0] = s0;
    at[1] = (s0 + length) ^ (b & mask);
    at[2] = (s0 + 2 * length) ^ (c & mask);
    return b >> 24;
  }
};

inline void PutU32le(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

// The fuse build's scratch: per slot the number of keys there and the XOR of them (side
// by side, one cache line), the queue of slots to peel (a slot enters it at most once:
// when its count becomes 1), the keys, and the keys as peeled with their slots.
struct FuseScratch {
  struct Cell {
    uint32_t count;
    uint32_t xorKey;
  };
  struct Peeled {
    uint32_t key;
    uint32_t slot;
  };
  std::vector<Cell> cells;
  std::vector<uint32_t> queue;
  std::vector<uint32_t> keys;
  std::vector<Peeled> peeled;
};
// Kept by each thread from block to block for filters of up to this many slots (its
// arrays then stay under 6 MB): allocating and faulting in fresh ones is a quarter of a
// build of 65 000 keys. Larger filters (rare) get arrays of their own.
constexpr uint64_t kKeptScratchSlots = 1u << 18;
thread_local FuseScratch tKeptScratch;

// FuseFilter.build then marshal: the serialized filter, or null.
Napi::Value FuseFilterBytes(Napi::Env env, const HashSet& set) {
  const size_t n = set.size();
  if (n == 0) {
    Napi::Uint8Array out = Napi::Uint8Array::New(env, 12);
    memset(out.Data(), 0, 12);
    return out;
  }
  uint64_t length, count;
  FuseGeometry(n, &length, &count);
  const uint64_t slots = (count + 2) * length;
  if (slots > kMaxFuseSlots) return env.Null();
  FuseScratch own;
  FuseScratch& scratch = slots <= kKeptScratchSlots ? tKeptScratch : own;
  scratch.cells.resize(slots);
  scratch.queue.resize(slots);
  scratch.keys.resize(n + 1);  // + 1: the loop below writes one past the last key
  scratch.peeled.resize(n);
  uint32_t* keys = scratch.keys.data();
  uint32_t keysXor = 0;
  {
    // Without a branch: a quarter to a half of the set's slots hold a hash, in no order a branch could predict.
    size_t k = 0;
    for (uint32_t h : set.slots()) {
      keys[k] = h;
      keysXor ^= h;
      k += h != 0;
    }
  }
  FuseScratch::Cell* cell = scratch.cells.data();
  uint32_t* queue = scratch.queue.data();
  FuseScratch::Peeled* peeled = scratch.peeled.data();
  FusePlace place{0, static_cast<uint32_t>(length), static_cast<uint32_t>(length - 1), count * length};
  uint32_t at[3];
  for (uint32_t attempt = 0; attempt < kMaxFuseAttempts; attempt++) {
    place.seed = FuseSeed(keysXor, attempt);
    memset(cell, 0, slots * sizeof(FuseScratch::Cell));
    for (size_t i = 0; i < n; i++) {
      const uint32_t key = keys[i];
      place(key, at);
      for (int j = 0; j < 3; j++) {
        cell[at[j]].count++;
        cell[at[j]].xorKey ^= key;
      }
    }
    // Peel: slots held by one key, lowest first, then those that become so (last in, first out).
    size_t top = 0;
    for (uint32_t s = 0; s < slots; s++) if (cell[s].count == 1) queue[top++] = s;
    size_t done = 0;
    while (top > 0) {
      const uint32_t s = queue[--top];
      if (cell[s].count != 1) continue;
      const uint32_t key = cell[s].xorKey;
      peeled[done++] = FuseScratch::Peeled{key, s};
      place(key, at);
      for (int j = 0; j < 3; j++) {
        FuseScratch::Cell& t = cell[at[j]];
        t.count--;
        t.xorKey ^= key;
        if (t.count == 1) queue[top++] = at[j];
      }
    }
    if (done != n) continue;
    // Fill in reverse: each key's slot is the one no later key uses (still 0 here).
    Napi::Uint8Array out = Napi::Uint8Array::New(env, 12 + slots);
    uint8_t* bytes = out.Data();
    PutU32le(bytes, place.seed);
    PutU32le(bytes + 4, static_cast<uint32_t>(length));
    PutU32le(bytes + 8, static_cast<uint32_t>(count));
    uint8_t* fp = bytes + 12;
    memset(fp, 0, slots);
    for (size_t p = n; p-- > 0;) {
      const uint32_t f = place(peeled[p].key, at);
      fp[peeled[p].slot] = static_cast<uint8_t>(f ^ fp[at[0]] ^ fp[at[1]] ^ fp[at[2]]);
    }
    return out;
  }
  return env.Null();
}

Napi::Value IndexBlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Span<uint8_t> msgs, values;
  Span<uint32_t> msgAtA, msgLenA, fAtA, fLenA, fColA, prefixesA, extraA;
  if (info.Length() < 13 || !GetBytes(info[0], &msgs) || !GetU32(info[1], &msgAtA) || !GetU32(info[2], &msgLenA) ||
      !info[3].IsNumber() || !GetBytes(info[4], &values) || !GetU32(info[5], &fAtA) || !GetU32(info[6], &fLenA) ||
      !GetU32(info[7], &fColA) || !info[8].IsNumber() || !GetU32(info[9], &prefixesA) ||
      !GetU32(info[10], &extraA) || !info[11].IsNumber() || !info[12].IsNumber() ||
      (info.Length() > 13 && !info[13].IsUndefined() && !info[13].IsNumber())) {
    Napi::TypeError::New(env, "indexBlock(msgs, msgAt, msgLen, n, values, fAt, fLen, fCol, nf, prefixes, extra, bitsPerKey, maxBlocks, filter?)").ThrowAsJavaScriptException();
    return env.Null();
  }
  const uint32_t *msgAt = msgAtA.data, *msgLen = msgLenA.data, *fAt = fAtA.data, *fLen = fLenA.data, *fCol = fColA.data;
  const uint32_t *prefixes = prefixesA.data, *extra = extraA.data;
  const size_t msgAtN = msgAtA.length, msgLenN = msgLenA.length, fAtN = fAtA.length, fLenN = fLenA.length, fColN = fColA.length;
  const size_t prefixesN = prefixesA.length, extraN = extraA.length;
  const size_t n = info[3].As<Napi::Number>().Uint32Value();
  const size_t nf = info[8].As<Napi::Number>().Uint32Value();
  const double bitsPerKey = info[11].As<Napi::Number>().DoubleValue();
  const double maxBlocks = info[12].As<Napi::Number>().DoubleValue();
  const double filter = info.Length() > 13 && info[13].IsNumber() ? info[13].As<Napi::Number>().DoubleValue() : 0;
  if (filter != 0 && filter != 1) {
    Napi::RangeError::New(env, "indexBlock: filter is 0 (bloom) or 1 (fuse)").ThrowAsJavaScriptException();
    return env.Null();
  }
  if (n > msgAtN || n > msgLenN || nf > fAtN || nf > fLenN || nf > fColN) {
    Napi::RangeError::New(env, "indexBlock: counts past the arrays").ThrowAsJavaScriptException();
    return env.Null();
  }
  for (size_t i = 0; i < n; i++) {
    if (static_cast<uint64_t>(msgAt[i]) + msgLen[i] > msgs.length) {
      Napi::RangeError::New(env, "indexBlock: a message past its arena").ThrowAsJavaScriptException();
      return env.Null();
    }
  }
  for (size_t i = 0; i < nf; i++) {
    if (static_cast<uint64_t>(fAt[i]) + fLen[i] > values.length || fCol[i] >= prefixesN) {
      Napi::RangeError::New(env, "indexBlock: a field value past its arena or column").ThrowAsJavaScriptException();
      return env.Null();
    }
  }

  // Room for about a distinct token per record from the start: a table grown by doubling
  // re-adds every hash at each step (blocks mostly hold an id or a timestamp per record).
  HashSet set(n + 64);
  for (size_t i = 0; i < extraN; i++) if (extra[i] != 0) set.Add(extra[i]);
  {
    SeenTexts seen;
    const uint32_t kMessage = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
      if (msgLen[i] == 0) continue;
      if (seen.SeenOrAdd(msgs.data, msgAt[i], msgLen[i], kMessage)) continue;
      AddTokens(set, msgs.data + msgAt[i], msgLen[i]);
    }
  }
  {
    SeenTexts seen;
    for (size_t i = 0; i < nf; i++) {
      if (seen.SeenOrAdd(values.data, fAt[i], fLen[i], fCol[i])) continue;
      AddValueTokens(set, prefixes[fCol[i]], values.data + fAt[i], fLen[i]);
    }
  }

  if (filter == 1) return FuseFilterBytes(env, set);

  // bloom-filter.ts BloomFilter.build
  double want = static_cast<double>(set.size()) * bitsPerKey / 256.0;
  uint64_t blocks = static_cast<uint64_t>(want);
  if (static_cast<double>(blocks) < want) blocks++;
  if (blocks < 1) blocks = 1;
  if (static_cast<double>(blocks) > maxBlocks) blocks = static_cast<uint64_t>(maxBlocks);
  Napi::Uint8Array out = Napi::Uint8Array::New(env, blocks * 32);
  uint32_t* words = reinterpret_cast<uint32_t*>(out.Data());  // ArrayBuffers are 8-byte aligned
  memset(words, 0, blocks * 32);
  for (uint32_t h : set.slots()) {
    if (h == 0) continue;
    const uint64_t base = ((static_cast<uint64_t>(Mix(h)) * blocks) >> 32) * 8;
    const uint32_t h2 = Mix2(h);
    for (int w = 0; w < 8; w++) words[base + w] |= 1u << ((h2 * kSalt[w]) >> 27);
  }
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
  for (uint64_t i = 0; i < blocks * 8; i++) words[i] = __builtin_bswap32(words[i]);
#endif
  return out;
}

}  // namespace

Napi::Object InitBlockIndex(Napi::Env env, Napi::Object exports) {
  exports.Set("indexBlock", Napi::Function::New(env, IndexBlock, "indexBlock"));
  // An addon built before the filter argument would return a bloom filter for filter 1:
  // native-index.ts uses indexBlock only with this mark.
  exports.Set("indexBlockFuse", Napi::Boolean::New(env, true));
  return exports;
}
