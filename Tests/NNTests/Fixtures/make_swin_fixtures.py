#!/usr/bin/env python3
"""Golden fixtures for Tests/NNTests/SwinTransformerTests.swift (and the ViT block test).

Reference: timm 0.5.4, the timm release CTransPath (Xiyue-Wang/TransPath, `ctran.py`) is built
on, imported as is (not transcribed). Made with Python 3.11.7, torch 2.13.0+cpu, timm 0.5.4,
safetensors 0.8.0 (the versions are also written to swin_fixtures.json). Run from this folder:

    pip install --no-deps --target /tmp/timm054 timm==0.5.4
    PYTHONPATH=/tmp/timm054 python3 make_swin_fixtures.py

timm imports torchvision at import time (data transforms, datasets) but the model code used here
never calls it. The PyPI torchvision wheel for torch 2.13 fails to import on a CPU-only machine
(`operator torchvision::nms does not exist`); when it does, a stand-in module is installed for
`torchvision.*` before importing timm, which only lets `import timm` succeed.

CTransPath's patch embedding is `ConvStem` (`ctran.py`), passed to a *modified* timm 0.5.4 as
`embed_layer`; stock timm 0.5.4 swallows that keyword, so below the stem is written out from its
description (2 x [Conv3x3 stride 2 no bias, BN, ReLU] with 3 -> d/8 -> d/4 channels, Conv1x1
d/4 -> d with bias, flatten, LayerNorm(d); `nn.Sequential` indices 0..6) and set as
`model.patch_embed`, which is what the modified timm does.

Writes (weights random with a fixed torch seed, every tensor float32 except int64 buffers):
  vit_block.safetensors           timm `Block` (dim 32, 4 heads, LayerNorm eps 1e-6), input [2, 10, 32]
  swin_blocks.safetensors         timm `BasicLayer` without downsample: an unshifted and a shifted
                                  block, dim 16, 2 heads, window 4, map 8 x 12 (non-square)
  swin_patch_merging.safetensors  timm `PatchMerging`, dim 8, map 6 x 8
  swin_micro.safetensors          timm `SwinTransformer`, 48^2 input, embed 12, depths 2-2-2,
                                  heads 2-3-4, window 3 (stage 3 shrinks to one unshifted window), 5 classes
  swin_convstem.safetensors       `ConvStem` (embed 16) on [2, 3, 32, 32], eval and train mode
  swin_keys.json                  state_dict (name, shape) lists and trainable-parameter counts of
                                  swin_tiny_patch4_window7_224, CTransPath and the micro config
  swin_fixtures.json              versions, seed, and the cases' configurations

Each .safetensors holds `w.<state_dict key>` (all weights and buffers), `input`, `weight` (the
fixed loss weights W), the output, and gradients of the scalar L = sum(output * W):
`grad.input` and `grad.<key>`. ConvStem entries carry an `eval.` or `train.` prefix, and
`after.<key>` holds the BatchNorm running statistics after the single train-mode forward.
"""
import functools
import importlib.abc
import importlib.machinery
import json
import os
import platform
import sys
import types

import torch
import torch.nn as nn
import safetensors
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20240923


def stand_in_for_torchvision():
    try:
        import torchvision  # noqa: F401
        return False
    except Exception:
        for name in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
            del sys.modules[name]

    class StandIn(types.ModuleType):
        __path__ = []

        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return StandIn(f"{self.__name__}.{name}")

    class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path, target=None):
            if name == "torchvision" or name.startswith("torchvision."):
                return importlib.machinery.ModuleSpec(name, self, is_package=True)
            return None

        def create_module(self, spec):
            return StandIn(spec.name)

        def exec_module(self, module):
            pass

    sys.meta_path.insert(0, Finder())
    return True


STAND_IN = stand_in_for_torchvision()
import timm  # noqa: E402
from timm.models.swin_transformer import BasicLayer, PatchMerging, SwinTransformer  # noqa: E402
from timm.models.vision_transformer import Block  # noqa: E402

