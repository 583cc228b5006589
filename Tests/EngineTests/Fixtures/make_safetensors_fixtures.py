#!/usr/bin/env python3
"""Makes the safetensors fixtures read by Tests/EngineTests/SafeTensorsTests.swift.

Every .safetensors file here is written by the official `safetensors` Python package
(`safetensors.numpy.save_file`, or `safetensors.serialize_file` for BF16, which numpy
cannot represent). `fixtures.json` records the package versions and, per file, the
tensors in data-offset order with their expected Float32 values as bit patterns
(JSON has no NaN or infinity), so the Swift reader is checked bit for bit.

`writer_exact.safetensors` is the reference writer's output for a small F32 example with
a single metadata key; the Swift writer must reproduce it byte for byte. (safetensors
0.8 writes `__metadata__` in hash-map order, so bytes are only reproducible with at most
one metadata key.) `writer_multi_metadata.safetensors` has several keys and is compared
after parsing the header.

Run from anywhere: python3 make_safetensors_fixtures.py   (needs numpy and safetensors)
"""

import json
import os
import platform
import struct

import numpy as np
import safetensors
from safetensors import TensorSpec, deserialize, serialize_file
from safetensors.numpy import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))


def f32_bits(values):
  """Float32 bit patterns of `values` (already float32), as plain ints."""
  return [int(b) for b in np.asarray(values, dtype=np.float32).reshape(-1).view(np.uint32)]


def header_of(path):
  with open(path, "rb") as f:
    raw = f.read()
  (n,) = struct.unpack("<Q", raw[:8])
  return n, json.loads(raw[8 : 8 + n])


def describe(path, expected):
  """Records a file: tensors in data-offset order with expected Float32 bit patterns."""
  n, header = header_of(path)
  names = [k for k in header if k != "__metadata__"]
  names.sort(key=lambda k: (header[k]["data_offsets"], k.encode()))
  tensors = []
  for name in names:
    info = header[name]
    tensors.append({
      "name": name,
      "dtype": info["dtype"],
      "shape": info["shape"],
      "data_offsets": info["data_offsets"],
      "f32_bits": f32_bits(expected[name]),
    })
  return {
    "header_length": n,
    "bytes": os.path.getsize(path),
    "metadata": header.get("__metadata__", {}),
    "tensors": tensors,
  }


