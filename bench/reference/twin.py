"""flowmatch's PyTorch twin: the same models, state_dict names, loss and samplers, in plain PyTorch.

The C++ code it mirrors is named beside each piece. Parity tests compare flowmatch with goldens
that make_goldens.py writes from these modules. Needs python3-torch: scripts/install-deps.sh --bench.
"""
import json
import math
import struct

import torch
from torch import nn


def sinusoidal_embedding(t, dim, scale):
    """time_embedding.cpp: freq_i = exp(-i ln(10000) / (half - 1)); [sin(scale t f), cos(scale t f)]."""
    half = dim // 2
    frequencies = torch.exp(torch.arange(half, dtype=torch.float32) * (-math.log(10000.0) / (half - 1)))
    angles = (t * scale).unsqueeze(1) * frequencies.to(t.dtype).unsqueeze(0)
    return torch.cat([angles.sin(), angles.cos()], 1)


class SeedBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.ff = nn.Linear(width, width)


class SeedMLP(nn.Module):
    """seed_mlp.cpp, the seed's network: h = in(x) + t_proj(emb(t)); h = relu(ff(h)) per block; out(h)."""

    def __init__(self, data_dim=2, width=512, depth=5, time_dim=512):
        super().__init__()
        self.time_dim = time_dim
        self.in_projection = nn.Linear(data_dim, width)
        self.t_projection = nn.Linear(time_dim, width)
        self.blocks = nn.ModuleList([SeedBlock(width) for _ in range(depth)])
        self.out_projection = nn.Linear(width, data_dim)

    def forward(self, x, t):
        h = self.in_projection(x) + self.t_projection(sinusoidal_embedding(t, self.time_dim, 10000.0))
        for block in self.blocks:
            h = torch.relu(block.ff(h))
        return self.out_projection(h)


class ResidualBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.ff1 = nn.Linear(width, width)
        self.ff2 = nn.Linear(width, width)


class ResidualMLP(nn.Module):
    """residual_mlp.cpp, flowmatch's default "mlp":
    f(x) = [x, sin(2 pi x B), cos(2 pi x B)]; h = in(f(x)) + t_proj(emb(1000 t));
    h = h + ff2(silu(ff1(silu(h)))) per block; v = out(silu(h))."""

    def __init__(self, data_dim=2, width=256, depth=4, time_dim=128, time_scale=1000.0, fourier_features=64,
                 fourier_scale=0.5):
        super().__init__()
        self.time_dim, self.time_scale = time_dim, time_scale
        self.register_buffer("fourier_basis", torch.randn(data_dim, fourier_features) * fourier_scale)
        self.in_projection = nn.Linear(data_dim + 2 * fourier_features, width)
        self.t_projection = nn.Linear(time_dim, width)
        self.blocks = nn.ModuleList([ResidualBlock(width) for _ in range(depth)])
        self.out_projection = nn.Linear(width, data_dim)

    def forward(self, x, t):
        features = x
        if self.fourier_basis.shape[1] > 0:
            phase = x @ self.fourier_basis * (2 * math.pi)
            features = torch.cat([x, phase.sin(), phase.cos()], 1)
        h = self.in_projection(features) + self.t_projection(sinusoidal_embedding(t, self.time_dim, self.time_scale))
        for block in self.blocks:
            h = h + block.ff2(nn.functional.silu(block.ff1(nn.functional.silu(h))))
        return self.out_projection(nn.functional.silu(h))


def cfm_loss(model, x0, x1, t):
    """cfm_loss.cpp with the condot scheduler: x_t = t x1 + (1 - t) x0, target x1 - x0."""
    xt = t.unsqueeze(1) * x1 + (1 - t.unsqueeze(1)) * x0
    return (model(xt, t) - (x1 - x0)).pow(2).mean()


def euler(model, x, steps):
    """runge_kutta.cpp's euler on the grid t_i = i / steps."""
    h = 1.0 / steps
    for i in range(steps):
        x = x + h * model(x, torch.full((x.shape[0],), i * h))
    return x


def rk4(model, x, steps):
    """runge_kutta.cpp's classic fourth-order Runge-Kutta on the grid t_i = i / steps."""
    h = 1.0 / steps
    for i in range(steps):
        t = i * h
        v = lambda y, s: model(y, torch.full((x.shape[0],), s))
        k1 = v(x, t)
        k2 = v(x + h / 2 * k1, t + h / 2)
        k3 = v(x + h / 2 * k2, t + h / 2)
        k4 = v(x + h * k3, t + h)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def read_safetensors(path):
    """A safetensors file's float32/int64 tensors (in order) and metadata."""
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    metadata = header.pop("__metadata__", {})
    data = raw[8 + length:]
    dtypes = {"F32": torch.float32, "I64": torch.int64}
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=dtypes[entry["dtype"]]).reshape(entry["shape"])
    return tensors, metadata


def model_from_config(config):
    """The twin of a flowmatch model config (__metadata__["flowmatch.model"]): seed-mlp or mlp."""
    kinds = {"seed-mlp": SeedMLP, "mlp": ResidualMLP}
    if config.get("name") not in kinds or config.get("activation", "silu") != "silu" or config.get("interval"):
        raise ValueError("the twin has seed-mlp and mlp (silu, no interval), not %s" % json.dumps(config))
    return kinds[config["name"]](**{k: v for k, v in config.items() if k not in ("name", "activation")})


def write_safetensors(path, tensors, metadata):
    """The safetensors layout flowmatch reads (docs/formats.md): float32/int64 tensors, in order."""
    header, data = {"__metadata__": metadata}, b""
    for name, tensor in tensors.items():
        array = tensor.detach().contiguous()
        raw = array.numpy().tobytes()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[array.dtype]
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text + data)