assert timm.__version__ == "0.5.4", f"expected timm 0.5.4, got {timm.__version__}"


class ConvStem(nn.Module):
    """CTransPath's convolutional stem, written from its description (see the header)."""

    def __init__(self, img_size=224, patch_size=4, in_chans=3, embed_dim=96, norm_layer=None):
        super().__init__()
        assert patch_size == 4 and embed_dim % 8 == 0
        self.img_size = (img_size, img_size)
        self.patch_size = (4, 4)
        self.grid_size = (img_size // 4, img_size // 4)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        c1, c2 = embed_dim // 8, embed_dim // 4
        self.proj = nn.Sequential(
            nn.Conv2d(in_chans, c1, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c2), nn.ReLU(),
            nn.Conv2d(c2, embed_dim, 1))
        self.norm = norm_layer(embed_dim) if norm_layer else nn.Identity()

    def forward(self, x):
        return self.norm(self.proj(x).flatten(2).transpose(1, 2))


def with_conv_stem(model, img_size, embed_dim):
    """What the modified timm's `embed_layer=ConvStem` does: the stem in place of PatchEmbed."""
    model.patch_embed = ConvStem(img_size, 4, 3, embed_dim, norm_layer=nn.LayerNorm)
    return model


def randomize(model, g):
    """O(1)-scale random weights, so every term (bias table, LayerNorm affine, biases) matters."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("relative_position_bias_table"):
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1 and name.endswith("weight"):  # LayerNorm / BatchNorm gamma
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + torch.rand(c, generator=g))
                m.num_batches_tracked.fill_(3)


def run(model, x, g, grads, prefix=""):
    """Forward and backward of L = sum(model(x) * W); returns the tensors to save."""
    x = x.clone().requires_grad_(True)
    model.zero_grad()
    y = model(x)
    w = torch.rand(y.shape, generator=g) + 0.5
    (y * w).sum().backward()
    params = dict(model.named_parameters())
    out = {prefix + "output": y, prefix + "weight": w, prefix + "grad.input": x.grad}
    for key in grads:
        out[prefix + "grad." + key] = params[key].grad
    return out


def save(name, model, x, tensors):
    entries = {"w." + k: v for k, v in model.state_dict().items()}
    entries["input"] = x
    entries.update(tensors)
    entries = {k: v.detach().contiguous() for k, v in entries.items()}
    path = os.path.join(HERE, name + ".safetensors")
    save_file(entries, path)
    print(f"{name}: {len(entries)} tensors, {os.path.getsize(path)} bytes")


def keys(model):
    return {
        "keys": [[k, list(v.shape)] for k, v in model.state_dict().items()],
        "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
    }


def main():
    torch.manual_seed(SEED)
    g = torch.Generator().manual_seed(SEED)
    cases = {}

    # (a) ViT block, timm `Block` with the ViT/MoCo v3 norm (eps 1e-6).
    block = Block(dim=32, num_heads=4, mlp_ratio=4.0, qkv_bias=True, norm_layer=functools.partial(nn.LayerNorm, eps=1e-6))
    randomize(block, g)
    x = torch.randn(2, 10, 32, generator=g)
    save("vit_block", block, x, run(block, x, g, [k for k, _ in block.named_parameters()]))
    cases["vit_block"] = {"dim": 32, "heads": 4, "mlp_ratio": 4, "eps": 1e-6, "input": [2, 10, 32]}

    # (b) A W-MSA block and an SW-MSA block on a non-square map.
    stage = BasicLayer(dim=16, input_resolution=(8, 12), depth=2, num_heads=2, window_size=4, downsample=None)
    randomize(stage, g)
    x = torch.randn(2, 96, 16, generator=g)
    save("swin_blocks", stage, x, run(stage, x, g, [k for k, _ in stage.named_parameters()]))
    cases["swin_blocks"] = {"dim": 16, "heads": 2, "window": 4, "shift": 2, "resolution": [8, 12], "input": [2, 96, 16]}

    # (c) Patch merging.
    merging = PatchMerging(input_resolution=(6, 8), dim=8)
    randomize(merging, g)
    x = torch.randn(2, 48, 8, generator=g)
    save("swin_patch_merging", merging, x, run(merging, x, g, [k for k, _ in merging.named_parameters()]))
    cases["swin_patch_merging"] = {"dim": 8, "resolution": [6, 8], "input": [2, 48, 8]}

    # (d) A whole small Swin (patch stem, drop path 0, eval mode: no stochastic layers).
    micro = SwinTransformer(
        img_size=48, patch_size=4, embed_dim=12, depths=(2, 2, 2), num_heads=(2, 3, 4), window_size=3,
        num_classes=5, drop_path_rate=0.0)
    randomize(micro, g)
    micro.eval()
    x = torch.randn(2, 3, 48, 48, generator=g)
    named = [
        "patch_embed.proj.weight", "layers.0.blocks.1.attn.relative_position_bias_table",
        "layers.0.blocks.0.attn.qkv.weight", "layers.1.downsample.reduction.weight",
        "layers.1.blocks.1.mlp.fc1.bias", "layers.2.blocks.1.norm1.weight", "norm.weight", "head.weight", "head.bias"]
    save("swin_micro", micro, x, run(micro, x, g, named))
    cases["swin_micro"] = {
        "img_size": 48, "patch_size": 4, "embed_dim": 12, "depths": [2, 2, 2], "num_heads": [2, 3, 4],
        "window_size": 3, "num_classes": 5, "input": [2, 3, 48, 48], "grads": named}

    # (e) CTransPath's ConvStem: eval (running statistics) and train (batch statistics).
    stem = ConvStem(img_size=32, patch_size=4, in_chans=3, embed_dim=16, norm_layer=nn.LayerNorm)
    randomize(stem, g)
    x = torch.randn(2, 3, 32, 32, generator=g)
    weights = {k: v.clone() for k, v in stem.state_dict().items()}
    stem.eval()
    tensors = run(stem, x, g, [k for k, _ in stem.named_parameters()], prefix="eval.")
    stem.train()
    tensors.update(run(stem, x, g, [k for k, _ in stem.named_parameters()], prefix="train."))
    for k, v in stem.state_dict().items():
        if "running" in k:
            tensors["after." + k] = v.clone()
    stem.load_state_dict(weights)  # save the weights as they were before the train step
    save("swin_convstem", stem, x, tensors)
    cases["swin_convstem"] = {"embed_dim": 16, "img_size": 32, "input": [2, 3, 32, 32]}

    # Names, shapes and counts of the full-size models and the micro config.
    swin_t = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False)
    ctranspath = with_conv_stem(timm.create_model("swin_tiny_patch4_window7_224", pretrained=False), 224, 96)
    ctranspath.head = nn.Identity()
    micro64 = with_conv_stem(
        SwinTransformer(img_size=64, embed_dim=48, depths=(2, 2, 2, 2), num_heads=(3, 6, 12, 24), window_size=4,
                        num_classes=0),
        64, 48)
    with open(os.path.join(HERE, "swin_keys.json"), "w") as f:
        json.dump({"swin_tiny_patch4_window7_224": keys(swin_t), "ctranspath": keys(ctranspath),
                   "micro_convstem_64": keys(micro64)}, f)

    meta = {
        "python": platform.python_version(), "torch": torch.__version__, "timm": timm.__version__,
        "safetensors": safetensors.__version__, "torchvision_stand_in": STAND_IN, "seed": SEED,
        "loss": "sum(output * weight)", "cases": cases,
    }
    with open(os.path.join(HERE, "swin_fixtures.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
