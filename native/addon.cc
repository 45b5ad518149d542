// The ringlog_native addon: the recvmmsg datagram receiver (Linux only) and the block
// index (tokens, hashes and bloom filter of a store block in one call), and the string
// finder for batches of JSON lines, gather (many byte ranges copied in one call), the
// RFC 5424 batch parser, whether a file is open elsewhere (WAL recycling), and the
// row-wise columns of a store block, the block builder's append loop, and the octet-counted
// frames of a chunk.
#include <napi.h>

#ifdef __linux__
Napi::Object InitDgramReceiver(Napi::Env env, Napi::Object exports);
#endif
Napi::Object InitBlockIndex(Napi::Env env, Napi::Object exports);
Napi::Object InitJsonStrings(Napi::Env env, Napi::Object exports);
Napi::Object InitGather(Napi::Env env, Napi::Object exports);
Napi::Object InitSyslog5424(Napi::Env env, Napi::Object exports);
Napi::Object InitFileOpen(Napi::Env env, Napi::Object exports);
Napi::Object InitBlockColumns(Napi::Env env, Napi::Object exports);
Napi::Object InitBlockAppend(Napi::Env env, Napi::Object exports);
Napi::Object InitOctetFrames(Napi::Env env, Napi::Object exports);

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
#ifdef __linux__
  InitDgramReceiver(env, exports);
#endif
  InitJsonStrings(env, exports);
  InitGather(env, exports);
  InitSyslog5424(env, exports);
  InitFileOpen(env, exports);
  InitBlockColumns(env, exports);
  InitBlockAppend(env, exports);
  InitOctetFrames(env, exports);
  return InitBlockIndex(env, exports);
}

NODE_API_MODULE(ringlog_native, Init)
