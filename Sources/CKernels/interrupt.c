#include <stdatomic.h>
#include "ckernels.h"

// The process's Ctrl-C flag. A signal handler may only touch lock-free atomics, so the flag
// lives here, in C11 atomics, rather than in a Swift global.
static atomic_int interrupt_flag = 0;

void npsh_interrupt_request(void) { atomic_store_explicit(&interrupt_flag, 1, memory_order_relaxed); }
void npsh_interrupt_clear(void) { atomic_store_explicit(&interrupt_flag, 0, memory_order_relaxed); }
int npsh_interrupt_pending(void) { return atomic_load_explicit(&interrupt_flag, memory_order_relaxed); }
