#include <stddef.h>
#include <stdint.h>

typedef int (*npsh_fuzz_callback)(const uint8_t *data, size_t size);

/// Runs libFuzzer's driver when the binary was built with -sanitize=fuzzer; returns -1
/// otherwise (the weak symbol is then absent).
int npsh_run_fuzzer(int *argc, char ***argv, npsh_fuzz_callback callback);
