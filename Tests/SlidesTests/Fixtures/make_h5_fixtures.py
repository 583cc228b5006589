"""Small CLAM-style .h5 feature files (h5py) for the Swift HDF5 bag reader.

CLAM's extract_features_fp.py writes `features` [N, D] (float32) and `coords` [N, 2] (int32) as
chunked, resizable datasets; other tools write other float widths, contiguous layouts or int64
coordinates. The values are exact in every width used: feature (i, j) = i + j / 4 - 1, coordinate
(i) = (256 i, 512 i).

Writes, next to this script, into h5/:
  f32_chunked.h5     features float32 [5, 3] chunked (32, 3), maxshape (None, 3); coords int32
  f16.h5             features float16 [5, 3] contiguous; coords int64
  f64.h5             features float64 [5, 3] contiguous; coords float64
  f32_gzip.h5        features float32 [5, 3] gzip-compressed chunks (2, 3); coords uint16
  no_features.h5     coords only
  bad_coords.h5      features float32 [5, 3]; coords int32 [5, 3]
  features_1d.h5     features float32 [5]; coords int32 [5, 2]
  int_features.h5    features int32 [5, 3]; coords int32 [5, 2]

Usage: pip install h5py numpy; python3 make_h5_fixtures.py
"""

import os

import h5py
import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "h5")
N, D = 5, 3


def features(dtype):
    i, j = np.meshgrid(np.arange(N), np.arange(D), indexing="ij")
    return (i + j / 4 - 1).astype(dtype)


def coords(dtype, width=2):
    c = np.stack([256 * np.arange(N), 512 * np.arange(N), np.zeros(N)][:width], axis=1)
    return c.astype(dtype)


def write(name, **datasets):
    with h5py.File(os.path.join(HERE, name), "w") as f:
        for key, value in datasets.items():
            if isinstance(value, tuple):  # chunked, resizable as CLAM's save_hdf5
                value, chunk = value
                f.create_dataset(key, data=value, chunks=(chunk,) + value.shape[1:],
                                 maxshape=(None,) + value.shape[1:])
            else:
                f.create_dataset(key, data=value)


def main():
    os.makedirs(HERE, exist_ok=True)
    write("f32_chunked.h5", features=(features(np.float32), 32), coords=(coords(np.int32), 32))
    write("f16.h5", features=features(np.float16), coords=coords(np.int64))
    write("f64.h5", features=features(np.float64), coords=coords(np.float64))
    with h5py.File(os.path.join(HERE, "f32_gzip.h5"), "w") as f:
        f.create_dataset("features", data=features(np.float32), chunks=(2, D), compression="gzip")
        f.create_dataset("coords", data=coords(np.uint16))
    write("no_features.h5", coords=coords(np.int32))
    write("bad_coords.h5", features=features(np.float32), coords=coords(np.int32, width=3))
    write("features_1d.h5", features=features(np.float32)[:, 0].copy(), coords=coords(np.int32))
    write("int_features.h5", features=features(np.float32).astype(np.int32), coords=coords(np.int32))


if __name__ == "__main__":
    main()
