// The strings of a batch of JSON lines, found in one native pass (src/protocols/formats/
// json-strings.ts): for every frame that begins with `{`, the [start, end) of each
// string literal in order, with whether it holds an escape. The JavaScript parser
// (json.ts) takes a string's end from this list instead of reading its bytes one by
// one, when the list has a string starting where the parser stands; anywhere else it
// scans the bytes itself (json-scanner.ts scanString, which stays the definition). So
// the list is a hint that can only be used where it agrees with the parser's position.
//
// jsonStrings(buf: Uint8Array, offsets: Uint32Array, count: number,
//             out: Uint32Array, frameAt: Uint32Array) → number of words written
//
//   offsets:  [start, end) of frame i at offsets[2i], offsets[2i+1] (a FrameBatch's)
//   frameAt:  count + 1 words: the strings of frame i are out[frameAt[i] .. frameAt[i+1])
//   out:      per string two words: the position after its opening quote, and the
//             position after its closing quote, with bit 31 set when it holds an escape
//
// A frame's list stops at the first string that is not valid JSON (a control
// character, an unknown escape, a bad \u, no closing quote): the parser then scans
// from there itself and fails as the definition says. It also stops when `out` is
// full. Frames are at most 2 GiB (offsets are 32-bit), so bit 31 is free.
//
// Both functions here refuse arrays over a SharedArrayBuffer (TypeError) and an output
// that shares memory with another argument (RangeError): a write to it could change
// what was checked.
#include <napi.h>

#include <cstdint>
#include <cstring>

#include "bytes.h"
#include "napi_arrays.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace {


constexpr uint32_t kEscBit = 0x80000000u;

struct Tables {
  uint8_t stop[256];    // bytes that end a run of ordinary string bytes: ", \ and controls
  uint8_t simple[256];  // escapes of one character after the backslash
  uint8_t hex[256];
  uint8_t ws[256];      // JSON whitespace
  Tables() {
    std::memset(this, 0, sizeof(*this));
    for (int c = 0; c < 0x20; c++) stop[c] = 1;
    stop['"'] = 1;
    stop['\\'] = 1;
    for (const char* s = "\"\\/bfnrt"; *s; s++) simple[static_cast<uint8_t>(*s)] = 1;
    for (int c = '0'; c <= '9'; c++) hex[c] = 1;
    for (int c = 'a'; c <= 'f'; c++) hex[c] = 1;
    for (int c = 'A'; c <= 'F'; c++) hex[c] = 1;
    ws[' '] = ws['\t'] = ws['\n'] = ws['\r'] = 1;
  }
};
const Tables kT;

// First position in [p, e) holding a stop byte, or e.
inline const uint8_t* NextStop(const uint8_t* p, const uint8_t* e) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i ctl = _mm_set1_epi8(0x1f);
  while (e - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                               _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));  // unsigned v <= 0x1f
    int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (p < e && kT.stop[*p] == 0) p++;
  return p;
}

// The string whose contents begin at p: the position after its closing quote, or
// nullptr when it is not valid JSON. Sets *esc when it holds an escape.
inline const uint8_t* ScanString(const uint8_t* p, const uint8_t* e, bool* esc) {
  for (;;) {
    p = NextStop(p, e);
    if (p >= e) return nullptr;
    uint8_t c = *p;
    if (c == '"') return p + 1;
    if (c != '\\' || p + 1 >= e) return nullptr;
    uint8_t x = p[1];
    if (x == 'u') {
      if (e - p < 6 || !(kT.hex[p[2]] & kT.hex[p[3]] & kT.hex[p[4]] & kT.hex[p[5]])) return nullptr;
      p += 6;
    } else if (kT.simple[x]) {
      p += 2;
    } else {
      return nullptr;
    }
    *esc = true;
  }
}

// Bits of the 64 bytes at p (all readable) that are a quote, a backslash, a control.
struct Masks {
  uint64_t quote, backslash, control;
};

inline Masks Classify(const uint8_t* p) {
  Masks m{0, 0, 0};
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i ctl = _mm_set1_epi8(0x1f);
  for (int k = 0; k < 4; k++) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    m.quote |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)))) << (16 * k);
    m.backslash |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)))) << (16 * k);
    m.control |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl)))) << (16 * k);
  }
#else
  for (int k = 0; k < 64; k++) {
    uint64_t bit = uint64_t{1} << k;
    if (p[k] == '"') m.quote |= bit;
    else if (p[k] == '\\') m.backslash |= bit;
    else if (p[k] < 0x20) m.control |= bit;
  }
