#include <cblas.h>
/* OpenBLAS extensions, declared in cblas.h of 0.3.x: openblas_get_config, openblas_set_num_threads. */
