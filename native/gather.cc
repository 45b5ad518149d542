// Many byte ranges copied into one place in one call (src/store/gather.ts): the block
// builder's text copies. Buffer.prototype.copy makes a typed-array view per call,
// which costs more than the copy for the ~100-byte texts of log records, and a block
// builder copies every message and field value twice (into its arenas at append, into
// the payload at seal).
//
// gather(dst: Uint8Array, dstAt: number, src: Uint8Array, at: Uint32Array, len: Uint32Array,
//        order: Uint32Array | null, from: number, to: number) → bytes copied
//
// For k in [from, to), i = order ? order[k] : k: src[at[i], at[i] + len[i]) is appended
// at dst[dstAt + copied so far]. Every index and range is checked first; nothing is
// copied when one does not fit (RangeError). at, len and order must not share memory
// with dst (the block builder's never do): they are read again while copying, so that
// is a RangeError, and arrays over a SharedArrayBuffer are refused (napi_arrays.h).
#include <napi.h>

#include <cstdint>
#include <cstring>

#include "napi_arrays.h"

namespace {

Napi::Value Gather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool hasOrder = info.Length() >= 6 && !info[5].IsNull() && !info[5].IsUndefined();
  ringlog::Span<uint8_t> dst, src;
  ringlog::Span<uint32_t> atArr, lenArr, orderArr;
  if (info.Length() < 8 || !ringlog::GetU8(info[0], &dst) || !info[1].IsNumber() || !ringlog::GetU8(info[2], &src) ||
      !ringlog::GetU32(info[3], &atArr) || !ringlog::GetU32(info[4], &lenArr) || (hasOrder && !ringlog::GetU32(info[5], &orderArr)) ||
      !info[6].IsNumber() || !info[7].IsNumber()) {
    Napi::TypeError::New(env, "gather(dst: Uint8Array, dstAt, src: Uint8Array, at: Uint32Array, len: Uint32Array, order: Uint32Array | null, from, to), none over a SharedArrayBuffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (ringlog::Overlap(dst, atArr) || ringlog::Overlap(dst, lenArr) || ringlog::Overlap(dst, orderArr)) {
    Napi::RangeError::New(env, "gather: dst shares memory with at, len or order").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint8_t* d = dst.data;
  const uint8_t* s = src.data;
  const size_t dLen = dst.length;
  const size_t sLen = src.length;
  const uint32_t* at = atArr.data;
  const uint32_t* len = lenArr.data;
  const size_t nIdx = atArr.length < lenArr.length ? atArr.length : lenArr.length;
  const uint32_t* order = hasOrder ? orderArr.data : nullptr;
  const size_t nOrder = orderArr.length;
  const double dstAtD = info[1].As<Napi::Number>().DoubleValue();
  const double fromD = info[6].As<Napi::Number>().DoubleValue();
  const double toD = info[7].As<Napi::Number>().DoubleValue();
  const size_t limit = hasOrder ? nOrder : nIdx;
  if (!(dstAtD >= 0 && dstAtD <= static_cast<double>(dLen)) || !(fromD >= 0 && fromD <= toD && toD <= static_cast<double>(limit))) {
    Napi::RangeError::New(env, "gather: dstAt, from or to out of range").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const size_t dstAt = static_cast<size_t>(dstAtD);
  const size_t from = static_cast<size_t>(fromD);
  const size_t to = static_cast<size_t>(toD);
  size_t total = 0;
  for (size_t k = from; k < to; k++) {
    const size_t i = order ? order[k] : k;
    if (i >= nIdx || static_cast<size_t>(at[i]) + len[i] > sLen) {
      Napi::RangeError::New(env, "gather: a range is outside src").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    total += len[i];
  }
  if (total > dLen - dstAt) {
    Napi::RangeError::New(env, "gather: dst is too short").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint8_t* p = d + dstAt;
  for (size_t k = from; k < to; k++) {
    const size_t i = order ? order[k] : k;
    std::memmove(p, s + at[i], len[i]);  // dst and src may be one buffer
    p += len[i];
  }
  return Napi::Number::New(env, static_cast<double>(total));
}

}  // namespace

Napi::Object InitGather(Napi::Env env, Napi::Object exports) {
  exports.Set("gather", Napi::Function::New(env, Gather, "gather"));
  return exports;
}
