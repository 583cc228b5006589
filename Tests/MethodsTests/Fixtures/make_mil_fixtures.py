"""Golden fixtures for the Swift TransMIL and ABMIL, made with the official code.

TransMIL: the classes of szc19990412/TransMIL `models/TransMIL.py` (commit 0db1535), reproduced
line by line below with the attention imported from PyPI `nystrom-attention` -- 0.0.14 (current
slicing `out[:, -n:]`) and 0.0.9 (the version the authors pinned, slicing `out[:, :n]`). Two
changes, both forced: `.cuda()` is dropped (CPU), and the literals 512 (model width) and 1024
(input features) become constructor arguments `dim` and `in_dim` -- TransLayer and PPEG already
take `dim` in the official file -- because at width 512 the two Nystrom layers alone hold 2.1 M
floats (8 MB), far over the size budget for committed fixtures. The official keys and shapes at
512/1024 are recorded in mil_fixtures.json (`transmil_official_keys`), and the Swift test
checks its default-size model against them.

ABMIL: the `GatedAttention` class of AMLab-Amsterdam/AttentionDeepMIL `model.py` (commit
b121d5a, 2023), official sizes M = 500, L = 128, K = 1, with `feature_extractor_part1` (a LeNet
on 28x28 MNIST digits) removed: bags are precomputed instance features, so
`feature_extractor_part2.0` takes `in_dim` features instead of 50*4*4.

Writes, next to this script:
  mil_transmil.safetensors  TransMIL(n_classes=3, dim=64, in_dim=32) state_dict (official names)
  mil_abmil.safetensors     GatedAttention(in_dim=32) state_dict (official names)
  mil_golden.safetensors    bag.<N> [N, 32] features; transmil.logits.<N>, transmil.prob.<N>
                            (nystrom-attention 0.0.14), transmil_legacy.logits.<N>,
                            transmil_legacy.prob.<N> (0.0.9), abmil.prob.<N> (official Y_prob),
                            abmil.logit.<N> (classifier input to the sigmoid), abmil.attention.<N>
  mil_fixtures.json         versions, sizes, bag sizes, official TransMIL keys and shapes

All models in eval mode (dropout off), weights from PyTorch's default initialisation under
torch.manual_seed(SEED).

Usage (0.0.14 installed normally; 0.0.9 into its own folder so both can be imported):
  pip install --user nystrom-attention==0.0.14 einops safetensors
  pip install --no-deps --target /tmp/nys009 nystrom-attention==0.0.9
  python3 make_mil_fixtures.py --nystrom-0.0.9 /tmp/nys009
"""

import argparse
import importlib.util
import json
import os
from importlib.metadata import version

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

import nystrom_attention

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 2021  # TransMIL's config seed
IN_DIM = 32
DIM = 64
CLASSES = 3
# 1: no padding; 7: grid 3x3 (2 copied rows), sequence 10 < 32 landmarks; 30: 6x6 grid, sequence
# 37 padded to 64; 50: 8x8 grid, 65 -> 96; 300 (> 256): 18x18 grid, 325 -> 352, 11 rows per landmark.
BAG_SIZES = [1, 7, 30, 50, 300]


