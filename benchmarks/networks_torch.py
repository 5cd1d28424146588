"""The canonical conv VAE written by hand in PyTorch (torch.nn, NCHW), the reference for
kerasae's `fit` on the torch backend and for pythae (which runs on torch).

Same layers, parameter count, loss and optimiser as `benchmarks/networks_tf.py` (see there).
Stride-2 "same" convolutions use padding=1 (and output_padding=1 for the transposed ones):
the output sizes and FLOPs match Keras'; TF pads the extra row at the bottom instead of
symmetrically, which moves no FLOPs. Only torch is imported, so pythae's throwaway venv can
use this module without Keras.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

LOG_VAR_BOUND = 10.0


def _glorot_(module: nn.Module) -> None:
    """Glorot-uniform weights, zero biases: Keras' defaults, so both nets start alike."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            w = m.weight
            receptive = math.prod(w.shape[2:]) if w.dim() > 2 else 1
            fan_out_axis, fan_in_axis = (1, 0) if isinstance(m, nn.ConvTranspose2d) else (0, 1)
            fan_in, fan_out = w.shape[fan_in_axis] * receptive, w.shape[fan_out_axis] * receptive
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            nn.init.uniform_(w, -limit, limit)
            nn.init.zeros_(m.bias)


class ConvEncoder(nn.Module):
    """x (N, C, H, W) -> (mean, raw log-variance), each (N, latent_dim)."""

    def __init__(self, input_shape=(28, 28, 1), latent_dim: int = 16, filters=(32, 64),
                 kernel_size: int = 3):
        super().__init__()
        height, width, channels = input_shape
        scale = 2 ** len(filters)
        if height % scale or width % scale:
            raise ValueError(f"no crop in the hand-written net: sizes must divide by {scale}")
        convs, c_in = [], channels
        for f in filters:
            convs += [nn.Conv2d(c_in, f, kernel_size, stride=2, padding=kernel_size // 2),
                      nn.ReLU()]
            c_in = f
        self.convs = nn.Sequential(*convs, nn.Flatten())
        flat = (height // scale) * (width // scale) * filters[-1]
        self.mean = nn.Linear(flat, latent_dim)
        self.log_var = nn.Linear(flat, latent_dim)

    def forward(self, x):
        h = self.convs(x)
        return self.mean(h), self.log_var(h)


class ConvDecoder(nn.Module):
    """z (N, latent_dim) -> Bernoulli logits (N, C, H, W)."""

    def __init__(self, input_shape=(28, 28, 1), latent_dim: int = 16, filters=(32, 64),
                 kernel_size: int = 3):
        super().__init__()
        height, width, channels = input_shape
        scale = 2 ** len(filters)
        self.start = (filters[-1], height // scale, width // scale)
        self.project = nn.Linear(latent_dim, math.prod(self.start))
        layers, c_in, pad = [], filters[-1], kernel_size // 2
        for f in reversed(filters):
            layers += [nn.ConvTranspose2d(c_in, f, kernel_size, stride=2, padding=pad,
                                          output_padding=1), nn.ReLU()]
            c_in = f
        layers.append(nn.Conv2d(c_in, channels, kernel_size, padding=pad))
        self.deconvs = nn.Sequential(*layers)

    def forward(self, z):
        h = torch.relu(self.project(z)).view(-1, *self.start)
        return self.deconvs(h)


class TorchConvVAE(nn.Module):
    """Encoder + reparameterised sampling + decoder; `loss` is the negative ELBO in nats."""

    def __init__(self, input_shape=(28, 28, 1), latent_dim: int = 16, filters=(32, 64),
                 kernel_size: int = 3):
        super().__init__()
        self.encoder = ConvEncoder(input_shape, latent_dim, filters, kernel_size)
        self.decoder = ConvDecoder(input_shape, latent_dim, filters, kernel_size)
        _glorot_(self)

    def count_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def loss(self, x):
        mean, raw = self.encoder(x)
        log_var = LOG_VAR_BOUND * torch.tanh(raw / LOG_VAR_BOUND)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        logits = self.decoder(z)
        recon = (nn.functional.softplus(logits) - x * logits).sum(dim=(1, 2, 3)).mean()
        kl = (0.5 * (log_var.exp() + mean.square() - 1.0 - log_var)).mean(dim=0).sum()
        return recon + kl


class TorchLoop:
    """Shuffled mini-batch training on an in-memory NCHW tensor with torch.optim.Adam."""

    def __init__(self, x: np.ndarray, batch_size: int, seed: int = 0, learning_rate=1e-3,
                 **net_kwargs):
        torch.manual_seed(seed)
        self.net = TorchConvVAE(input_shape=x.shape[1:], **net_kwargs)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=learning_rate, eps=1e-7)
        self.data = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def step(self, batch) -> torch.Tensor:
        self.opt.zero_grad(set_to_none=True)
        loss = self.net.loss(batch)
        loss.backward()
        self.opt.step()
        return loss.detach()

    def train(self, steps: int) -> float:
        """`steps` Adam steps on batches of a fresh permutation; returns the last loss."""
        order = torch.randperm(len(self.data), generator=self.generator)
        loss = None
        for i in range(steps):
            start = (i * self.batch_size) % (len(self.data) - self.batch_size + 1)
            loss = self.step(self.data[order[start : start + self.batch_size]])
        return float(loss)
