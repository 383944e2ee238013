/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz/replay_main.c: runs a libFuzzer target over its seed corpus once,
 * without libFuzzer, so that `make test` replays every corpus (regression)
 * with gcc and the sanitizer build. Built as
 * build/tests/unit/fuzz/<target>_replay with FUZZ_TARGET="<target>"; reads
 * tests/fuzz/corpus/<target>/ from the repository root (where the test
 * runner starts every test). Exits 0 when every input ran, 1 if the corpus
 * is missing or empty (a target without seeds tests nothing).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));

static int run_file(const char* path)
{
  FILE* f = fopen(path, "rb");
  uint8_t* buf;
  long len;

  if (!f)
    return -1;
  if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) < 0) {
    fclose(f);
    return -1;
  }
  /* An exact-size heap copy, so ASan sees any read past the input. */
  buf = malloc(len ? (size_t)len : 1);
  if (!buf || (len && fread(buf, 1, (size_t)len, f) != (size_t)len)) {
    free(buf);
    fclose(f);
    return -1;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(buf, (size_t)len);
  free(buf);
  return 0;
}

int main(int argc, char** argv)
{
  const char* dir = "tests/fuzz/corpus/" FUZZ_TARGET;
  struct dirent* e;
  int n = 0;
  DIR* d;

  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize(&argc, &argv);
  d = opendir(dir);
  if (!d) {
    fprintf(stderr, "no corpus at %s\n", dir);
    return 1;
  }
  while ((e = readdir(d))) {
    char path[512];
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    if (run_file(path) < 0) {
      fprintf(stderr, "cannot read %s\n", path);
      closedir(d);
      return 1;
    }
    n++;
  }
  closedir(d);
  printf("%s: %d corpus inputs replayed\n", FUZZ_TARGET, n);
  return n > 0 ? 0 : 1;
}
