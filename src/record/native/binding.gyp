# The optional CRC-32 addon (crc32-vpclmul.c). Built by build.mjs at install;
# where the build fails, src/record/crc32.ts falls back to @node-rs/crc32.
{
  "targets": [
    {
      "target_name": "nativelog_crc32",
      "sources": ["crc32-vpclmul.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O2"] }
    }
  ]
}
