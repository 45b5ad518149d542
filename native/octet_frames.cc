// The frames of a chunk on an octet-counting or auto port in one call (src/protocols/
// framing/octet.ts): the framer's Start state for as long as each frame is a common case,
// with the LF, CR and NUL bytes senders put between frames skipped —
//  - RFC 6587 `MSG-LEN SP MSG` whole in the chunk, MSG-LEN 1 to 10 digits, the first not
//    0, at most maxFrame;
//  - with LINES (auto mode), a frame that does not begin with 1-9: an LF-delimited line
//    (or NUL-delimited, with NUL) whole in the chunk, one CR before its delimiter
//    stripped, at most maxFrame.
// It stops before the first frame that is anything else (split by the chunk's end, too
// long, a count that turns out invalid, a line in strict octet mode), which the framer's
// state machine then takes, as it stays the definition (the framing tests run every input
// both ways and compare).
//
// octetFrames(chunk: Uint8Array, pos: number, maxFrame: number, modes: number, out: Uint32Array, st: Float64Array)
//   → frames found (their [start, end) in out, two words each, as many as fit)
//   modes: LINES (1) | NUL (2)
//   st[0]: the position it stopped at (the chunk's length when it used it all),
//   st[1]: the frames' bytes in all.
#include <napi.h>

#include <cstdint>
#include <cstring>

#include "napi_arrays.h"

namespace {

// More digits than this is not a count (octet.ts MAX_DIGITS).
constexpr size_t kMaxDigits = 10;
constexpr uint32_t kLines = 1;
constexpr uint32_t kNul = 2;

Napi::Value OctetFrames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  using ringlog::Span;
  Span<uint8_t> chunk;
  Span<uint32_t> out;
  Span<double> st;
  size_t pos = 0, modes = 0;
  if (info.Length() < 6 || !ringlog::GetU8(info[0], &chunk) || !ringlog::GetIndex(info[1], 0xffffffffu, &pos) ||
      !info[2].IsNumber() || !ringlog::GetIndex(info[3], kLines | kNul, &modes) || !ringlog::GetU32(info[4], &out) ||
      !ringlog::GetF64(info[5], &st)) {
    Napi::TypeError::New(env,
                         "octetFrames(chunk: Uint8Array, pos, maxFrame, modes: 0-3, out: Uint32Array, st: Float64Array), "
                         "none over a SharedArrayBuffer")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  using ringlog::RangeOf;
  if (ringlog::OutputsShare({RangeOf(out), RangeOf(st)}, {RangeOf(chunk), RangeOf(out), RangeOf(st)})) {
    Napi::RangeError::New(env, "octetFrames: an output shares memory with another argument").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const size_t len = chunk.length;
  if (pos > len || len > 0xffffffffu || st.length < 2) {
    Napi::RangeError::New(env, "octetFrames: pos past the chunk, a chunk of 4 GiB or more, or st shorter than 2").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const double maxFrame = info[2].As<Napi::Number>().DoubleValue();
  const uint8_t* b = chunk.data;
  const size_t cap = out.length / 2;
  size_t n = 0;
  double bytes = 0;
  // The next LF at or after the line being read (len: none), searched again only once
  // passed: NUL-delimited lines without LFs would otherwise search to the end each time.
  size_t lfAt = 0;
  bool lfKnown = false;
  while (n < cap) {
    size_t p = pos;
    while (p < len && (b[p] == '\n' || b[p] == '\r' || b[p] == 0)) p++;
    if (p == len) {
      pos = p;
      break;
    }
    if (b[p] < '1' || b[p] > '9') {
      if ((modes & kLines) == 0) break;
      // A line: to its LF (or NUL), which must be in this chunk.
      if (!lfKnown || lfAt < p) {
        const uint8_t* lf = static_cast<const uint8_t*>(memchr(b + p, '\n', len - p));
        lfAt = lf == nullptr ? len : static_cast<size_t>(lf - b);
        lfKnown = true;
      }
      size_t e = lfAt;
      if ((modes & kNul) != 0) {
        const uint8_t* nul = static_cast<const uint8_t*>(memchr(b + p, 0, e - p));
        if (nul != nullptr) e = static_cast<size_t>(nul - b);
      }
      if (e == len) break;
      // b[p] is none of LF, CR, NUL: e > p, and a CR before the delimiter leaves the line non-empty.
      const size_t fe = b[e - 1] == '\r' ? e - 1 : e;
      if (static_cast<double>(fe - p) > maxFrame) break;
      out.data[2 * n] = static_cast<uint32_t>(p);
      out.data[2 * n + 1] = static_cast<uint32_t>(fe);
      n++;
      bytes += static_cast<double>(fe - p);
      pos = e + 1;
      continue;
    }
    uint64_t c = b[p] - '0';
    size_t q = p + 1;
    while (q < len && q - p < kMaxDigits && b[q] >= '0' && b[q] <= '9') {
      c = c * 10 + (b[q] - '0');
      q++;
    }
    // The count, SP and the whole body in this chunk, within maxFrame (as octet.ts's one-step path).
    if (q >= len || b[q] != ' ' || static_cast<double>(c) > maxFrame || c > len - q - 1) break;
    const size_t start = q + 1;
    const size_t end = start + c;
    out.data[2 * n] = static_cast<uint32_t>(start);
    out.data[2 * n + 1] = static_cast<uint32_t>(end);
    n++;
    bytes += static_cast<double>(c);
    pos = end;
  }
  st.data[0] = static_cast<double>(pos);
  st.data[1] = bytes;
  return Napi::Number::New(env, static_cast<double>(n));
}

}  // namespace

Napi::Object InitOctetFrames(Napi::Env env, Napi::Object exports) {
  exports.Set("octetFrames", Napi::Function::New(env, OctetFrames, "octetFrames"));
  return exports;
}
