{
  "targets": [
    {
      "target_name": "ringlog_native",
      "sources": ["native/addon.cc", "native/dgram_receiver.cc", "native/block_index.cc", "native/json_strings.cc", "native/gather.cc", "native/syslog5424.cc", "native/file_open.cc", "native/block_columns.cc", "native/block_append.cc", "native/octet_frames.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-std=c++17", "-ffp-contract=off", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", {"sources!": ["native/dgram_receiver.cc"]}]]
    }
  ]
}
