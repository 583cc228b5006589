"""Golden training trajectory for TransMIL with torch's multi-head attention, made once with the
project's independent PyTorch TransMIL (scripts/reference/transmil_torch.py).

    pip install torch safetensors
    python3 Tests/MethodsTests/Fixtures/make_transmil_training_fixture.py

A TransMIL of width 16 on 8-d instances (attention `mha`, dropout 0 so that no draw differs),
trained on six fixed bags (5 to 11 instances) in a fixed order: cross-entropy, gradient
accumulation 2, torch.optim.RAdam(lr 1e-2, weight_decay 1e-5) inside Lookahead(alpha 0.5, k 2) with
the slow weights taken at construction, for 12 optimiser steps (four passes). Writes
transmil_mha_training.safetensors: `init.<name>` (the initial state dict), `bag<i>` and `labels`,
`losses` (each bag's loss in order), `final.<name>` (the weights after the last step).
"""
import argparse
import os
import sys

import numpy as np
import safetensors
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "reference"))
import transmil_torch  # noqa: E402

torch.manual_seed(0)
args = argparse.Namespace(attention="mha", landmarks=0, residual=1, qkv_bias=False)
model = transmil_torch.TransMIL(8, 16, args)
for layer in (model.layer1, model.layer2):
    layer.attn.attention.dropout = 0.0
# Random biases and norms, so that every tensor's path is exercised.
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith("in_proj_bias") or name.endswith("out_proj.bias") or "norm" in name:
            p.add_(0.1 * torch.randn_like(p))
init = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
sizes = [5, 7, 9, 11, 6, 8]
bags = [torch.randn(1, n, 8) + (0.5 if i % 2 else -0.5) for i, n in enumerate(sizes)]
labels = [i % 2 for i in range(len(sizes))]
optimiser = torch.optim.RAdam(model.parameters(), lr=1e-2, weight_decay=1e-5)
slow = [p.detach().clone() for p in model.parameters()]
losses, steps = [], 0
model.train()
for epoch in range(4):
    for k, i in enumerate([0, 3, 1, 4, 2, 5] if epoch % 2 == 0 else [5, 2, 4, 1, 3, 0]):
        loss = F.cross_entropy(model(bags[i]), torch.tensor([labels[i]]))
        (loss / 2).backward()
        losses.append(loss.item())
        if k % 2 == 1:
            optimiser.step()
            optimiser.zero_grad()
            steps += 1
            if steps % 2 == 0:
                with torch.no_grad():
                    for p, q in zip(model.parameters(), slow):
                        q += 0.5 * (p - q)
                        p.copy_(q)
tensors = {"init." + k: v for k, v in init.items()}
tensors.update({"final." + k: v.detach().clone().contiguous() for k, v in model.state_dict().items()})
tensors.update({f"bag{i}": b[0].contiguous() for i, b in enumerate(bags)})
tensors["labels"] = torch.tensor(labels, dtype=torch.float32)
tensors["losses"] = torch.tensor(losses, dtype=torch.float32)
save_file(tensors, os.path.join(HERE, "transmil_mha_training.safetensors"),
          metadata={"torch": torch.__version__, "safetensors": safetensors.__version__, "steps": str(steps)})
print("ok", steps, [round(x, 4) for x in losses])
