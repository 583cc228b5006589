"""Golden values for Tests/VisionTests/AugmentationFixtureTests.swift.

Reference: torchvision 0.28.0's own tensor functionals (torchvision/transforms/_functional_tensor.py)
on torch 2.13.0+cpu, Python 3.11, numpy 2.4.

`import torchvision` fails on the machine that made this file ("operator torchvision::nms does not
exist": the installed torchvision wheel's C extension does not match the CPU torch build), so the
script loads `_functional_tensor.py` directly from the installed package by file path. That module
imports only torch, so the functions below are torchvision's unmodified code (crop, resize through
torch.nn.functional.interpolate, adjust_brightness/contrast/saturation/hue with _rgb2hsv/_hsv2rgb,
rgb_to_grayscale, gaussian_blur, solarize, normalize, hflip).

Run from the repository root:  python3 Tests/VisionTests/Fixtures/make_augmentation_fixture.py
"""

import importlib.metadata
import importlib.util
import json
import os
import sys

import numpy as np
import torch


def load_functional_tensor():
    spec = importlib.util.find_spec("torchvision")  # locates the package without importing it
    path = os.path.join(spec.submodule_search_locations[0], "transforms", "_functional_tensor.py")
    module_spec = importlib.util.spec_from_file_location("tv_functional_tensor", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module, path


F, source_path = load_functional_tensor()


def values(t):
    return [float(v) for v in t.contiguous().view(-1).tolist()]


rng = np.random.default_rng(20240611)
H, W = 7, 9
image = rng.integers(0, 256, size=(3, H, W), dtype=np.uint8)
# A few pure and grey pixels so hue/saturation meet their edge cases (max ties, greys).
image[:, 0, 0] = (255, 0, 0)
image[:, 0, 1] = (0, 255, 0)
image[:, 0, 2] = (0, 0, 255)
image[:, 0, 3] = (128, 128, 128)
image[:, 0, 4] = (200, 200, 10)
image[:, 0, 5] = (10, 200, 200)
x = torch.from_numpy(image).float().div(255)  # to_tensor

out = {
    "source": "torchvision %s transforms/_functional_tensor.py loaded by file path (import torchvision fails); torch %s"
    % (importlib.metadata.version("torchvision"), torch.__version__),
    "height": H,
    "width": W,
    "image": [int(v) for v in image.reshape(-1)],  # CHW uint8
    "cases": [],
}


def case(name, t, **params):
    out["cases"].append({"name": name, "params": params, "shape": list(t.shape), "values": values(t)})


for (top, left, h, w, oh, ow) in [(1, 2, 5, 6, 8, 8), (0, 0, 7, 9, 4, 5), (2, 1, 4, 7, 6, 3), (0, 0, 7, 9, 7, 9),
                                  (0, 3, 3, 3, 2, 7)]:
    for aa in (False, True):
        t = F.resize(F.crop(x, top, left, h, w), [oh, ow], interpolation="bilinear", antialias=aa)
        case("resized_crop", t, top=top, left=left, height=h, width=w, outHeight=oh, outWidth=ow,
             antialias=1.0 if aa else 0.0)

for f in (0.55, 1.37):
    case("brightness", F.adjust_brightness(x, f), factor=f)
for f in (0.6, 1.4, 0.0):
    case("contrast", F.adjust_contrast(x, f), factor=f)
for f in (0.2, 1.8, 0.0):
    case("saturation", F.adjust_saturation(x, f), factor=f)
for f in (-0.31, 0.07, 0.5, -0.5, 0.0):
    case("hue", F.adjust_hue(x, f), factor=f)
case("grayscale", F.rgb_to_grayscale(x, num_output_channels=3))
case("solarize", F.solarize(x, 128.0 / 255.0), threshold=128.0 / 255.0)
for (k, s) in ((5, 1.3), (3, 0.7), (7, 2.0), (13, 0.4)):
    if k // 2 < min(H, W):
        case("gaussian_blur", F.gaussian_blur(x, [k, k], [s, s]), kernel=k, sigma=s)
case("normalize", F.normalize(x.clone(), [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]))
case("hflip", F.hflip(x))

# ColorJitter's chain with a fixed order and factors (order indices: 0 b, 1 c, 2 s, 3 h).
order, factors = [3, 0, 2, 1], {"b": 1.21, "c": 0.74, "s": 1.33, "h": -0.08}
t = x
for i in order:
    if i == 0:
        t = F.adjust_brightness(t, factors["b"])
    elif i == 1:
        t = F.adjust_contrast(t, factors["c"])
    elif i == 2:
        t = F.adjust_saturation(t, factors["s"])
    else:
        t = F.adjust_hue(t, factors["h"])
case("jitter_chain", t, o0=3.0, o1=0.0, o2=2.0, o3=1.0, b=1.21, c=0.74, s=1.33, h=-0.08)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "augmentation_fixture.json")
with open(path, "w") as fh:
    json.dump(out, fh, indent=None, separators=(",", ":"))
    fh.write("\n")
print("wrote", path, len(out["cases"]), "cases", file=sys.stderr)
