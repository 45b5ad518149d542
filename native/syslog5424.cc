// RFC 5424 lines of a batch, parsed in one native pass (src/protocols/formats/
// rfc5424-native.ts): for every frame that is a complete, valid RFC 5424 message, its
// PRI, timestamp, header fields and message go straight into the batch's columns, and
// its structured data into a list of items that JavaScript turns into fields (key
// names are interned there, in the batch's key dictionary). A frame this pass does not
// take — anything invalid, a frame with more than 4096 structured-data items — is left
// untouched for the JavaScript parser (rfc5424.ts), which stays the definition: this pass
// takes a frame only where that parser succeeds, and writes what it would write, except
// that a repeated header field may get the range of equal bytes in an earlier frame (see
// `spans` below; rfc5424-native.test.ts compares both on valid, mutated and random frames).
//
// scan5424(buf: Uint8Array, offsets: Uint32Array, count: number,
//          timeMs: Float64Array, timeNs: Uint32Array, facility: Uint8Array, severity: Uint8Array,
//          spans: Uint32Array, taken: Uint8Array, items: Uint32Array, itemAt: Uint32Array)
//   → frames taken, or -1 when `items` was too small for some (the caller may run it again
//     with more room: a run writes nothing a later run would not write the same)
//   Arrays over a SharedArrayBuffer are refused (TypeError), and so is an output that shares
//   memory with another argument (RangeError): a write to it could change what was checked.
//
//   taken:   count bytes, 1 where the frame was parsed here (its columns written); 2 where it
//            is valid but its items did not fit in `items` (nothing written); else 0
//   spans:   as the JavaScript parser sets them, but for a header field (host, app, procid,
//            msgid) whose bytes are those of the previous frame taken in this call: its range
//            is that frame's (equal bytes elsewhere in the buffer; the block builder then interns
//            it without comparing bytes)
//   itemAt:  count + 1 words: the items of frame i are items[itemAt[i] .. itemAt[i+1]) (4 words each)
//   items:   an SD-ELEMENT: [idStart, idEnd, params, ELEM | SAME?]
//            an SD-PARAM:   [nameStart, nameEnd, valueStart, valueEnd | ESC? | SAME?]
//
// SAME: the name is byte for byte the one at the same item index of the previous frame
// taken in this call, and so is everything it is interned under (a param's element), so
// it has the same key id. "Previous frame" is always the previous frame taken in this
// call, whatever frames the pass did not take lie between. Buffers are under 512 MiB
// (positions fit in 29 bits).
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <utility>

#include "bytes.h"
#include "napi_arrays.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace {


constexpr uint32_t kElem = 1u << 31;
constexpr uint32_t kEsc = 1u << 30;
constexpr uint32_t kSame = 1u << 29;
constexpr size_t kMaxBuf = size_t{1} << 29;
constexpr uint32_t kMaxField = 255;
// Items per frame compared with the previous frame's (SAME); further items are interned one by one.
constexpr int kMaxCompared = 64;
// Items per frame at most: a frame with more is left to JavaScript.
constexpr int kMaxItems = 4096;

inline int D2(const uint8_t* b, size_t p) {
  int a = b[p] - '0';
  int c = b[p + 1] - '0';
  if (a < 0 || a > 9 || c < 0 || c > 9) return -1;
  return a * 10 + c;
}

inline int DaysInMonth(int y, int m) {
  if (m == 2) return ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : 28;
  return (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
}

inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) q--;
  return q;
}

// Days from 1970-01-01 to y-m-d, as src/record/time.ts daysFromCivil.
inline int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  int64_t era = FloorDiv(y, 400);
  int64_t yoe = y - era * 400;
  int mp = m > 2 ? m - 3 : m + 9;
  int64_t doy = (153 * mp + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

inline bool SdNameByte(uint8_t c) { return c >= 0x21 && c <= 0x7e && c != '=' && c != ']' && c != '"'; }
inline bool Printable(uint8_t c) { return c >= 0x21 && c <= 0x7e; }

#if defined(__SSE2__)
// Bit k set where v[k] is printable ASCII (0x21..0x7e): signed > 0x20 leaves out 0x80..0xff.
inline unsigned PrintableMask(__m128i v) {
  __m128i ok = _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)), _mm_cmpgt_epi8(v, _mm_set1_epi8(0x20)));
  return static_cast<unsigned>(_mm_movemask_epi8(ok));
}
#endif

