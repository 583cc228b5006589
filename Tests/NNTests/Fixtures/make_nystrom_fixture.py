"""Golden values for NystromAttention, made once with the official package.

    pip install torch nystrom-attention==0.0.14 einops safetensors
    python3 Tests/NNTests/Fixtures/make_nystrom_fixture.py

Writes nystrom_small.safetensors: the module's state_dict (its own names), the input `x`,
the eval-mode output `out`, the weights `w` of the probe loss L = sum(w * out), and the
gradients of L with respect to x and every parameter (prefixed `grad.`). Versions go to
nystrom_fixture.json. Dropout is 0 so train and eval agree.
"""
import json
import os

import einops
import nystrom_attention
import safetensors
import torch
from nystrom_attention import NystromAttention
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
# Small but non-trivial: n = 50 is padded at the front to 64 = 16 landmarks x segments of 4.
layer = NystromAttention(dim=64, dim_head=8, heads=8, num_landmarks=16, pinv_iterations=6,
                         residual=True, residual_conv_kernel=33, dropout=0.0)
x = torch.randn(2, 50, 64, requires_grad=True)
out = layer(x)
w = torch.rand_like(out) + 0.5
(out * w).sum().backward()
tensors = {k: v.detach().clone().contiguous() for k, v in layer.state_dict().items()}
tensors["x"] = x.detach().clone()
tensors["out"] = out.detach().clone()
tensors["w"] = w.detach().clone()
tensors["grad.x"] = x.grad.detach().clone()
for name, p in layer.named_parameters():
    tensors["grad." + name] = p.grad.detach().clone()
save_file(tensors, os.path.join(HERE, "nystrom_small.safetensors"))
with open(os.path.join(HERE, "nystrom_fixture.json"), "w") as f:
    json.dump({"torch": torch.__version__, "nystrom_attention": "0.0.14", "einops": einops.__version__,
               "safetensors": safetensors.__version__,
               "config": {"dim": 64, "dim_head": 8, "heads": 8, "num_landmarks": 16,
                          "pinv_iterations": 6, "residual_conv_kernel": 33, "n": 50, "batch": 2},
               "state_dict_keys": list(layer.state_dict().keys())}, f, indent=1)
print("ok", {k: list(v.shape) for k, v in tensors.items()})
