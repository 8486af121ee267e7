{
  "targets": [
    {
      "target_name": "tether_spawn",
      "sources": ["native/spawn.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