#endif
  return m;
}

// Bit i set when an odd number of bits at or below i are set in x.
inline uint64_t PrefixXor(uint64_t x) {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

enum class Frame { kDone, kEscapes };

// The strings of a frame without backslashes, 64 bytes at a time. Every quote then opens
// or closes a string, alternately, so the quotes' positions (+1) written in order are
// the list itself; the inside of strings is a prefix XOR of the quote bits, and a
// control byte there ends the list before its string. Returns kEscapes (having written
// nothing) at the first backslash: ScanFrameSlow then does the frame string by string.
Frame ScanFrameFast(const uint8_t* base, const uint8_t* limit, const uint8_t* p, const uint8_t* e, uint32_t* o, size_t* w, size_t cap) {
  const size_t w0 = *w;
  size_t k = w0;  // next word: even while no string is open
  uint8_t tail[64];
  for (const uint8_t* b = p; b < e; b += 64) {
    const size_t n = static_cast<size_t>(e - b);
    Masks m;
    uint64_t valid = ~uint64_t{0};
    if (n < 64) valid = (uint64_t{1} << n) - 1;
    if (limit - b >= 64) {
      m = Classify(b);  // past e when n < 64, but within the buffer: those bits are masked off
    } else {
      std::memcpy(tail, b, n);
      std::memset(tail + n, ' ', 64 - n);
      m = Classify(tail);
    }
    if (m.backslash & valid) {
      *w = w0;
      return Frame::kEscapes;
    }
    if (k + 64 > cap) break;
    uint64_t quotes = m.quote & valid;
    const uint64_t controls = m.control & valid;
    bool stop = false;
    if (controls != 0) {
      const uint64_t in = PrefixXor(quotes) ^ (((k - w0) & 1) ? ~uint64_t{0} : 0);
      const uint64_t bad = controls & in;
      if (bad != 0) {
        quotes &= (uint64_t{1} << __builtin_ctzll(bad)) - 1;
        stop = true;
      }
    }
    const uint32_t at = static_cast<uint32_t>(b - base) + 1;
    for (; quotes != 0; quotes &= quotes - 1) o[k++] = at + static_cast<uint32_t>(__builtin_ctzll(quotes));
    if (stop) break;
  }
  *w = w0 + ((k - w0) & ~static_cast<size_t>(1));  // a string still open has no end: dropped
  return Frame::kDone;
}

// The strings of a frame, one at a time (frames with escapes).
void ScanFrameSlow(const uint8_t* base, const uint8_t* p, const uint8_t* e, uint32_t* o, size_t* w, size_t cap) {
  for (;;) {
    const uint8_t* q = static_cast<const uint8_t*>(std::memchr(p, '"', static_cast<size_t>(e - p)));
    if (q == nullptr || *w + 2 > cap) return;
    bool esc = false;
    const uint8_t* end = ScanString(q + 1, e, &esc);
    if (end == nullptr) return;
    o[*w] = static_cast<uint32_t>(q + 1 - base);
    o[*w + 1] = static_cast<uint32_t>(end - base) | (esc ? kEscBit : 0);
    *w += 2;
    p = end;
  }
}

Napi::Value JsonStrings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ringlog::Span<uint8_t> buf;
  ringlog::Span<uint32_t> offsets, out, frameAt;
  if (info.Length() < 5 || !ringlog::GetU8(info[0], &buf) || !ringlog::GetU32(info[1], &offsets) || !info[2].IsNumber() ||
      !ringlog::GetU32(info[3], &out) || !ringlog::GetU32(info[4], &frameAt)) {
    Napi::TypeError::New(env, "jsonStrings(buf: Uint8Array, offsets: Uint32Array, count, out: Uint32Array, frameAt: Uint32Array), none over a SharedArrayBuffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  using ringlog::RangeOf;
  if (ringlog::OutputsShare({RangeOf(out), RangeOf(frameAt)}, {RangeOf(buf), RangeOf(offsets), RangeOf(out), RangeOf(frameAt)})) {
    Napi::RangeError::New(env, "jsonStrings: an output shares memory with another argument").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int64_t count = info[2].As<Napi::Number>().Int64Value();
  if (count < 0 || static_cast<size_t>(count) * 2 > offsets.length || static_cast<size_t>(count) + 1 > frameAt.length) {
    Napi::RangeError::New(env, "jsonStrings: count does not fit offsets or frameAt").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint8_t* base = buf.data;
  const size_t len = buf.length;
  const uint32_t* off = offsets.data;
  uint32_t* o = out.data;
  uint32_t* fa = frameAt.data;
  const size_t cap = out.length & ~static_cast<size_t>(1);
  size_t w = 0;
  for (int64_t i = 0; i < count; i++) {
    fa[i] = static_cast<uint32_t>(w);
    size_t s = off[2 * i];
    size_t fe = off[2 * i + 1];
    if (fe > len || s > fe || fe >= kEscBit) continue;  // not a frame of this buffer: no hints
    const uint8_t* p = base + s;
    const uint8_t* e = base + fe;
    // Only frames that are (after a BOM and whitespace) an object: the others are not JSON
    // lines, and their quotes would only cost time.
    if (e - p >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) p += 3;
    while (p < e && kT.ws[*p]) p++;
    if (p >= e || *p != '{') continue;
    if (ScanFrameFast(base, base + len, p, e, o, &w, cap) == Frame::kEscapes) ScanFrameSlow(base, p, e, o, &w, cap);
  }
  fa[count] = static_cast<uint32_t>(w);
  return Napi::Number::New(env, static_cast<double>(w));
}

// ---- JSON lines: the members of each frame's top-level object ----------------------
//
// scanJsonLines(buf: Uint8Array, offsets: Uint32Array, count: number, auto: boolean,
//               taken: Uint8Array, items: Uint32Array, itemAt: Uint32Array) → frames taken, or -1
//
// For every frame that json.ts parseObject() would parse without a JSON error (and, with
// `auto`, that ParseStage's detection sends to it), the members of its top-level object,
// 4 words each, in order: [keyStart, keyEnd | KESC | SAME, valueStart, valueEnd | TYPE << 28]
// — a string value's range is its inside, any other value's its text. TYPE is
// well-known-keys.ts V_*: 0 string, 1 string with escapes, 2 number, 3 literal, 4 array,
// 5 object with members, 6 empty object. SAME: the key (without escapes) is byte for byte
// the key at the same member index of the previous frame taken in this call (the first
// 64 members are compared; json.ts MEMBERS_COMPARED). taken[i]
// is 1 for a frame taken, 3 for one taken that has an object value with members (which
// JavaScript flattens from its bytes), 2 for a valid frame whose members did not fit in `items`
// (nothing written: the call returns -1 and the caller may run it again with more
// room), 0 otherwise: those frames are parsed in JavaScript (json.ts stays the
// definition; json-native.test.ts compares both). Positions need 28 bits: buffers
// under 256 MiB.

constexpr uint32_t kKesc = 1u << 31;
constexpr uint32_t kSameKey = 1u << 30;
constexpr uint32_t kPos28 = (1u << 28) - 1;
constexpr int kMaxNesting = 512;  // json-scanner.ts MAX_NESTING
constexpr int kMaxMembers = 4096;
constexpr int kComparedMembers = 64;

inline const uint8_t* SkipWs(const uint8_t* p, const uint8_t* e) {
  // No byte above the space is whitespace: those (the usual case) need no table load.
  while (p < e && *p <= ' ' && kT.ws[*p]) p++;
  return p;
}

inline bool Digit(uint8_t c) { return c >= '0' && c <= '9'; }

// json-scanner.ts scanNumber
const uint8_t* ScanNumber(const uint8_t* p, const uint8_t* e) {
  if (p < e && *p == '-') p++;
  if (p >= e) return nullptr;
  if (*p == '0') {
    p++;
  } else if (*p >= '1' && *p <= '9') {
    p++;
    while (p < e && Digit(*p)) p++;
  } else {
    return nullptr;
  }
  if (p < e && *p == '.') {
    const uint8_t* d = ++p;
    while (p < e && Digit(*p)) p++;
    if (p == d) return nullptr;
  }
  if (p < e && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < e && (*p == '+' || *p == '-')) p++;
    const uint8_t* d = p;
    while (p < e && Digit(*p)) p++;
    if (p == d) return nullptr;
  }
  return p;
}

// json-scanner.ts scanLiteral
const uint8_t* ScanLiteral(const uint8_t* p, const uint8_t* e) {
  const size_t n = static_cast<size_t>(e - p);
  if (n >= 4 && std::memcmp(p, "true", 4) == 0) return p + 4;
  if (n >= 5 && std::memcmp(p, "false", 5) == 0) return p + 5;
  if (n >= 4 && std::memcmp(p, "null", 4) == 0) return p + 4;
  return nullptr;
}

// json-scanner.ts memberName: `"name"` ws `:` ws, the position after.
const uint8_t* MemberName(const uint8_t* p, const uint8_t* e) {
  if (p >= e || *p != '"') return nullptr;
  bool esc = false;
  p = ScanString(p + 1, e, &esc);
  if (p == nullptr) return nullptr;
  p = SkipWs(p, e);
  if (p >= e || *p != ':') return nullptr;
  return SkipWs(p + 1, e);
}

// json-scanner.ts skipValue: the value at p, `depth` containers open around it.
const uint8_t* SkipValue(const uint8_t* p, const uint8_t* e, int depth) {
  uint8_t stack[kMaxNesting + 1];
  int sp = 0;
  const int room = kMaxNesting - depth;
  for (;;) {
    if (p >= e) return nullptr;
    const uint8_t c = *p;
    if (c == '"') {
      bool esc = false;
      p = ScanString(p + 1, e, &esc);
    } else if (c == '{') {
      if (sp >= room) return nullptr;
      stack[sp++] = 1;
      p = SkipWs(p + 1, e);
      if (p < e && *p == '}') {
        p++;
        sp--;
      } else {
        p = MemberName(p, e);
        if (p == nullptr) return nullptr;
        continue;
      }
    } else if (c == '[') {
      if (sp >= room) return nullptr;
      stack[sp++] = 2;
      p = SkipWs(p + 1, e);
      if (p < e && *p == ']') {
        p++;
        sp--;
      } else {
        continue;
      }
    } else if (c == '-' || Digit(c)) {
      p = ScanNumber(p, e);
    } else {
      p = ScanLiteral(p, e);
    }
    if (p == nullptr) return nullptr;
    for (;;) {
      if (sp == 0) return p;
      p = SkipWs(p, e);
      if (p >= e) return nullptr;
      const uint8_t d = *p;
      if (stack[sp - 1] == 1) {
        if (d == '}') {
          p++;
          sp--;
          continue;
        }
        if (d != ',') return nullptr;
        p = MemberName(SkipWs(p + 1, e), e);
        if (p == nullptr) return nullptr;
        break;
      }
      if (d == ']') {
        p++;
        sp--;
        continue;
      }
      if (d != ',') return nullptr;
      p = SkipWs(p + 1, e);
      break;
    }
  }
}

struct Member {
  uint32_t w[4];
};

// Frame [start, end0) as ParseStage (BOM, auto detection) and json.ts parseObject parse
// it: the number of members written to m, or -1 when that parser would fail (or the
// frame has more than kMaxMembers members).
int JsonFrame(const uint8_t* base, size_t start, size_t end0, bool autoMode, Member* m) {
  const uint8_t* s = base + start;
  const uint8_t* e0 = base + end0;
  if (e0 - s >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf) s += 3;  // ParseStage's skipBom
  if (autoMode) {
    const uint8_t* q = s;
    while (q < e0 && (*q == ' ' || *q == '\t')) q++;
    if (q >= e0 || *q != '{') return -1;
  }
  const uint8_t* e = e0;
  while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == 0)) e--;
  const uint8_t* p = s;
  if (e - p >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) p += 3;  // parseObject's own
  p = SkipWs(p, e);
  if (p >= e || *p != '{') return -1;
  p = SkipWs(p + 1, e);
  int n = 0;
  if (p < e && *p == '}') {
    p++;
  } else {
    for (;;) {
      if (p >= e || *p != '"') return -1;
      const uint8_t* ks = p + 1;
      bool kesc = false;
      p = ScanString(ks, e, &kesc);
      if (p == nullptr) return -1;
      const uint8_t* ke = p - 1;
      p = SkipWs(p, e);
      if (p >= e || *p != ':') return -1;
      p = SkipWs(p + 1, e);
      if (p >= e) return -1;
      const uint8_t c = *p;
      const uint8_t* vs = p;
      const uint8_t* ve;
      uint32_t type;
      if (c == '"') {
        bool esc = false;
        const uint8_t* q = ScanString(p + 1, e, &esc);
        if (q == nullptr) return -1;
        type = esc ? 1 : 0;
        vs = p + 1;
        ve = q - 1;
        p = q;
      } else {
        if (c == '{') {
          const uint8_t* r = SkipWs(p + 1, e);
          type = (r < e && *r == '}') ? 6 : 5;
          p = SkipValue(p, e, 1);
        } else if (c == '[') {
          type = 4;
          p = SkipValue(p, e, 1);
        } else if (c == '-' || Digit(c)) {
          type = 2;
          p = ScanNumber(p, e);
        } else {
          type = 3;
          p = ScanLiteral(p, e);
        }
        if (p == nullptr) return -1;
        ve = p;
      }
      if (n == kMaxMembers) return -1;
      m[n++] = Member{{static_cast<uint32_t>(ks - base), static_cast<uint32_t>(ke - base) | (kesc ? kKesc : 0),
                       static_cast<uint32_t>(vs - base), static_cast<uint32_t>(ve - base) | (type << 28)}};
      p = SkipWs(p, e);
      if (p >= e) return -1;
      if (*p == ',') {
        p = SkipWs(p + 1, e);
      } else if (*p == '}') {
        p++;
        break;
      } else {
        return -1;
      }
    }
  }
  if (SkipWs(p, e) != e) return -1;
  return n;
}

Napi::Value ScanJsonLines(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ringlog::Span<uint8_t> buf, taken;
  ringlog::Span<uint32_t> offsets, items, itemAt;
  if (info.Length() < 7 || !ringlog::GetU8(info[0], &buf) || !ringlog::GetU32(info[1], &offsets) || !info[2].IsNumber() ||
      !info[3].IsBoolean() || !ringlog::GetU8(info[4], &taken) || !ringlog::GetU32(info[5], &items) || !ringlog::GetU32(info[6], &itemAt)) {
    Napi::TypeError::New(env, "scanJsonLines(buf: Uint8Array, offsets: Uint32Array, count, auto: boolean, taken: Uint8Array, items: Uint32Array, itemAt: Uint32Array), none over a SharedArrayBuffer")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  using ringlog::RangeOf;
  if (ringlog::OutputsShare({RangeOf(taken), RangeOf(items), RangeOf(itemAt)}, {RangeOf(buf), RangeOf(offsets), RangeOf(taken), RangeOf(items), RangeOf(itemAt)})) {
    Napi::RangeError::New(env, "scanJsonLines: an output shares memory with another argument").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int64_t count = info[2].As<Napi::Number>().Int64Value();
  const bool autoMode = info[3].As<Napi::Boolean>().Value();
  const size_t n = count < 0 ? 0 : static_cast<size_t>(count);
  if (count < 0 || n * 2 > offsets.length || n > taken.length || n + 1 > itemAt.length || buf.length > kPos28) {
    Napi::RangeError::New(env, "scanJsonLines: count does not fit the arrays, or the buffer is 256 MiB or more").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint8_t* b = buf.data;
  const size_t len = buf.length;
  const uint32_t* off = offsets.data;
  uint32_t* out = items.data;
  const size_t cap = items.length / 4 * 4;
  static thread_local Member cur[kMaxMembers];
  static thread_local Member prev[kComparedMembers];
  int prevN = 0;
  size_t w = 0;
  int64_t done = 0;
  bool full = false;
  for (size_t i = 0; i < n; i++) {
    itemAt.data[i] = static_cast<uint32_t>(w);
    taken.data[i] = 0;
    const size_t s = off[2 * i];
    const size_t e = off[2 * i + 1];
    if (e > len || s > e) continue;
    const int k = JsonFrame(b, s, e, autoMode, cur);
    if (k < 0) continue;
    if (w + static_cast<size_t>(k) * 4 > cap) {
      taken.data[i] = 2;
      full = true;
      continue;
    }
    taken.data[i] = 1;
    done++;
    for (int j = 0; j < k; j++) {
      uint32_t* x = cur[j].w;
      if ((x[3] >> 28) == 5) taken.data[i] = 3;  // an object to flatten: the JavaScript side reads its bytes
      uint32_t same = 0;
      if (j < prevN && (x[1] & kKesc) == 0 && (prev[j].w[1] & kKesc) == 0) {
        const uint32_t a = x[1] - x[0];
        const uint32_t* y = prev[j].w;
        if (y[1] - y[0] == a && ringlog::BytesEqual(b + x[0], b + y[0], a)) same = kSameKey;
      }
      out[w++] = x[0];
      out[w++] = x[1] | same;
      out[w++] = x[2];
      out[w++] = x[3];
    }
    prevN = k < kComparedMembers ? k : kComparedMembers;
    std::memcpy(prev, cur, sizeof(Member) * prevN);
  }
  itemAt.data[n] = static_cast<uint32_t>(w);
  return Napi::Number::New(env, full ? -1.0 : static_cast<double>(done));
}

}  // namespace

Napi::Object InitJsonStrings(Napi::Env env, Napi::Object exports) {
  exports.Set("jsonStrings", Napi::Function::New(env, JsonStrings, "jsonStrings"));
  exports.Set("scanJsonLines", Napi::Function::New(env, ScanJsonLines, "scanJsonLines"));
  return exports;
}
