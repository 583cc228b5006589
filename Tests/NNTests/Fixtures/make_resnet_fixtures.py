#!/usr/bin/env python3
"""Golden fixtures for Tests/NNTests/ResNetTests.swift.

Run from this folder: `python3 make_resnet_fixtures.py` (CPU torch, safetensors).

Writes
  resnet_keys.json          state_dict keys and shapes of torchvision resnet18() and resnet50()
  resnet_<case>.safetensors for each case below:
    weights  `w.<state_dict key>`  (random BN affine params and running stats)
    input    `input`               [n, 3, h, w]
    eval     `eval.output`         model.eval()(input)
    train    `train.output`, `grad.input`, `grad.<key>` for a few parameters, after
             model.train(); y = model(input); y.sum().backward()
             and `after.<bn>.running_mean/var` (running stats after that one train step)
  resnet_fixtures.json      versions, seed, and per-case metadata

The reference modules below are transcribed from torchvision 0.28.0
`torchvision/models/resnet.py` (BasicBlock, Bottleneck, ResNet, _make_layer, init), with two
generalisations: stage widths (torchvision fixes 64-128-256-512) and the CIFAR stem (3x3 stride 1
conv, no max-pool, as kuangliu/pytorch-cifar and the MoCo CIFAR demo). With the default widths and
the ImageNet stem they are torchvision's ResNet. The PyPI torchvision wheel for torch 2.13 needs
CUDA 13 for its C extension, so `import torchvision` fails on a CPU-only machine; when it does
import, the key lists are cross-checked against torchvision's own resnet18()/resnet50().
"""
import json
import os

import torch
import torch.nn as nn
import safetensors
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20240611


def conv3x3(i, o, stride=1):
    return nn.Conv2d(i, o, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(i, o, stride=1):
    return nn.Conv2d(i, o, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)  # v1.5: stride on the 3x3
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * 4)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