def main():
  files = {}

  # F32: several shapes, including a scalar and an empty tensor.
  f32 = {
    "matrix": np.array([[1.0, -2.5, 3.25], [0.1, -0.0, 1e-40]], dtype=np.float32),
    "vector": np.array([np.finfo(np.float32).max, np.finfo(np.float32).tiny, np.inf], np.float32),
    "scalar": np.array(42.5, dtype=np.float32),
    "empty": np.zeros((0, 3), dtype=np.float32),
  }
  path = os.path.join(HERE, "f32.safetensors")
  save_file(f32, path, metadata={"format": "np"})
  files["f32.safetensors"] = describe(path, f32)

  # F16 from bit patterns: zeros, normals, max, subnormals, smallest normal, ±inf, NaNs.
  f16_bits = np.array(
    [0x0000, 0x8000, 0x3C00, 0xC100, 0x7BFF, 0xFBFF, 0x0001,
     0x03FF, 0x8001, 0x0400, 0x7C00, 0xFC00, 0x7E00, 0xFE01,
     0x2E66, 0x3555],
    dtype=np.uint16,
  )
  f16 = {"half": f16_bits.view(np.float16).reshape(2, 8)}
  path = os.path.join(HERE, "f16.safetensors")
  save_file(f16, path)
  files["f16.safetensors"] = describe(path, {"half": f16["half"].astype(np.float32)})

  # BF16: numpy has no bfloat16, so pass the raw bit patterns to the official serializer.
  bf16_bits = np.array(
    [0x0000, 0x8000, 0x3F80, 0xC020, 0x7F7F, 0x0001, 0x0080, 0x7F80, 0xFF80, 0x7FC0,
     0x3DCD, 0x4049],
    dtype=np.uint16,
  )
  path = os.path.join(HERE, "bf16.safetensors")
  spec = TensorSpec(dtype="bfloat16", shape=[3, 4], data_ptr=bf16_bits.ctypes.data,
                    data_len=bf16_bits.nbytes)
  serialize_file({"brain": spec}, path, metadata={"note": "bf16 via serialize_file"})
  bf16_as_f32 = (bf16_bits.astype(np.uint32) << 16).view(np.float32)
  with open(path, "rb") as f:
    (name, info), = deserialize(f.read())
  assert name == "brain" and info["dtype"] in ("BF16", "bfloat16"), info
  assert bytes(info["data"]) == bf16_bits.tobytes()
  files["bf16.safetensors"] = describe(path, {"brain": bf16_as_f32})

  # F64, rounded to Float32 (round to nearest even, overflow to infinity).
  f64 = {"double": np.array([[1.0, -1.0 / 3.0, 1e300], [-1e-300, 3.4028235677973366e38, np.pi]],
                            dtype=np.float64)}
  path = os.path.join(HERE, "f64.safetensors")
  save_file(f64, path)
  with np.errstate(over="ignore"):
    files["f64.safetensors"] = describe(path, {"double": f64["double"].astype(np.float32)})

  # I64 (BatchNorm's num_batches_tracked is a scalar I64) and I32.
  ints = {
    "num_batches_tracked": np.array(12345, dtype=np.int64),
    "big": np.array([-(2**63), 2**63 - 1, 2**24 + 1, -7], dtype=np.int64),
    "i32": np.array([[-(2**31), 2**31 - 1], [0, 3]], dtype=np.int32),
  }
  path = os.path.join(HERE, "ints.safetensors")
  save_file(ints, path)
  files["ints.safetensors"] = describe(path, {k: v.astype(np.float32) for k, v in ints.items()})

  # Mixed dtypes: the reference writer orders by dtype alignment, then name.
  mixed = {
    "a_half": np.array([1.5, -2.0], dtype=np.float16),
    "b_double": np.array([0.25], dtype=np.float64),
    "c_float": np.array([[7.0]], dtype=np.float32),
    "d_long": np.array([-3], dtype=np.int64),
  }
  path = os.path.join(HERE, "mixed.safetensors")
  save_file(mixed, path)
  files["mixed.safetensors"] = describe(path, {k: v.astype(np.float32) for k, v in mixed.items()})

  # Complex64: a dtype the Swift reader does not support.
  path = os.path.join(HERE, "c64.safetensors")
  save_file({"z": np.array([1 + 2j], dtype=np.complex64)}, path)

  # Exact bytes the Swift writer must produce (F32 only, sorted names, one metadata key).
  exact = {
    "weight": np.arange(6, dtype=np.float32).reshape(2, 3) / 4,
    "bias": np.array([-1.0, 0.5], dtype=np.float32),
    "scalar": np.array(3.0, dtype=np.float32),
    "empty": np.zeros((0, 3), dtype=np.float32),
    'odd "name"/\u00e9': np.array([1e-3], dtype=np.float32),
  }
  exact_metadata = {"format": 'pt "quoted" \\ slash / tab\t nl\n ctl\u0001 \u00e9'}
  path = os.path.join(HERE, "writer_exact.safetensors")
  save_file(exact, path, metadata=exact_metadata)
  files["writer_exact.safetensors"] = describe(path, exact)

  multi = {"x": np.array([1.0, 2.0], dtype=np.float32), "w": np.ones((1, 2), np.float32)}
  multi_metadata = {"zeta": "1", "alpha": "2", "mid": "3", "format": "pt"}
  path = os.path.join(HERE, "writer_multi_metadata.safetensors")
  save_file(multi, path, metadata=multi_metadata)
  files["writer_multi_metadata.safetensors"] = describe(path, multi)

  # Sanity: the official reader loads what we wrote.
  for name in files:
    if name != "bf16.safetensors":
      load_file(os.path.join(HERE, name))

  out = {
    "generator": "make_safetensors_fixtures.py",
    "versions": {
      "python": platform.python_version(),
      "numpy": np.__version__,
      "safetensors": safetensors.__version__,
    },
    "files": files,
  }
  with open(os.path.join(HERE, "fixtures.json"), "w") as f:
    json.dump(out, f, indent=1, ensure_ascii=True)
    f.write("\n")
  print(json.dumps(out["versions"]))


if __name__ == "__main__":
  main()
