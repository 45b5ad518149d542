// Typed arrays handed to the addon's functions, as pointer + length: the checks and
// unwrapping every function of the addon needs for its arguments.
#ifndef RINGLOG_NAPI_ARRAYS_H_
#define RINGLOG_NAPI_ARRAYS_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace ringlog {

template <typename T>
struct Span {
  T* data = nullptr;
  size_t length = 0;
};

// Whether v is a typed array of type t (a Buffer is a napi_uint8_array).
inline bool IsTyped(const Napi::Value& v, napi_typedarray_type t) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == t;
}

// A Buffer or any typed array, as its bytes.
inline bool GetBytes(const Napi::Value& v, Span<uint8_t>* out) {
  if (!v.IsTypedArray()) return false;
  auto t = v.As<Napi::TypedArray>();
  out->data = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
  out->length = t.ByteLength();
  return true;
}

// A Uint8Array (or Buffer) only.
inline bool GetU8(const Napi::Value& v, Span<uint8_t>* out) {
  if (!IsTyped(v, napi_uint8_array)) return false;
  return GetBytes(v, out);
}

inline bool GetU32(const Napi::Value& v, Span<uint32_t>* out) {
  if (!IsTyped(v, napi_uint32_array)) return false;
  auto a = v.As<Napi::Uint32Array>();
  out->data = a.Data();
  out->length = a.ElementLength();
  return true;
}

inline bool GetF64(const Napi::Value& v, Span<double>* out) {
  if (!IsTyped(v, napi_float64_array)) return false;
  auto a = v.As<Napi::Float64Array>();
  out->data = a.Data();
  out->length = a.ElementLength();
  return true;
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
