"""Writes tests/goldens/{seed-mlp,mlp,unet}.safetensors: what the PyTorch twin computes, for the parity tests
(tests/train/parity_test.cpp), and torch.save files for `flowmatch convert` (tests/io/torch_state_dict_test.cpp). Each file holds a small model's weights ("model.<name>", loadable by flowmatch
from its config in __metadata__["flowmatch.model"]) and, from fixed inputs:
  - v = model(x, t), and the gradients "grad.<name>" of mean((v - target)^2);
  - the weights "adamw.<name>" after 10 AdamW steps (lr 1e-3, weight decay 0.01) on cfm_loss(x0, x1, t);
  - "euler" (10 steps) and "rk4" (5 steps) samples from "noise", with the first weights.
    /usr/bin/python3 bench/reference/make_goldens.py tests/goldens
"""
import json
import os
import sys
from collections import OrderedDict

import torch

from twin import cfm_loss, euler, model_from_config, rk4, write_safetensors

MODELS = {
    "seed-mlp": {"name": "seed-mlp", "data_dim": 2, "width": 32, "depth": 2, "time_dim": 32},
    "mlp": {"name": "mlp", "data_dim": 2, "width": 32, "depth": 2, "activation": "silu", "time_dim": 32,
            "time_scale": 1000.0, "fourier_features": 16, "fourier_scale": 0.5},
    "unet": {"name": "unet", "image_shape": [1, 8, 8], "widths": [4, 8], "depth": 1, "time_dim": 16, "groups": 2,
             "classes": 3},
}


class RunsCode:
    """Unpickling this in Python would call os.system: what flowmatch must refuse by name."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/flowmatch-pickle-ran-code",))


def golden(config, folder):
    torch.manual_seed(0)
    model = model_from_config(config)
    if config["name"] == "unet":  # its zero-initialised convolutions drawn like the others: v and all gradients nonzero
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d) and not module.weight.any():
                module.reset_parameters()
    tensors = {"model." + name: value.clone() for name, value in model.state_dict().items()}
    if config["name"] == "seed-mlp":
        torch.save(model.state_dict(), os.path.join(folder, "seed-mlp.pt"))
        wrapped = OrderedDict(("module." + name, value) for name, value in model.state_dict().items())
        torch.save(wrapped, os.path.join(folder, "seed-mlp-wrapped.pt"))
        torch.save({"weight": torch.zeros(2), "payload": RunsCode()}, os.path.join(folder, "refused.pt"))
    shape = config.get("image_shape", [config.get("data_dim", 2)])  # of one sample
    x, t, target = torch.randn(8, *shape), torch.rand(8), torch.randn(8, *shape)
    x0, x1, noise = torch.randn(16, *shape), torch.randn(16, *shape) * 2, torch.randn(8, *shape)
    tensors.update({"x": x, "t": t, "target": target, "x0": x0, "x1": x1, "noise": noise})
    v = model(x, t)
    (v - target).pow(2).mean().backward()
    tensors["v"] = v
    tensors.update({"grad." + name: p.grad.clone() for name, p in model.named_parameters()})
    with torch.no_grad():
        tensors["euler"] = euler(model, noise, 10)
        tensors["rk4"] = rk4(model, noise, 5)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    for _ in range(10):
        optimizer.zero_grad()
        cfm_loss(model, x0, x1, t.repeat(2)).backward()
        optimizer.step()
    tensors.update({"adamw." + name: p.detach().clone() for name, p in model.named_parameters()})
    if config["name"] == "mlp":
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": 10},
                   os.path.join(folder, "mlp-checkpoint.pt"))
    return tensors


if __name__ == "__main__":
    folder = sys.argv[1] if len(sys.argv) > 1 else "tests/goldens"
    os.makedirs(folder, exist_ok=True)
    for name, config in MODELS.items():
        write_safetensors(os.path.join(folder, name + ".safetensors"), golden(config, folder),
                          {"flowmatch.model": json.dumps(config), "written_by": "bench/reference/make_goldens.py",
                           "torch": torch.__version__})
        print("wrote", os.path.join(folder, name + ".safetensors"))
