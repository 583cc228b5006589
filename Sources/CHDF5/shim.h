// HDF5 (libhdf5-dev) for reading CLAM's .h5 feature bags; imported only by the Slides module.
// The library's constants are macros that call H5open() or cast, which Swift does not import:
// the inline functions below hand them over as values.
#include <hdf5.h>

static inline hid_t chdf5_default(void) { return H5P_DEFAULT; }
static inline hid_t chdf5_all(void) { return H5S_ALL; }
static inline unsigned chdf5_read_only(void) { return H5F_ACC_RDONLY; }
static inline hid_t chdf5_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t chdf5_native_double(void) { return H5T_NATIVE_DOUBLE; }
/// Turns off HDF5's automatic error-stack printing to stderr (errors become return codes only).
static inline void chdf5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
