"""Synthetic pretraining devices for the head's tests: log latency through a few latent costs, plus noise."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from hwnas.latency_models.predictor.bayes import device_heads, device_prior


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
