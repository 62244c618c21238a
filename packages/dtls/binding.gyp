{
  # Built against Node's own headers (npm's `nodedir`), whose include/node also carries the OpenSSL
  # headers of the OpenSSL that Node links statically and exports: no libssl-dev, no extra link step.
  "targets": [
    {
      "target_name": "eim_dtls",
      "sources": ["src/dtls.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"]
    }
  ]
}
