// Equality of two short byte ranges without a call: the addon compares header fields,
// structured-data names, JSON keys and dictionary entries of a few to a few dozen bytes
// with the previous record's, several times per record, where a call to memcmp cost
// more than the comparison.
#ifndef RINGLOG_BYTES_H_
#define RINGLOG_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ringlog {

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Whether a[0, n) and b[0, n) hold the same bytes (8 at a time; the last word overlaps the one before it).
inline bool BytesEqual(const uint8_t* a, const uint8_t* b, size_t n) {
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (Load64(a + i) != Load64(b + i)) return false;
    }
    return Load64(a + n - 8) == Load64(b + n - 8);
  }
  if (n >= 4) return Load32(a) == Load32(b) && Load32(a + n - 4) == Load32(b + n - 4);
  for (size_t i = 0; i < n; i++) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace ringlog

#endif  // RINGLOG_BYTES_H_
