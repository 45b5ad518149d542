// Typed arrays handed to the addon's functions, as pointer + length: the checks and
// unwrapping every function of the addon needs for its arguments.
//
// Only arrays over an ordinary ArrayBuffer are taken. One over a SharedArrayBuffer
// could change under a function while it runs (another thread writes it), after its
// indexes were checked, so it is refused like an array of the wrong type.
#ifndef RINGLOG_NAPI_ARRAYS_H_
#define RINGLOG_NAPI_ARRAYS_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>

namespace ringlog {

template <typename T>
struct Span {
  T* data = nullptr;
  size_t length = 0;
};

// v's elements when it is a typed array over an ordinary ArrayBuffer (of type `type`,
// or any type with `anyType`): their address and bytes.
inline bool GetTyped(const Napi::Value& v, napi_typedarray_type type, bool anyType, void** data, size_t* bytes) {
  if (!v.IsTypedArray()) return false;
  napi_env env = v.Env();
  napi_typedarray_type t;
  size_t length = 0;
  void* p = nullptr;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &t, &length, &p, &ab, &offset) != napi_ok) return false;
  if (!anyType && t != type) return false;
  bool isAb = false;
  if (napi_is_arraybuffer(env, ab, &isAb) != napi_ok || !isAb) return false;  // a SharedArrayBuffer is not one
  size_t size = 1;
  switch (t) {
    case napi_int16_array: case napi_uint16_array: size = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: size = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: size = 8; break;
    default: break;
  }
  if (p == nullptr && length > 0) return false;
  *data = p;
  *bytes = length * size;
  return true;
}

// A Buffer or any typed array, as its bytes.
inline bool GetBytes(const Napi::Value& v, Span<uint8_t>* out) {
  void* p;
  size_t bytes;
  if (!GetTyped(v, napi_uint8_array, true, &p, &bytes)) return false;
  out->data = static_cast<uint8_t*>(p);
  out->length = bytes;
  return true;
}

template <typename T>
inline bool GetArray(const Napi::Value& v, napi_typedarray_type type, Span<T>* out) {
  void* p;
  size_t bytes;
  if (!GetTyped(v, type, false, &p, &bytes)) return false;
  out->data = static_cast<T*>(p);
  out->length = bytes / sizeof(T);
  return true;
}

// A Uint8Array (or Buffer) only.
inline bool GetU8(const Napi::Value& v, Span<uint8_t>* out) { return GetArray(v, napi_uint8_array, out); }
inline bool GetU32(const Napi::Value& v, Span<uint32_t>* out) { return GetArray(v, napi_uint32_array, out); }
inline bool GetF64(const Napi::Value& v, Span<double>* out) { return GetArray(v, napi_float64_array, out); }

// Whether two arrays share any byte: a function that writes one while it reads the
// other must refuse that (what it checked could change under it).
template <typename A, typename B>
inline bool Overlap(const Span<A>& a, const Span<B>& b) {
  const uintptr_t a0 = reinterpret_cast<uintptr_t>(a.data);
  const uintptr_t b0 = reinterpret_cast<uintptr_t>(b.data);
  const uintptr_t a1 = a0 + a.length * sizeof(A);
  const uintptr_t b1 = b0 + b.length * sizeof(B);
  return a0 < b1 && b0 < a1;
}

// The bytes of an array, as addresses [lo, hi).
struct ByteRange {
  uintptr_t lo = 0;
  uintptr_t hi = 0;
};

template <typename T>
inline ByteRange RangeOf(const Span<T>& s) {
  const uintptr_t p = reinterpret_cast<uintptr_t>(s.data);
  return {p, p + s.length * sizeof(T)};
}

// Whether an output shares a byte with any other argument: `all` lists every argument,
// the outputs among them (an output passed twice shares with itself).
inline bool OutputsShare(std::initializer_list<ByteRange> outputs, std::initializer_list<ByteRange> all) {
  for (const ByteRange& o : outputs) {
    if (o.lo == o.hi) continue;
    bool self = false;
    for (const ByteRange& a : all) {
      if (!(a.lo < o.hi && o.lo < a.hi)) continue;
      if (!self && a.lo == o.lo && a.hi == o.hi) {
        self = true;
        continue;
      }
      return true;
    }
  }
  return false;
}

// A number that is a whole number in [0, max]: its value in *out.
inline bool GetIndex(const Napi::Value& v, size_t max, size_t* out) {
  if (!v.IsNumber()) return false;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= static_cast<double>(max)) || d != static_cast<double>(static_cast<size_t>(d))) return false;
  *out = static_cast<size_t>(d);
  return true;
}

}  // namespace ringlog

#endif  // RINGLOG_NAPI_ARRAYS_H_
