"""Synthetic devices for the predictor's tests: latent-cost pretraining devices, and a new device made from a
shipped one."""

from __future__ import annotations

import random
from types import SimpleNamespace

import numpy as np
import torch

from hwnas.latency_models.predictor.bayes import device_heads, device_prior
from hwnas.latency_models.predictor.model import LatencyPredictor
from hwnas.latency_models.predictor.schema import NB201_OPS


def latent_devices(rng: np.random.Generator, n_archs: int, noise: float, *, n_latent: int = 3,
                   n_devices: int = 8) -> SimpleNamespace:
    """``lat`` [archs, latent] and ``a`` [latent, devices] (the noise-free log ms is ``lat @ a``), the measured
    ``f``, its standardized ``z``, and the head prior learnt from them (``heads``, ``mean``, ``cov``)."""
    lat, a = rng.normal(size=(n_archs, n_latent)), rng.normal(size=(n_latent, n_devices))
    f = lat @ a + rng.normal(0.0, noise, size=(n_archs, n_devices))
    z = (f - f.mean(0)) / f.std(0, ddof=1)
    heads = device_heads(f, z)
    mean, cov = device_prior(f, z, heads=heads)
    return SimpleNamespace(lat=lat, a=a, f=f, z=z, heads=heads, mean=mean, cov=cov)


def nb201_arch(rng: random.Random) -> str:
    """A random NB201 arch string."""
    o = [rng.choice(NB201_OPS) for _ in range(6)]
    return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"


def scaled_silver(archs: list[str], noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """ms of "a new device": 1.5x the shipped silver_4210r, times multiplicative noise of log sd ``noise``."""
    ref = LatencyPredictor.load("nb201:silver_4210r")
    with torch.no_grad():
        ms = (1.5 * ref.predict(archs)).double().numpy()
    return ms * np.exp(np.random.default_rng(seed).normal(0.0, noise, len(ms)))
