// Whether a file is open anywhere else, for the WAL writer (src/store/wal-writer.ts): a
// committed WAL file is recycled (zeroed in place and reused as the next one) only when
// no reader has it open, since a reader that has would see its bytes change; otherwise
// it is deleted, and readers keep reading the unlinked file to its end.
//
// fileOpenElsewhere(path: string) → true | false | null
//   Linux: takes and at once drops a write lease (fcntl F_SETLEASE F_WRLCK) on a
//   read-only descriptor of its own. The kernel grants a write lease only when no other
//   descriptor, in any process, has the file open: EAGAIN means some has (true). null:
//   it cannot tell (not Linux, leases not supported by the file system, or not allowed),
//   which callers take as "open elsewhere".
//
// While the lease is held, anyone opening the file makes the kernel send SIGIO to this
// process, whose default action ends it (Node installs no handler). So SIGIO is set to
// be ignored first, unless the process has a handler of its own; nothing in Node or
// ringlog uses SIGIO otherwise.
#include <napi.h>

#ifdef __linux__
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <unistd.h>
#endif

namespace {

Napi::Value FileOpenElsewhere(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "fileOpenElsewhere(path)").ThrowAsJavaScriptException();
    return env.Null();
  }
#ifdef __linux__
  static const bool sigioSafe = [] {
    struct sigaction old {};
    if (sigaction(SIGIO, nullptr, &old) != 0) return false;
    if (old.sa_handler != SIG_DFL) return true;  // a handler (or ignored) already
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    return sigaction(SIGIO, &ign, nullptr) == 0;
  }();
  if (!sigioSafe) return env.Null();
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return env.Null();
  const int r = fcntl(fd, F_SETLEASE, F_WRLCK);
  const int err = errno;
  if (r == 0) fcntl(fd, F_SETLEASE, F_UNLCK);
  close(fd);
  if (r == 0) return Napi::Boolean::New(env, false);
  if (err == EAGAIN) return Napi::Boolean::New(env, true);
  return env.Null();
#else
  return env.Null();
#endif
}

}  // namespace

Napi::Object InitFileOpen(Napi::Env env, Napi::Object exports) {
  exports.Set("fileOpenElsewhere", Napi::Function::New(env, FileOpenElsewhere, "fileOpenElsewhere"));
  return exports;
}
