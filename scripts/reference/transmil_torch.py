#!/usr/bin/env python3
"""Independent PyTorch TransMIL on the feature bags `replicate transmil` caches.

Not a test dependency: a reference that says whether TransMIL, as the official model file builds
it (szc19990412/TransMIL `models/TransMIL.py`, with the `nystrom-attention` package), learns a
slide task of the project's bags, so that a failure of `replicate transmil` can be put on the
benchmark or on the engine. Variants change only the attention of the two layers:

- `nystrom` (official): NystromAttention(dim, dim_head=dim/8, heads 8, landmarks, 6 pinv
  iterations, residual value convolution on or off, dropout 0.1);
- `exact`: the same parameters (`to_qkv` without bias, `to_out` + dropout 0.1) with full softmax
  attention, as `replicate transmil --set attention=exact`; `--qkv-bias` gives `to_qkv` a bias;
- `mha`: torch's nn.MultiheadAttention (8 heads, q/k/v biases, dropout 0.1 on the weights).

Training: batch 1, cross-entropy, gradient accumulation 2, torch's RAdam at lr 2e-4 with weight
decay 1e-5 on every parameter (the official TransMIL ships its own RAdam; `--lookahead` adds
Lookahead(alpha 0.5, k 6) as the official `train.py`). Every epoch prints the training loss and
AUC, the validation loss and AUC and the test AUC; the last line names the epoch of least
validation loss and its test AUC (the official early-stopping choice).

    pip install torch nystrom-attention
    replicate transmil --profile ci --seed 0            # caches the bags under .cache/bags/
    python3 scripts/reference/transmil_torch.py .cache/bags/synthetic-slides-<hash> --attention exact
"""
import argparse
import csv
import glob
import json
import math
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_bag(path):
    """The `features` tensor of one replicate-bag-v1 safetensors file."""
    raw = open(path, "rb").read()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    entry = header["features"]
    start, end = entry["data_offsets"]
    return np.frombuffer(raw[8 + size + start:8 + size + end], dtype=np.float32).reshape(entry["shape"])


def load(folder, task):
    labels = {}
    for row in csv.DictReader(open(os.path.join(folder, "slides.csv"))):
        labels[row["slide_id"]] = int(row["relational_label"] if task == "relational" else row["label"])
    splits = {}
    for split in ("train", "val", "test"):
        files = sorted(glob.glob(os.path.join(folder, f"{split}_*.safetensors")))
        splits[split] = [(torch.tensor(read_bag(f)), labels[os.path.basename(f)[:-len(".safetensors")]]) for f in files]
    return splits


class ExactAttention(nn.Module):
    """Softmax attention with NystromAttention's parameters (no q/k/v bias, output dropout)."""

    def __init__(self, dim, heads=8, dropout=0.1, bias=False):
        super().__init__()
        self.heads = heads
        self.to_qkv = nn.Linear(dim, 3 * dim, bias=bias)
        self.to_out = nn.Sequential(nn.Linear(dim, dim), nn.Dropout(dropout))

    def forward(self, x):
        b, n, d = x.shape
        e = d // self.heads
        q, k, v = self.to_qkv(x).view(b, n, 3, self.heads, e).permute(2, 0, 3, 1, 4)
        weights = torch.softmax((q * e ** -0.5) @ k.transpose(-1, -2), dim=-1)
        return self.to_out((weights @ v).transpose(1, 2).reshape(b, n, d))


class TorchMHA(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, 8, dropout=0.1, batch_first=True)

    def forward(self, x):
        return self.attention(x, x, x, need_weights=False)[0]


class TransLayer(nn.Module):
    def __init__(self, dim, args):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        if args.attention == "nystrom":
            from nystrom_attention import NystromAttention

            self.attn = NystromAttention(
                dim=dim, dim_head=dim // 8, heads=8, num_landmarks=args.landmarks or dim // 2, pinv_iterations=6,
                residual=args.residual, dropout=0.1)
        elif args.attention == "exact":
            self.attn = ExactAttention(dim, bias=args.qkv_bias)
        else:
            self.attn = TorchMHA(dim)

    def forward(self, x):
        return x + self.attn(self.norm(x))