def load_nystrom_009(folder):
    path = os.path.join(folder, "nystrom_attention", "nystrom_attention.py")
    spec = importlib.util.spec_from_file_location("nystrom_attention_009", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    src = open(path).read()
    assert "out = out[:, :n]" in src, "expected nystrom-attention 0.0.9 (front output slice)"
    return module.NystromAttention


# ---- TransMIL, models/TransMIL.py (512 -> dim, 1024 -> in_dim, no .cuda()) -----------------------
def make_transmil(NystromAttention, dim, in_dim):
    class TransLayer(nn.Module):

        def __init__(self, norm_layer=nn.LayerNorm, dim=512):
            super().__init__()
            self.norm = norm_layer(dim)
            self.attn = NystromAttention(
                dim = dim,
                dim_head = dim//8,
                heads = 8,
                num_landmarks = dim//2,    # number of landmarks
                pinv_iterations = 6,    # number of moore-penrose iterations for approximating pinverse. 6 was recommended by the paper
                residual = True,         # whether to do an extra residual with the value or not. supposedly faster convergence if turned on
                dropout=0.1
            )

        def forward(self, x):
            x = x + self.attn(self.norm(x))

            return x

    class PPEG(nn.Module):
        def __init__(self, dim=512):
            super(PPEG, self).__init__()
            self.proj = nn.Conv2d(dim, dim, 7, 1, 7//2, groups=dim)
            self.proj1 = nn.Conv2d(dim, dim, 5, 1, 5//2, groups=dim)
            self.proj2 = nn.Conv2d(dim, dim, 3, 1, 3//2, groups=dim)

        def forward(self, x, H, W):
            B, _, C = x.shape
            cls_token, feat_token = x[:, 0], x[:, 1:]
            cnn_feat = feat_token.transpose(1, 2).view(B, C, H, W)
            x = self.proj(cnn_feat)+cnn_feat+self.proj1(cnn_feat)+self.proj2(cnn_feat)
            x = x.flatten(2).transpose(1, 2)
            x = torch.cat((cls_token.unsqueeze(1), x), dim=1)
            return x

    class TransMIL(nn.Module):
        def __init__(self, n_classes):
            super(TransMIL, self).__init__()
            self.pos_layer = PPEG(dim=dim)
            self._fc1 = nn.Sequential(nn.Linear(in_dim, dim), nn.ReLU())
            self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
            self.n_classes = n_classes
            self.layer1 = TransLayer(dim=dim)
            self.layer2 = TransLayer(dim=dim)
            self.norm = nn.LayerNorm(dim)
            self._fc2 = nn.Linear(dim, self.n_classes)

        def forward(self, **kwargs):

            h = kwargs['data'].float() #[B, n, 1024]

            h = self._fc1(h) #[B, n, 512]

            #---->pad
            H = h.shape[1]
            _H, _W = int(np.ceil(np.sqrt(H))), int(np.ceil(np.sqrt(H)))
            add_length = _H * _W - H
            h = torch.cat([h, h[:,:add_length,:]],dim = 1) #[B, N, 512]

            #---->cls_token
            B = h.shape[0]
            cls_tokens = self.cls_token.expand(B, -1, -1)
            h = torch.cat((cls_tokens, h), dim=1)

            #---->Translayer x1
            h = self.layer1(h) #[B, N, 512]

            #---->PPEG
            h = self.pos_layer(h, _H, _W) #[B, N, 512]

            #---->Translayer x2
            h = self.layer2(h) #[B, N, 512]

            #---->cls_token
            h = self.norm(h)[:,0]

            #---->predict
            logits = self._fc2(h) #[B, n_classes]
            Y_hat = torch.argmax(logits, dim=1)
            Y_prob = F.softmax(logits, dim = 1)
            results_dict = {'logits': logits, 'Y_prob': Y_prob, 'Y_hat': Y_hat}
            return results_dict

    return TransMIL


# ---- ABMIL, model.py GatedAttention (feature_extractor_part1 removed) -----------------------------
class GatedAttention(nn.Module):
    def __init__(self, in_dim):
        super(GatedAttention, self).__init__()
        self.M = 500
        self.L = 128
        self.ATTENTION_BRANCHES = 1

        self.feature_extractor_part2 = nn.Sequential(
            nn.Linear(in_dim, self.M),
            nn.ReLU(),
        )

        self.attention_V = nn.Sequential(
            nn.Linear(self.M, self.L), # matrix V
            nn.Tanh()
        )

        self.attention_U = nn.Sequential(
            nn.Linear(self.M, self.L), # matrix U
            nn.Sigmoid()
        )

        self.attention_w = nn.Linear(self.L, self.ATTENTION_BRANCHES) # matrix w (or vector w if self.ATTENTION_BRANCHES==1)

        self.classifier = nn.Sequential(
            nn.Linear(self.M*self.ATTENTION_BRANCHES, 1),
            nn.Sigmoid()
        )

    def forward(self, x):
        x = x.squeeze(0)

        H = x  # precomputed features replace feature_extractor_part1 and the view
        H = self.feature_extractor_part2(H)  # KxM

        A_V = self.attention_V(H)  # KxL
        A_U = self.attention_U(H)  # KxL
        A = self.attention_w(A_V * A_U) # element wise multiplication # KxATTENTION_BRANCHES
        A = torch.transpose(A, 1, 0)  # ATTENTION_BRANCHESxK
        A = F.softmax(A, dim=1)  # softmax over K

        Z = torch.mm(A, H)  # ATTENTION_BRANCHESxM

        Y_prob = self.classifier(Z)
        Y_hat = torch.ge(Y_prob, 0.5).float()

        return Y_prob, Y_hat, A, Z  # Z added so the fixture can hold the logit classifier[0](Z)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nystrom-0.0.9", dest="nys009", required=True,
                        help="folder holding nystrom-attention 0.0.9 (pip install --target)")
    args = parser.parse_args()
    assert version("nystrom-attention") == "0.0.14", version("nystrom-attention")
    NystromCurrent = nystrom_attention.NystromAttention
    NystromLegacy = load_nystrom_009(args.nys009)

    torch.manual_seed(SEED)
    transmil = make_transmil(NystromCurrent, DIM, IN_DIM)(n_classes=CLASSES).eval()
    legacy = make_transmil(NystromLegacy, DIM, IN_DIM)(n_classes=CLASSES).eval()
    legacy.load_state_dict(transmil.state_dict(), strict=True)
    abmil = GatedAttention(IN_DIM).eval()

    golden = {}
    with torch.no_grad():
        for n in BAG_SIZES:
            bag = torch.randn(n, IN_DIM)
            golden[f"bag.{n}"] = bag
            for key, model in (("transmil", transmil), ("transmil_legacy", legacy)):
                out = model(data=bag.unsqueeze(0))
                golden[f"{key}.logits.{n}"] = out["logits"]
                golden[f"{key}.prob.{n}"] = out["Y_prob"]
            y_prob, _, a, z = abmil(bag.unsqueeze(0))
            golden[f"abmil.prob.{n}"] = y_prob
            golden[f"abmil.logit.{n}"] = abmil.classifier[0](z)
            golden[f"abmil.attention.{n}"] = a
    # The legacy slice must change the outputs wherever the attention input is padded.
    assert not torch.allclose(golden["transmil.logits.300"], golden["transmil_legacy.logits.300"])

    def contiguous(d):
        return {k: v.detach().contiguous() for k, v in d.items()}

    save_file(contiguous(transmil.state_dict()), os.path.join(HERE, "mil_transmil.safetensors"))
    save_file(contiguous(abmil.state_dict()), os.path.join(HERE, "mil_abmil.safetensors"))
    save_file(contiguous(golden), os.path.join(HERE, "mil_golden.safetensors"))

    official = make_transmil(NystromCurrent, 512, 1024)(n_classes=2)
    meta = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "nystrom_attention": version("nystrom-attention"),
        "nystrom_attention_legacy": "0.0.9",
        "einops": version("einops"),
        "safetensors": version("safetensors"),
        "seed": SEED,
        "sources": {
            "transmil": "szc19990412/TransMIL models/TransMIL.py @ 0db153547b3acbb89459c8cf47fd0fc064f5dfd1",
            "abmil": "AMLab-Amsterdam/AttentionDeepMIL model.py GatedAttention @ b121d5a",
        },
        "transmil": {"dim": DIM, "in_dim": IN_DIM, "n_classes": CLASSES},
        "abmil": {"in_dim": IN_DIM, "M": 500, "L": 128, "ATTENTION_BRANCHES": 1},
        "bag_sizes": BAG_SIZES,
        "transmil_official_keys": [[k, list(v.shape)] for k, v in official.state_dict().items()],
    }
    with open(os.path.join(HERE, "mil_fixtures.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
