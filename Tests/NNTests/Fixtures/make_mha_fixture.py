"""Golden values for MultiheadSelfAttention, made once with PyTorch's nn.MultiheadAttention.

    pip install torch safetensors
    python3 Tests/NNTests/Fixtures/make_mha_fixture.py

Writes mha_small.safetensors: the module's state_dict (its own names), the input `x`, the
eval-mode self-attention output `out` (`attention(x, x, x, need_weights=False)`), the weights `w`
of the probe loss L = sum(w * out), and the gradients of L with respect to x and every parameter
(prefixed `grad.`). Biases are drawn at random (torch initialises them to 0) so that they are
tested. Versions go to mha_fixture.json. Dropout is 0 so train and eval agree.
"""
import json
import os

import safetensors
import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
layer = torch.nn.MultiheadAttention(16, 4, dropout=0.0, batch_first=True)
with torch.no_grad():
    layer.in_proj_bias.normal_(0, 0.5)
    layer.out_proj.bias.normal_(0, 0.5)
x = torch.randn(2, 7, 16, requires_grad=True)
out = layer(x, x, x, need_weights=False)[0]
w = torch.rand(tuple(out.shape)) + 0.5
(out * w).sum().backward()
tensors = {k: v.detach().clone().contiguous() for k, v in layer.state_dict().items()}
tensors["x"] = x.detach().clone()
tensors["out"] = out.detach().clone().contiguous()
tensors["w"] = w.detach().clone()
tensors["grad.x"] = x.grad.detach().clone().contiguous()
for name, p in layer.named_parameters():
    tensors["grad." + name] = p.grad.detach().clone().contiguous()
save_file(tensors, os.path.join(HERE, "mha_small.safetensors"))
with open(os.path.join(HERE, "mha_fixture.json"), "w") as f:
    json.dump({"torch": torch.__version__, "safetensors": safetensors.__version__,
               "config": {"embed_dim": 16, "num_heads": 4, "batch": 2, "n": 7, "batch_first": True},
               "state_dict_keys": list(layer.state_dict().keys())}, f, indent=1)
print("ok", {k: list(v.shape) for k, v in tensors.items()})