class PPEG(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.proj = nn.Conv2d(dim, dim, 7, 1, 3, groups=dim)
        self.proj1 = nn.Conv2d(dim, dim, 5, 1, 2, groups=dim)
        self.proj2 = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)

    def forward(self, x, side):
        b, _, c = x.shape
        grid = x[:, 1:].transpose(1, 2).reshape(b, c, side, side)
        mixed = self.proj(grid) + grid + self.proj1(grid) + self.proj2(grid)
        return torch.cat([x[:, :1], mixed.flatten(2).transpose(1, 2)], dim=1)


class TransMIL(nn.Module):
    def __init__(self, inputs, dim, args):
        super().__init__()
        self.pos_layer = PPEG(dim)
        self._fc1 = nn.Sequential(nn.Linear(inputs, dim), nn.ReLU())
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
        self.layer1 = TransLayer(dim, args)
        self.layer2 = TransLayer(dim, args)
        self.norm = nn.LayerNorm(dim)
        self._fc2 = nn.Linear(dim, 2)

    def forward(self, x):
        h = self._fc1(x)
        n = h.shape[1]
        side = math.ceil(math.sqrt(n))
        h = torch.cat([h, h[:, :side * side - n]], dim=1)
        h = torch.cat([self.cls_token.expand(h.shape[0], -1, -1), h], dim=1)
        h = self.pos_layer(self.layer1(h), side)
        return self._fc2(self.norm(self.layer2(h))[:, 0])


def auc(scores, labels):
    s, y = np.asarray(scores), np.asarray(labels)
    pos, neg = s[y == 1], s[y == 0]
    return ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (len(pos) * len(neg))


def evaluate(model, data):
    model.eval()
    scores, loss = [], 0.0
    with torch.no_grad():
        for x, y in data:
            logits = model(x[None])
            loss += F.cross_entropy(logits, torch.tensor([y])).item()
            scores.append(torch.softmax(logits, -1)[0, 1].item())
    model.train()
    return loss / len(data), auc(scores, [y for _, y in data])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bags", help="a bag folder of the cache (bags.csv, slides.csv, <split>_<i>.safetensors)")
    parser.add_argument("--task", choices=["relational", "tumour"], default="relational")
    parser.add_argument("--attention", choices=["nystrom", "exact", "mha"], default="nystrom")
    parser.add_argument("--landmarks", type=int, default=0, help="Nyström landmarks (0: dim/2, official)")
    parser.add_argument("--residual", type=int, default=1, help="Nyström value convolution (1: official)")
    parser.add_argument("--qkv-bias", action="store_true", help="exact: q/k/v projections with a bias, as torch's MHA")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--lookahead", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    data = load(args.bags, args.task)
    train = data["train"]
    print(f"{len(train)} train ({sum(y for _, y in train)} positive), {len(data['val'])} val, {len(data['test'])} test", flush=True)
    model = TransMIL(train[0][0].shape[1], args.dim, args)
    optimiser = torch.optim.RAdam(model.parameters(), lr=args.lr, weight_decay=1e-5)
    slow = [p.detach().clone() for p in model.parameters()]
    steps, best, started = 0, None, time.time()
    for epoch in range(args.epochs):
        total = 0.0
        for k, i in enumerate(np.random.permutation(len(train))):
            x, y = train[i]
            loss = F.cross_entropy(model(x[None]), torch.tensor([y]))
            (loss / 2).backward()
            total += loss.item()
            if k % 2 == 1:
                optimiser.step()
                optimiser.zero_grad()
                steps += 1
                if args.lookahead and steps % 6 == 0:
                    with torch.no_grad():
                        for p, q in zip(model.parameters(), slow):
                            q += 0.5 * (p - q)
                            p.copy_(q)
        _, train_auc = evaluate(model, train)
        val_loss, val_auc = evaluate(model, data["val"])
        _, test_auc = evaluate(model, data["test"])
        if best is None or val_loss < best[1]:
            best = (epoch, val_loss, test_auc)
        print(
            f"epoch {epoch} train_loss {total / len(train):.3f} train_auc {train_auc:.3f} val_loss {val_loss:.3f} "
            f"val_auc {val_auc:.3f} test_auc {test_auc:.3f} ({time.time() - started:.0f} s)", flush=True)
    print(f"least validation loss {best[1]:.3f} at epoch {best[0]}: test AUC {best[2]:.3f}")


if __name__ == "__main__":
    main()
