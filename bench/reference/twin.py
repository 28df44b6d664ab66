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


def conv3x3(channels_in, channels_out, stride=1):
    return nn.Conv2d(channels_in, channels_out, 3, stride=stride, padding=1)


def zero_init(conv):
    """unet.cpp's zero_init: the layer that ends a block starts at zero, so the block starts as the identity."""
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class UNetResidualBlock(nn.Module):
    """unet.cpp: h = conv1(silu(norm1(x))) + time(silu(emb)); out = skip(x) + conv2(silu(norm2(h)))."""

    def __init__(self, channels_in, channels_out, embedding_dim, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, channels_in)
        self.conv1 = conv3x3(channels_in, channels_out)
        self.time = nn.Linear(embedding_dim, channels_out)
        self.norm2 = nn.GroupNorm(groups, channels_out)
        self.conv2 = zero_init(conv3x3(channels_out, channels_out))
        self.skip = nn.Conv2d(channels_in, channels_out, 1) if channels_in != channels_out else None

    def forward(self, x, embedding):
        h = self.conv1(nn.functional.silu(self.norm1(x))) + self.time(nn.functional.silu(embedding))[:, :, None, None]
        h = self.conv2(nn.functional.silu(self.norm2(h)))
        return (x if self.skip is None else self.skip(x)) + h


class UNetAttention(nn.Module):
    """unet.cpp: q, k, v = qkv(norm(x)) as [B, C, N]; a = softmax(q^T k / sqrt(C)); out = x + proj(v a^T)."""

    def __init__(self, channels, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = zero_init(nn.Conv2d(channels, channels, 1))

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).unbind(1)
        weights = torch.softmax(torch.matmul(q.transpose(1, 2), k) / math.sqrt(c), -1)
        return x + self.proj(torch.matmul(v, weights.transpose(1, 2)).reshape(b, c, h, w))


class UNet(nn.Module):
    """unet.cpp, flowmatch's image network: emb = time_out(silu(time_in(sin_emb(1000 t)))) [+ class_embedding(y)];
    stem, residual blocks down (kept as skips) with stride-2 convs between levels, a middle block with
    self-attention, residual blocks up on [h, skip] with nearest 2x upsampling + conv, out_conv(silu(out_norm(h)))."""

    def __init__(self, image_shape=(1, 28, 28), widths=(32, 64, 64), depth=1, time_dim=128, groups=8, classes=0):
        super().__init__()
        self.image_shape, self.time_dim, self.classes = list(image_shape), time_dim, classes
        embedding_dim, levels = 4 * widths[0], len(widths)
        self.time_in = nn.Linear(time_dim, embedding_dim)
        self.time_out = nn.Linear(embedding_dim, embedding_dim)
        if classes > 0:
            self.class_embedding = nn.Embedding(classes + 1, embedding_dim)
        self.stem = conv3x3(image_shape[0], widths[0])
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        for i in range(levels):
            self.down.append(nn.ModuleList([UNetResidualBlock(widths[i - 1] if j == 0 and i > 0 else widths[i], widths[i],
                                                              embedding_dim, groups) for j in range(depth)]))
            if i + 1 < levels:
                self.downsample.append(conv3x3(widths[i], widths[i], 2))
        bottom = widths[-1]
        self.middle_in = UNetResidualBlock(bottom, bottom, embedding_dim, groups)
        self.attention = UNetAttention(bottom, groups)
        self.middle_out = UNetResidualBlock(bottom, bottom, embedding_dim, groups)
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for i in reversed(range(levels)):  # up[k] runs from the lowest level (k = 0) to the highest
            self.up.append(nn.ModuleList([UNetResidualBlock(2 * widths[i], widths[i], embedding_dim, groups)
                                          for _ in range(depth)]))
            if i > 0:
                self.upsample.append(conv3x3(widths[i], widths[i - 1]))
        self.out_norm = nn.GroupNorm(groups, widths[0])
        self.out_conv = zero_init(conv3x3(widths[0], image_shape[0]))

    def forward(self, x, t, labels=None):
        """labels None on a class-conditional model is the "no class" label K, as unet.cpp's forward."""
        embedding = self.time_out(nn.functional.silu(self.time_in(sinusoidal_embedding(t, self.time_dim, 1000.0))))
        if self.classes > 0:
            if labels is None:
                labels = torch.full((x.shape[0],), self.classes, dtype=torch.long)
            embedding = embedding + self.class_embedding(labels)
        h, skips = self.stem(x), []
        for i, level in enumerate(self.down):
            for block in level:
                h = block(h, embedding)
                skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        h = self.middle_out(self.attention(self.middle_in(h, embedding)), embedding)
        for k, level in enumerate(self.up):
            for block in level:
                h = block(torch.cat([h, skips.pop()], 1), embedding)
            if k < len(self.upsample):
                h = self.upsample[k](nn.functional.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.out_conv(nn.functional.silu(self.out_norm(h)))


def cfm_loss(model, x0, x1, t, **condition):
    """cfm_loss.cpp with the condot scheduler: x_t = t x1 + (1 - t) x0, target x1 - x0 (t broadcast over a row)."""
    tb = t.reshape([-1] + [1] * (x1.dim() - 1))
    xt = tb * x1 + (1 - tb) * x0
    return (model(xt, t, **condition) - (x1 - x0)).pow(2).mean()


def euler(model, x, steps):
    """runge_kutta.cpp's euler on the grid t_i = i / steps."""
    h = 1.0 / steps
    for i in range(steps):
        x = x + h * model(x, torch.full((x.shape[0],), i * h))
    return x


def midpoint(model, x, steps, **condition):
    """runge_kutta.cpp's midpoint on the grid t_i = i / steps: x += h v(x + h/2 v(x, t), t + h/2)."""
    h = 1.0 / steps
    v = lambda y, s: model(y, torch.full((x.shape[0],), s), **condition)
    for i in range(steps):
        x = x + h * v(x + h / 2 * v(x, i * h), (i + 0.5) * h)
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
    """The twin of a flowmatch model config (__metadata__["flowmatch.model"]): seed-mlp, mlp or unet."""
    kinds = {"seed-mlp": SeedMLP, "mlp": ResidualMLP, "unet": UNet}
    if config.get("name") not in kinds or config.get("activation", "silu") != "silu" or config.get("interval"):
        raise ValueError("the twin has seed-mlp, mlp (silu, no interval) and unet, not %s" % json.dumps(config))
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