// The first position in [p, e) whose byte is not printable ASCII, or e.
inline size_t PrintableRun(const uint8_t* b, size_t p, size_t e) {
#if defined(__SSE2__)
  while (e - p >= 16) {
    unsigned m = PrintableMask(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + p))) ^ 0xffffu;
    if (m != 0) return p + __builtin_ctz(m);
    p += 16;
  }
#endif
  while (p < e && Printable(b[p])) p++;
  return p;
}

// A bit for each of the 64 bytes from p that is not printable ASCII (bit k: b[p + k]),
// or 0 when fewer than 64 bytes are left (the caller then scans with PrintableRun).
inline uint64_t StopMask64(const uint8_t* b, size_t p, size_t e) {
#if defined(__SSE2__)
  if (e - p < 64) return 0;
  uint64_t m = 0;
  for (int k = 0; k < 4; k++) {
    const unsigned ok = PrintableMask(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + p + 16 * k)));
    m |= static_cast<uint64_t>(ok ^ 0xffffu) << (16 * k);
  }
  return m;
#else
  return 0;
#endif
}

// The first position in [p, e) whose byte cannot be in an SD-NAME, or e.
inline size_t SdNameRun(const uint8_t* b, size_t p, size_t e) {
#if defined(__SSE2__)
  while (e - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + p));
    __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('=')), _mm_cmpeq_epi8(v, _mm_set1_epi8(']'))),
                               _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
    unsigned m = (PrintableMask(v) & ~static_cast<unsigned>(_mm_movemask_epi8(bad))) ^ 0xffffu;
    if (m != 0) return p + __builtin_ctz(m);
    p += 16;
  }
#endif
  while (p < e && SdNameByte(b[p])) p++;
  return p;
}

// The first position in [p, e) holding '"' or '\\', or e.
inline size_t ValueRun(const uint8_t* b, size_t p, size_t e) {
#if defined(__SSE2__)
  while (e - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + p));
    unsigned m = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')))));
    if (m != 0) return p + __builtin_ctz(m);
    p += 16;
  }
#endif
  while (p < e && b[p] != '"' && b[p] != '\\') p++;
  return p;
}

// SD-NAME at b[p]: the position after it, or 0 when empty or longer than kMaxField (p > 0 always).
inline size_t SdName(const uint8_t* b, size_t p, size_t e) {
  size_t s = p;
  p = SdNameRun(b, p, e);
  size_t len = p - s;
  return (len == 0 || len > kMaxField) ? 0 : p;
}

struct Item {
  uint32_t w[4];
  int elem;  // index of the item's element (itself for an element)
};

struct Frame {
  int64_t ms;
  int64_t ns;
  bool hasTime;
  uint8_t pri;
  uint32_t span[10];
  int nItems;
};

