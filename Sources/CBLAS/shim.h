#include <cblas.h>
/* OpenBLAS extensions, declared in cblas.h of 0.3.x: openblas_get_config, openblas_set_num_threads. */
/* glibc's mallopt: the engine keeps freed tensor buffers in the heap (see EngineMemory). */
#include <malloc.h>