def downsample_for(block, inplanes, planes, stride):
    if stride != 1 or inplanes != planes * block.expansion:
        return nn.Sequential(
            conv1x1(inplanes, planes * block.expansion, stride), nn.BatchNorm2d(planes * block.expansion)
        )
    return None


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000, widths=(64, 128, 256, 512), stem="imagenet"):
        super().__init__()
        self.inplanes = widths[0]
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:
            self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(block, widths[0], layers[0])
        self.layer2 = self._make_layer(block, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, widths[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        layers = [block(self.inplanes, planes, stride, downsample_for(block, self.inplanes, planes, stride))]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def key_list(model):
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]


def randomize_bn(model, g):
    """Non-trivial BN affine params and running stats (the state a trained model has)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=g))
                m.bias.copy_(0.2 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + torch.rand(c, generator=g))
                m.num_batches_tracked.fill_(7)


def make_case(name, model, input_shape, grad_keys, after_bn, g):
    randomize_bn(model, g)
    x = torch.randn(*input_shape, generator=g)
    tensors = {f"w.{k}": v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    tensors["input"] = x.clone()
    model.eval()
    with torch.no_grad():
        tensors["eval.output"] = model(x).contiguous()
    model.train()
    xg = x.clone().requires_grad_(True)
    y = model(xg)
    y.sum().backward()
    tensors["train.output"] = y.detach().contiguous()
    tensors["grad.input"] = xg.grad.contiguous()
    params = dict(model.named_parameters())
    for k in grad_keys:
        tensors[f"grad.{k}"] = params[k].grad.contiguous()
    sd = model.state_dict()
    for bn in after_bn:
        for s in ("running_mean", "running_var"):
            tensors[f"after.{bn}.{s}"] = sd[f"{bn}.{s}"].clone()
    path = os.path.join(HERE, f"resnet_{name}.safetensors")
    save_file(tensors, path)
    return {
        "input_shape": list(input_shape),
        "output_shape": list(tensors["eval.output"].shape),
        "grad_keys": grad_keys,
        "after_bn": after_bn,
        "bytes": os.path.getsize(path),
    }


def main():
    torch.manual_seed(SEED)
    g = torch.Generator().manual_seed(SEED)
    keys = {
        "resnet18": key_list(ResNet(BasicBlock, [2, 2, 2, 2])),
        "resnet50": key_list(ResNet(Bottleneck, [3, 4, 6, 3])),
    }
    checked = False
    try:
        import torchvision.models as tvm  # noqa: PLC0415

        assert keys["resnet18"] == key_list(tvm.resnet18()), "resnet18 keys differ from torchvision"
        assert keys["resnet50"] == key_list(tvm.resnet50()), "resnet50 keys differ from torchvision"
        checked = True
    except ImportError:
        pass
    except RuntimeError:  # torchvision's C extension cannot load (CUDA-only wheel)
        pass
    with open(os.path.join(HERE, "resnet_keys.json"), "w") as f:
        json.dump(keys, f, indent=0)

    cases = {}
    # A BasicBlock with stride 2 and a downsample (16 -> 32), as the first block of layer2.
    cases["basic"] = make_case(
        "basic",
        BasicBlock(16, 32, 2, downsample_for(BasicBlock, 16, 32, 2)),
        (2, 16, 9, 9),
        ["conv1.weight", "bn1.weight", "bn2.bias", "downsample.0.weight", "downsample.1.weight"],
        ["bn1", "downsample.1"],
        g,
    )
    # A Bottleneck with stride 2 (32 -> planes 8 -> 32), downsample.
    cases["bottleneck"] = make_case(
        "bottleneck",
        Bottleneck(32, 8, 2, downsample_for(Bottleneck, 32, 8, 2)),
        (2, 32, 8, 8),
        ["conv1.weight", "conv2.weight", "conv3.weight", "bn3.weight", "downsample.0.weight"],
        ["bn2", "bn3"],
        g,
    )
    # Whole networks, widths 8-16-32-64, one block per stage: CIFAR stem on 32x32 ...
    cases["small_cifar"] = make_case(
        "small_cifar",
        ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10, widths=(8, 16, 32, 64), stem="cifar"),
        (2, 3, 32, 32),
        ["conv1.weight", "bn1.weight", "layer2.0.conv1.weight", "layer4.0.bn2.bias", "fc.weight", "fc.bias"],
        ["bn1", "layer3.0.downsample.1"],
        g,
    )
    # ... and the ImageNet stem (7x7/2 conv, 3x3/2 max-pool) on 40x40.
    cases["small_imagenet"] = make_case(
        "small_imagenet",
        ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10, widths=(8, 16, 32, 64), stem="imagenet"),
        (2, 3, 40, 40),
        ["conv1.weight", "bn1.bias", "layer1.0.conv2.weight", "layer4.0.downsample.0.weight", "fc.weight"],
        ["bn1"],
        g,
    )
    # A bottleneck network (resnet50 layout, widths 4-8-16-32, one block per stage), ImageNet stem.
    cases["small_bottleneck"] = make_case(
        "small_bottleneck",
        ResNet(Bottleneck, [1, 1, 1, 1], num_classes=5, widths=(4, 8, 16, 32), stem="imagenet"),
        (2, 3, 48, 48),
        ["conv1.weight", "layer1.0.conv3.weight", "layer3.0.bn2.weight", "fc.bias"],
        ["layer2.0.bn3"],
        g,
    )
    meta = {
        "torch": torch.__version__,
        "safetensors": safetensors.__version__,
        "reference": "torchvision 0.28.0 models/resnet.py, transcribed (see the script's docstring)",
        "checked_against_torchvision_import": checked,
        "seed": SEED,
        "cases": cases,
    }
    try:
        import importlib.metadata as md  # noqa: PLC0415

        meta["torchvision"] = md.version("torchvision")
    except Exception:  # noqa: BLE001
        meta["torchvision"] = None
    with open(os.path.join(HERE, "resnet_fixtures.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
