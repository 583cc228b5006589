"""Golden outputs of the official TransMIL at its full size (width 512, 1024 input features,
8 heads x 64, 256 landmarks), on weights and bags that need not be committed.

At width 512 the official state dict holds 2.6 M floats (10 MB), too large for a committed
fixture, so every tensor is drawn from a counter-based generator that the Swift test repeats
exactly (`MILGoldenTests.FixtureValues`):

  h      = FNV-1a 64 of the tensor's name (UTF-8)
  z_i    = splitmix64 finaliser of h + (i + 1) * 0x9E3779B97F4A7C15   (mod 2^64), i = 0, 1, ...
  u_i    = (z_i >> 40) / 2^23 - 1                                       in [-1, 1), 24 bits
  value  = float32(offset + scale * u_i)                               computed in float64

`scale` is a power of two (about 1/sqrt(fan-in) for weights) and `offset` is 1 for LayerNorm
weights, so float64 holds `offset + scale * u` exactly and both sides round it to float32 the
same way. The per-tensor scale and offset, the bag sizes and the official outputs are written to
mil_transmil512.json; the model classes are the official ones reproduced in make_mil_fixtures.py
(imported from there, at dim 512 and in_dim 1024, i.e. the official literals).

Bags: N = 1 (no padding), 300 (325 tokens padded to 512, 2 rows per landmark) and 1000 (1025
tokens padded to 1280, 5 rows per landmark), so the 256-landmark segment means are exercised.
Outputs for nystrom-attention 0.0.14 (`out[:, -n:]`) and 0.0.9 (`out[:, :n]`).

Usage:
  pip install nystrom-attention==0.0.14 einops torch numpy
  pip install --no-deps --target /tmp/nys009 nystrom-attention==0.0.9
  python3 make_transmil512_fixture.py --nystrom-0.0.9 /tmp/nys009
"""

import argparse
import json
import math
import os
from importlib.metadata import version

import numpy as np
import torch

import nystrom_attention
from make_mil_fixtures import load_nystrom_009, make_transmil

HERE = os.path.dirname(os.path.abspath(__file__))
DIM, IN_DIM, CLASSES = 512, 1024, 2
BAG_SIZES = [1, 300, 1000]
MASK64 = (1 << 64) - 1


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & MASK64
    return h


def fixture_values(name, count, scale, offset):
    with np.errstate(over="ignore"):
        i = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(fnv1a64(name)) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float64) / 2.0**23 - 1.0
    return (offset + scale * u).astype(np.float32)


def scale_and_offset(name, shape):
    """A power-of-two scale near PyTorch's default init range; LayerNorm weights around 1."""
    if name.endswith("norm.weight"):
        return 2.0**-3, 1.0
    if name == "cls_token":
        return 1.0, 0.0
    if name.endswith("bias"):
        return 2.0**-4, 0.0
    fan_in = int(np.prod(shape[1:]))
    return 2.0 ** round(math.log2(1.0 / math.sqrt(fan_in))), 0.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nystrom-0.0.9", dest="nys009", required=True)
    args = parser.parse_args()
    assert version("nystrom-attention") == "0.0.14", version("nystrom-attention")
    current = make_transmil(nystrom_attention.NystromAttention, DIM, IN_DIM)(n_classes=CLASSES).eval()
    legacy = make_transmil(load_nystrom_009(args.nys009), DIM, IN_DIM)(n_classes=CLASSES).eval()

    tensors = {}
    state = {}
    for name, p in current.state_dict().items():
        scale, offset = scale_and_offset(name, list(p.shape))
        state[name] = torch.from_numpy(fixture_values(name, p.numel(), scale, offset)).reshape(p.shape)
        tensors[name] = {"shape": list(p.shape), "scale": scale, "offset": offset}
    current.load_state_dict(state, strict=True)
    legacy.load_state_dict(state, strict=True)

    outputs = {}
    torch.set_num_threads(1)
    with torch.no_grad():
        for n in BAG_SIZES:
            bag = torch.from_numpy(fixture_values(f"bag.{n}", n * IN_DIM, 1.0, 0.0)).reshape(1, n, IN_DIM)
            for key, model in (("transmil", current), ("transmil_legacy", legacy)):
                out = model(data=bag)
                outputs[f"{key}.logits.{n}"] = [float(v) for v in out["logits"].flatten()]
                outputs[f"{key}.prob.{n}"] = [float(v) for v in out["Y_prob"].flatten()]
    assert outputs["transmil.logits.1000"] != outputs["transmil_legacy.logits.1000"]

    meta = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "nystrom_attention": version("nystrom-attention"),
        "nystrom_attention_legacy": "0.0.9",
        "einops": version("einops"),
        "source": "szc19990412/TransMIL models/TransMIL.py @ 0db153547b3acbb89459c8cf47fd0fc064f5dfd1",
        "generator": "fnv1a64(name) + (i+1)*0x9E3779B97F4A7C15, splitmix64 finaliser, u = (z>>40)/2^23 - 1, "
                     "value = float32(offset + scale*u); bags: name bag.<N>, scale 1, shape [N, 1024]",
        "dim": DIM, "in_dim": IN_DIM, "n_classes": CLASSES,
        "bag_sizes": BAG_SIZES,
        "tensors": tensors,
        "outputs": outputs,
    }
    with open(os.path.join(HERE, "mil_transmil512.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