// `YYYY-MM-DDTHH:MM:SS` at b[p, p + 19) (the caller checked there are 19 bytes), as
// parseRfc3339 checks it: true and its ms since the epoch in `ms`, or false.
bool DateTime(const uint8_t* b, size_t p, int64_t& ms) {
  int yHi = D2(b, p), yLo = D2(b, p + 2);
  if (yHi < 0 || yLo < 0 || b[p + 4] != '-' || b[p + 7] != '-') return false;
  int y = yHi * 100 + yLo;
  int mo = D2(b, p + 5);
  if (mo < 1 || mo > 12) return false;
  int d = D2(b, p + 8);
  if (d < 1 || d > DaysInMonth(y, mo)) return false;
  uint8_t t = b[p + 10];
  if (t != 'T' && t != 't') return false;
  int h = D2(b, p + 11), mi = D2(b, p + 14), s = D2(b, p + 17);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60 || b[p + 13] != ':' || b[p + 16] != ':') return false;
  ms = ((DaysFromCivil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + int64_t{s} * 1000;
  return true;
}

// The date and time to the second (`YYYY-MM-DDTHH:MM:SS`, 19 bytes) of the last
// timestamp parsed in this call, and its ms since the epoch: consecutive records mostly
// share it, and then neither the checks nor the day arithmetic run again.
struct SecondCache {
  const uint8_t* at = nullptr;
  int64_t ms = 0;
};

// RFC 3339 at b[p, e), as syslog-common.ts parseRfc3339 with bsd = false: true with p
// moved past it (to SP or e) and the time in f, or false.
bool Rfc3339(const uint8_t* b, size_t& p, size_t e, Frame& f, SecondCache& cache) {
  if (p + 19 > e) return false;
  int64_t ms;
  if (cache.at != nullptr && ringlog::BytesEqual(b + p, cache.at, 19)) {
    ms = cache.ms;
  } else {
    if (!DateTime(b, p, ms)) return false;
    cache.at = b + p;
    cache.ms = ms;
  }
  p += 19;
  int64_t ns = 0;
  if (p < e && b[p] == '.') {
    size_t s0 = ++p;
    int64_t v = 0;
    while (p < e) {
      int c = b[p] - '0';
      if (c < 0 || c > 9) break;
      if (p - s0 == 9) return false;
      v = v * 10 + c;
      p++;
    }
    if (p == s0) return false;
    for (size_t k = p - s0; k < 9; k++) v *= 10;
    ns = v;
  }
  int c = p < e ? b[p] : -1;
  if (c == 'Z' || c == 'z') {
    p++;
  } else if (c == '+' || c == '-') {
    if (p + 5 > e) return false;
    int oh = D2(b, p + 1);
    if (oh < 0 || oh > 23) return false;
    p += 3;
    if (b[p] == ':') p++;
    if (p + 2 > e) return false;
    int om = D2(b, p);
    if (om < 0 || om > 59) return false;
    p += 2;
    int64_t off = int64_t{oh * 60 + om} * 60000;
    ms += c == '+' ? -off : off;
  } else {
    return false;
  }
  if (p < e && b[p] != ' ') return false;
  // ns < 10^9: unsigned 32-bit, which the compiler divides by a multiply (as int64_t it
  // issued an idiv, a tenth of the pass's time on the bench lines).
  const uint32_t frac = static_cast<uint32_t>(ns);
  const uint32_t extra = frac / 1000000u;
  f.ms = ms + extra;
  f.ns = frac - extra * 1000000u;
  f.hasTime = true;
  return true;
}

// Structured data from b[p] == '[' (rfc5424.ts structuredData): items into `it`; the
// position after the last ']', or 0 when malformed or with more than kMaxItems items.
size_t StructuredData(const uint8_t* b, size_t p, size_t e, Item* it, int& n) {
  while (p < e && b[p] == '[') {
    size_t ne = SdName(b, p + 1, e);
    if (ne == 0 || n == kMaxItems) return 0;
    int el = n++;
    it[el] = Item{{static_cast<uint32_t>(p + 1), static_cast<uint32_t>(ne), 0, kElem}, el};
    p = ne;
    uint32_t params = 0;
    while (p < e && b[p] == ' ') {
      size_t s = p + 1;
      size_t q = SdName(b, s, e);
      if (q == 0) return 0;
      p = q;
      if (p + 2 > e || b[p] != '=' || b[p + 1] != '"') return 0;
      p += 2;
      size_t vs = p;
      uint32_t esc = 0;
      for (;;) {
        p = ValueRun(b, p, e);
        if (p >= e) return 0;
        if (b[p] == '"') break;
        // A backslash: `\"` `\\` `\]` are escapes, any other is an ordinary byte.
        esc = kEsc;
        p += (p + 1 < e && (b[p + 1] == '"' || b[p + 1] == '\\' || b[p + 1] == ']')) ? 2 : 1;
      }
      if (n == kMaxItems) return 0;
      it[n++] = Item{{static_cast<uint32_t>(s), static_cast<uint32_t>(q), static_cast<uint32_t>(vs), static_cast<uint32_t>(p) | esc}, el};
      p++;  // closing quote
      params++;
    }
    if (p >= e || b[p] != ']') return 0;
    p++;
    it[el].w[2] = params;
  }
  return p;
}

// Frame [start, end0) as ParseStage + parseSyslog/parseRfc5424 + rfc5424AfterPri parse it,
// when they succeed: true and `f`/`it` filled; false for every other frame.
bool ParseFrame(const uint8_t* b, size_t start, size_t end0, Frame& f, Item* it, SecondCache& seconds) {
  size_t s = start;
  if (s + 3 <= end0 && b[s] == 0xef && b[s + 1] == 0xbb && b[s + 2] == 0xbf) s += 3;
  size_t e = end0;
  while (e > s && (b[e - 1] == '\n' || b[e - 1] == '\r' || b[e - 1] == 0)) e--;
  size_t p = s;
  while (p < e && (b[p] == ' ' || b[p] == '\t')) p++;
  if (p >= e || b[p] != '<') return false;
  // <PRI>
  size_t lim = p + 4 < e ? p + 4 : e;
  size_t q = p + 1;
  int v = 0;
  while (q < lim) {
    int c = b[q] - '0';
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
    q++;
  }
  if (q == p + 1 || q >= e || b[q] != '>' || v > 191) return false;
  f.pri = static_cast<uint8_t>(v);
  p = q + 1;
  // VERSION SP
  q = p;
  while (q < e && q - p < 3 && b[q] >= '0' && b[q] <= '9') q++;
  if (q == p || q >= e || b[q] != ' ') return false;
  p = q + 1;
  // TIMESTAMP SP
  f.hasTime = false;
  if (p < e && b[p] == '-' && (p + 1 == e || b[p + 1] == ' ')) {
    p++;
  } else if (!Rfc3339(b, p, e, f, seconds)) {
    return false;
  }
  if (p == e) return false;
  p++;
  // HOSTNAME SP APP-NAME SP PROCID SP MSGID
  std::memset(f.span, 0, sizeof(f.span));
  // Where the fields end, for the 64 bytes from here at once when the frame has them: a
  // bit per byte that is not printable (StopMask64); a field that runs past them is scanned on.
  const size_t w0 = p;
  const uint64_t stop = StopMask64(b, p, e);
  for (int slot = 0; slot < 4; slot++) {
    size_t fs = p;
    const size_t r = p - w0;
    const uint64_t m = r < 64 ? stop & (~uint64_t{0} << r) : 0;
    p = m != 0 ? w0 + static_cast<size_t>(__builtin_ctzll(m)) : PrintableRun(b, p, e);
    if (p < e && b[p] != ' ') return false;
    size_t len = p - fs;
    if (len == 0 || len > kMaxField) return false;
    if (p == e && slot != 3) return false;
    if (len != 1 || b[fs] != '-') {
      f.span[2 * slot] = static_cast<uint32_t>(fs);
      f.span[2 * slot + 1] = static_cast<uint32_t>(p);
    }
    p++;
  }
  // STRUCTURED-DATA
  f.nItems = 0;
  if (p >= e) return false;
  if (b[p] == '-') {
    p++;
  } else {
    if (b[p] != '[') return false;
    p = StructuredData(b, p, e, it, f.nItems);
    if (p == 0) return false;
  }
  // [SP MSG]
  if (p == e) return true;
  if (b[p] != ' ') return false;
  p++;
  if (p + 3 <= e && b[p] == 0xef && b[p + 1] == 0xbb && b[p + 2] == 0xbf) p += 3;
  if (p < e) {
    f.span[8] = static_cast<uint32_t>(p);
    f.span[9] = static_cast<uint32_t>(e);
  }
  return true;
}

bool SameName(const uint8_t* b, const uint32_t* x, const uint32_t* y) {
  uint32_t n = x[1] - x[0];
  return y[1] - y[0] == n && ringlog::BytesEqual(b + x[0], b + y[0], n);
}

Napi::Value Scan5424(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  using ringlog::Span;
  Span<uint8_t> buf, facility, severity, taken;
  Span<uint32_t> offsets, timeNs, spans, items, itemAt;
  Span<double> timeMs;
  if (info.Length() < 11 || !ringlog::GetU8(info[0], &buf) || !ringlog::GetU32(info[1], &offsets) || !info[2].IsNumber() ||
      !ringlog::GetF64(info[3], &timeMs) || !ringlog::GetU32(info[4], &timeNs) || !ringlog::GetU8(info[5], &facility) ||
      !ringlog::GetU8(info[6], &severity) || !ringlog::GetU32(info[7], &spans) || !ringlog::GetU8(info[8], &taken) ||
      !ringlog::GetU32(info[9], &items) || !ringlog::GetU32(info[10], &itemAt)) {
    Napi::TypeError::New(env,
                         "scan5424(buf: Uint8Array, offsets: Uint32Array, count, timeMs: Float64Array, timeNs: Uint32Array, "
                         "facility: Uint8Array, severity: Uint8Array, spans: Uint32Array, taken: Uint8Array, items: "
                         "Uint32Array, itemAt: Uint32Array), none over a SharedArrayBuffer")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // What it writes may share memory with nothing else: a write could change what was checked.
  using ringlog::RangeOf;
  if (ringlog::OutputsShare({RangeOf(timeMs), RangeOf(timeNs), RangeOf(facility), RangeOf(severity), RangeOf(spans), RangeOf(taken), RangeOf(items), RangeOf(itemAt)},
                            {RangeOf(buf), RangeOf(offsets), RangeOf(timeMs), RangeOf(timeNs), RangeOf(facility), RangeOf(severity), RangeOf(spans), RangeOf(taken), RangeOf(items), RangeOf(itemAt)})) {
    Napi::RangeError::New(env, "scan5424: an output shares memory with another argument").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t count = info[2].As<Napi::Number>().Int64Value();
  const size_t n = count < 0 ? 0 : static_cast<size_t>(count);
  if (count < 0 || n * 2 > offsets.length || n > timeMs.length || n > timeNs.length ||
      n > facility.length || n > severity.length || n * 10 > spans.length ||
      n > taken.length || n + 1 > itemAt.length || buf.length >= kMaxBuf) {
    Napi::RangeError::New(env, "scan5424: count does not fit the arrays, or the buffer is 512 MiB or more").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint8_t* b = buf.data;
  const size_t len = buf.length;
  const uint32_t* off = offsets.data;
  uint32_t* out = items.data;
  const size_t cap = items.length / 4 * 4;
  // The items of the frame being parsed and of the previous frame taken: two arrays that
  // swap roles when a frame is taken (no copy).
  static thread_local Item itemsA[kMaxItems];
  static thread_local Item itemsB[kMaxItems];
  Item* cur = itemsA;
  Item* prev = itemsB;
  int prevN = 0;
  // The header field spans of the previous frame taken (all zero before the first).
  uint32_t prevSpan[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t w = 0;
  int64_t done = 0;
  bool full = false;
  Frame f;
  SecondCache seconds;
  for (size_t i = 0; i < n; i++) {
    itemAt.data[i] = static_cast<uint32_t>(w);
    taken.data[i] = 0;
    size_t s = off[2 * i];
    size_t e = off[2 * i + 1];
    if (e > len || s > e) continue;
    if (!ParseFrame(b, s, e, f, cur, seconds)) continue;
    if (w + static_cast<size_t>(f.nItems) * 4 > cap) {
      taken.data[i] = 2;  // valid, but its items do not fit: not written
      full = true;
      continue;
    }
    // Committed: the columns, then the items with their SAME bits.
    taken.data[i] = 1;
    done++;
    facility.data[i] = f.pri >> 3;
    severity.data[i] = f.pri & 7;
    if (f.hasTime) {
      timeMs.data[i] = static_cast<double>(f.ms);
      timeNs.data[i] = static_cast<uint32_t>(f.ns);
    }
    // A header field with the previous frame's bytes gets that frame's range: the same
    // bytes, so readers see no difference, and the block builder knows it without comparing.
    // Copied word by word: f.span was just written a word at a time, and a wider load of
    // it (memcpy) would wait for those stores to reach the cache.
    uint32_t* o = spans.data + 10 * i;
    for (int k = 0; k < 8; k += 2) {
      uint32_t a = f.span[k], z = f.span[k + 1];
      const uint32_t len = z - a;
      if (len != 0 && prevSpan[k + 1] - prevSpan[k] == len && ringlog::BytesEqual(b + a, b + prevSpan[k], len)) {
        a = prevSpan[k];
        z = prevSpan[k + 1];
      }
      o[k] = a;
      o[k + 1] = z;
      prevSpan[k] = a;
      prevSpan[k + 1] = z;
      asm volatile("" ::: "memory");  // keeps the compiler from merging the copies into wide ones
    }
    o[8] = f.span[8];
    o[9] = f.span[9];
    bool same[kMaxCompared];
    for (int k = 0; k < f.nItems; k++) {
      const Item& x = cur[k];
      uint32_t flag = 0;
      if (k < kMaxCompared && k < prevN) {
        const Item& y = prev[k];
        bool isElem = (x.w[3] & kElem) != 0;
        bool ok = isElem == ((y.w[3] & kElem) != 0) && x.elem == y.elem && SameName(b, x.w, y.w);
        if (ok && !isElem) ok = same[x.elem];
        same[k] = ok;
        if (ok) flag = kSame;
      } else if (k < kMaxCompared) {
        same[k] = false;
      }
      out[w++] = x.w[0];
      out[w++] = x.w[1];
      out[w++] = x.w[2];
      out[w++] = x.w[3] | flag;
    }
    prevN = f.nItems < kMaxCompared ? f.nItems : kMaxCompared;
    std::swap(cur, prev);
  }
  itemAt.data[n] = static_cast<uint32_t>(w);
  return Napi::Number::New(env, full ? -1.0 : static_cast<double>(done));
}

// sdFields(items: Uint32Array, itemAt: Uint32Array, itemIds: Uint32Array, from, count,
//          flags: Uint8Array, timeMs: Float64Array, limit,
//          fieldKey: Uint32Array, fieldSpans: Uint32Array, fieldEnc: Uint8Array, fieldStart: Uint32Array)
//   → the first record at or after `from` it did not do
//
// What rfc5424.ts sdItemFields() and ParseStage's record ending do, for the records
// from..count-1 of a batch whose every frame scan5424 took, as long as a record needs
// nothing else: every item of it SAME (at most kMaxCompared of them, so every key id is
// the previous record's, in itemIds by item index), no frame flag (flags empty, or 0 for
// it), a timestamp in [0, limit], and room for its fields. Fields are appended from
// fieldStart[from] on, and fieldStart[i + 1] closes record i. The first record it stops
// at is left untouched for JavaScript, which stays the definition
// (rfc5424-native.test.ts compares both).
Napi::Value SdFields(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  using ringlog::Span;
  Span<uint32_t> items, itemAt, itemIds, fieldKey, fieldSpans, fieldStart;
  Span<uint8_t> flags, fieldEnc;
  Span<double> timeMs;
  size_t from = 0, count = 0;
  if (info.Length() < 12 || !ringlog::GetU32(info[0], &items) || !ringlog::GetU32(info[1], &itemAt) ||
      !ringlog::GetU32(info[2], &itemIds) || !ringlog::GetIndex(info[3], 0xffffffffu, &from) ||
      !ringlog::GetIndex(info[4], 0xffffffffu, &count) || !ringlog::GetU8(info[5], &flags) ||
      !ringlog::GetF64(info[6], &timeMs) || !info[7].IsNumber() || !ringlog::GetU32(info[8], &fieldKey) ||
      !ringlog::GetU32(info[9], &fieldSpans) || !ringlog::GetU8(info[10], &fieldEnc) || !ringlog::GetU32(info[11], &fieldStart)) {
    Napi::TypeError::New(env,
                         "sdFields(items: Uint32Array, itemAt: Uint32Array, itemIds: Uint32Array, from, count, flags: "
                         "Uint8Array, timeMs: Float64Array, limit, fieldKey: Uint32Array, fieldSpans: Uint32Array, "
                         "fieldEnc: Uint8Array, fieldStart: Uint32Array), none over a SharedArrayBuffer")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  using ringlog::RangeOf;
  if (ringlog::OutputsShare({RangeOf(fieldKey), RangeOf(fieldSpans), RangeOf(fieldEnc), RangeOf(fieldStart)},
                            {RangeOf(items), RangeOf(itemAt), RangeOf(itemIds), RangeOf(flags), RangeOf(timeMs),
                             RangeOf(fieldKey), RangeOf(fieldSpans), RangeOf(fieldEnc), RangeOf(fieldStart)})) {
    Napi::RangeError::New(env, "sdFields: an output shares memory with another argument").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (from > count || count + 1 > itemAt.length || count > timeMs.length || count + 1 > fieldStart.length ||
      (flags.length != 0 && count > flags.length) || itemIds.length < static_cast<size_t>(kMaxCompared) ||
      fieldStart.data[from] > fieldKey.length) {
    Napi::RangeError::New(env, "sdFields: from and count do not fit the arrays").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const double limit = info[7].As<Napi::Number>().DoubleValue();
  // rfc5424.ts writes fields with these encodings (record-batch.ts ENC_UTF8, ENC_SD).
  constexpr uint8_t kEncUtf8 = 0;
  constexpr uint8_t kEncSd = 2;
  const uint32_t* it = items.data;
  const uint32_t* ids = itemIds.data;
  const size_t keyCap = fieldKey.length;
  const size_t encCap = fieldEnc.length;
  const size_t spanCap = fieldSpans.length / 2;
  size_t nf = fieldStart.data[from];
  size_t i = from;
  for (; i < count; i++) {
    // Any flag, not only FRAME_TRUNCATED (the one ParseStage adds a field for): flagged frames are rare.
    if (flags.length != 0 && flags.data[i] != 0) break;
    const double t = timeMs.data[i];
    if (!(t >= 0 && t <= limit)) break;
    const size_t a = itemAt.data[i];
    const size_t b = itemAt.data[i + 1];
    if (a > b || b > items.length || (b - a) % 4 != 0) break;
    const size_t nItems = (b - a) / 4;
    if (nItems > static_cast<size_t>(kMaxCompared) || nf + nItems > keyCap || nf + nItems > encCap || nf + nItems > spanCap) break;
    bool same = true;
    for (size_t x = a + 3; x < b; x += 4) same &= (it[x] & kSame) != 0;
    if (!same) break;
    for (size_t x = a, idx = 0; x < b; x += 4, idx++) {
      const uint32_t last = it[x + 3];
      const bool elem = (last & kElem) != 0;
      // An element with params gets no field of its own; one without, an empty value.
      if (elem && it[x + 2] != 0) continue;
      fieldKey.data[nf] = ids[idx];
      fieldSpans.data[2 * nf] = elem ? 0 : it[x + 2];
      fieldSpans.data[2 * nf + 1] = elem ? 0 : last & (kSame - 1);
      fieldEnc.data[nf] = !elem && (last & kEsc) != 0 ? kEncSd : kEncUtf8;
      nf++;
    }
    fieldStart.data[i + 1] = static_cast<uint32_t>(nf);
  }
  return Napi::Number::New(env, static_cast<double>(i));
}

}  // namespace

Napi::Object InitSyslog5424(Napi::Env env, Napi::Object exports) {
  exports.Set("scan5424", Napi::Function::New(env, Scan5424, "scan5424"));
  exports.Set("sdFields", Napi::Function::New(env, SdFields, "sdFields"));
  return exports;
}
