"""Golden fixtures for the Swift CLAM (CLAM_SB, CLAM_MB) and CLAM's .h5 feature bags, made with
the official code.

Model: `models/model_clam.py` of mahmoodlab/CLAM (commit in clam_fixtures.json), imported from a
checkout given by --clam (not committed here). One change, forced by the fixture size budget: the
literal `"small": [embed_dim, 512, 256]` of `size_dict` (in both CLAM_SB and CLAM_MB) is replaced
by `[embed_dim, 16, 8]` in the source text before it is executed, so the widths L = 16 and D = 8
(official 512 and 256) and `embed_dim = 32` (official 1024) keep the state dicts at about 4 KB.
Every other line runs as published. The official keys and shapes at the default size
(embed_dim 1024, "small", 2 classes) are recorded in clam_fixtures.json, and the Swift test checks
its default-size models against them.

Bags: written by CLAM's own `save_hdf5` (utils/file_utils.py, chunked and resizable datasets as
extract_features_fp.py writes them): `features` float32 [N, 32] and `coords` int32 [N, 2].

Writes, next to this script:
  clam_sb.safetensors       CLAM_SB(n_classes=2, dropout=0.25, embed_dim=32) state_dict
  clam_mb.safetensors       CLAM_MB(n_classes=3, dropout=0.25, embed_dim=32) state_dict
  clam_golden.safetensors   bag.<N> [N, 32]; <sb|mb>.logits.<N> [1, C], <sb|mb>.prob.<N> (Y_prob),
                            <sb|mb>.attention_raw.<N> (A_raw [K, N]), <sb|mb>.attention.<N>
                            (softmax over N of A_raw, the weights of M = A h)
  clam_h5_files/bag_<N>.h5  the same bags as CLAM feature files (coords = (x, y) of a 256-grid)
  clam_fixtures.json        versions, sizes, bag sizes, official keys and shapes at default size

All models in eval mode (dropout off), weights from PyTorch's default initialisation under
torch.manual_seed(SEED), forward exactly as CLAM's eval.py / create_heatmaps.py call it:
`logits, Y_prob, Y_hat, A_raw, _ = model(features)` under torch.no_grad().

Usage (torch CPU, safetensors, h5py, numpy; CLAM checked out anywhere):
  python3 make_clam_fixtures.py --clam /path/to/CLAM [--commit SHA when it is an export, not a clone]
"""

import argparse
import json
import os
import subprocess
import sys
import types
from importlib.metadata import version

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 1  # CLAM main.py's default --seed
IN_DIM = 32
SMALL = "[embed_dim, 16, 8]"
OFFICIAL_SMALL = '"small": [embed_dim, 512, 256]'
BAG_SIZES = [1, 7, 50]  # 50 > 2 * k_sample: the instance branch's top-k would run (training only)


def load_model_clam(clam_dir):
    """models/model_clam.py with the one size_dict literal patched, as a module."""
    path = os.path.join(clam_dir, "models", "model_clam.py")
    src = open(path).read()
    assert src.count(OFFICIAL_SMALL) == 2, "expected the size_dict literal in CLAM_SB and CLAM_MB"
    module = types.ModuleType("model_clam_small")
    module.__file__ = path
    exec(compile(src.replace(OFFICIAL_SMALL, '"small": ' + SMALL), path, "exec"), module.__dict__)
    official = types.ModuleType("model_clam")
    exec(compile(src, path, "exec"), official.__dict__)
    return module, official


def load_save_hdf5(clam_dir):
    sys.path.insert(0, clam_dir)
    try:
        from utils.file_utils import save_hdf5
    finally:
        sys.path.pop(0)
    return save_hdf5


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clam", required=True, help="a checkout of mahmoodlab/CLAM")
    parser.add_argument("--commit", help="the checkout's commit (default: git rev-parse HEAD in --clam)")
    args = parser.parse_args()
    small, official = load_model_clam(args.clam)
    save_hdf5 = load_save_hdf5(args.clam)
    commit = args.commit or subprocess.run(
        ["git", "-C", args.clam, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or "unknown"

    torch.manual_seed(SEED)
    models = {
        "sb": small.CLAM_SB(gate=True, size_arg="small", dropout=0.25, n_classes=2, embed_dim=IN_DIM).eval(),
        "mb": small.CLAM_MB(gate=True, size_arg="small", dropout=0.25, n_classes=3, embed_dim=IN_DIM).eval(),
    }
    golden = {}
    h5_dir = os.path.join(HERE, "clam_h5_files")
    os.makedirs(h5_dir, exist_ok=True)
    for old in os.listdir(h5_dir):
        os.remove(os.path.join(h5_dir, old))
    with torch.no_grad():
        for n in BAG_SIZES:
            bag = torch.randn(n, IN_DIM)
            golden[f"bag.{n}"] = bag
            coords = np.stack([np.arange(n) % 8 * 256, np.arange(n) // 8 * 256], axis=1).astype(np.int32)
            save_hdf5(os.path.join(h5_dir, f"bag_{n}.h5"),
                      {"features": bag.numpy().astype(np.float32), "coords": coords}, mode="w")
            for key, model in models.items():
                logits, y_prob, y_hat, a_raw, _ = model(bag)
                golden[f"{key}.logits.{n}"] = logits
                golden[f"{key}.prob.{n}"] = y_prob
                golden[f"{key}.attention_raw.{n}"] = a_raw
                golden[f"{key}.attention.{n}"] = F.softmax(a_raw, dim=1)
                assert torch.allclose(y_prob, F.softmax(logits, dim=1))

    def contiguous(d):
        return {k: v.detach().contiguous() for k, v in d.items()}

    save_file(contiguous(models["sb"].state_dict()), os.path.join(HERE, "clam_sb.safetensors"))
    save_file(contiguous(models["mb"].state_dict()), os.path.join(HERE, "clam_mb.safetensors"))
    save_file(contiguous(golden), os.path.join(HERE, "clam_golden.safetensors"))

    default_sb = official.CLAM_SB(n_classes=2)
    default_mb = official.CLAM_MB(n_classes=2)
    meta = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "safetensors": version("safetensors"),
        "h5py": h5py.__version__,
        "hdf5": h5py.version.hdf5_version,
        "seed": SEED,
        "source": f"mahmoodlab/CLAM models/model_clam.py, utils/file_utils.py @ {commit}",
        "size_dict_small": SMALL,
        "sb": {"embed_dim": IN_DIM, "L": 16, "D": 8, "n_classes": 2, "dropout": 0.25, "gate": True},
        "mb": {"embed_dim": IN_DIM, "L": 16, "D": 8, "n_classes": 3, "dropout": 0.25, "gate": True},
        "bag_sizes": BAG_SIZES,
        "official_keys_sb": [[k, list(v.shape)] for k, v in default_sb.state_dict().items()],
        "official_keys_mb": [[k, list(v.shape)] for k, v in default_mb.state_dict().items()],
    }
    with open(os.path.join(HERE, "clam_fixtures.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
