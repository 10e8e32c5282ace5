"""MobileNet-style architectures (``proxyless``, ``fbnet``) as timm models built by timm's EfficientNet builder.

A space that supports this has ``timm_spec(arch) -> dict``: the ``arch_def`` (stages of timm block
strings) and the stem, head, activation and input settings, all plain values. From it this module
builds a ``timm.models.efficientnet.EfficientNet`` with the same parameters and the same function as
``space.freeze(arch)``, maps state dicts between the two (the key map is by module order, checked
name by name and shape by shape), and registers ``hwnas_<archid>`` so that ``timm.create_model``
knows it.

Example:
    >>> import timm
    >>> from hwnas.api import ARCHS
    >>> name = register_timm_model(ARCHS.get("fbnet_c"))
    >>> timm.create_model(name, num_classes=10).num_classes
    10
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from hwnas.api.archspec import ArchSpec
from hwnas.export.errors import ExportError
from hwnas.search.builders import resolve_space_class

_ACTS = {"relu6": nn.ReLU6, "relu": nn.ReLU}
# Keywords timm.create_model passes that an EfficientNet does not take.
_CREATE_ONLY = ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir")


def timm_model_name(arch: ArchSpec) -> str:
    """The name :func:`register_timm_model` registers: ``hwnas_<archid>``."""
    return f"hwnas_{arch.archid}"


def timm_spec(arch: ArchSpec, *, space_kwargs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The space's timm view of ``arch`` (``arch_def``, stem, head, activation; plain values).

    Raises:
        ExportError: the space has no timm view (DARTS, NB201: use pt or onnx).
        ArchSpecError: a candidate timm cannot express (FBNet's grouped ``kK_e1_g2``).
    """
    cls = resolve_space_class(arch.space)
    if not callable(getattr(cls, "timm_spec", None)):
        raise ExportError(
            f"timm export is for MobileNet-style spaces (proxyless, fbnet); space {arch.space!r} has no timm "
            "arch_def: export it with --format pt or onnx"
        )
    with torch.device("meta"):  # only the layout is read: no memory, no init time
        space = cls(**dict(arch.space_kwargs if space_kwargs is None else space_kwargs))
        return space.timm_spec(arch)


def build_timm_model(arch: ArchSpec, *, space_kwargs: Mapping[str, Any] | None = None, **kwargs: Any) -> nn.Module:
    """A timm ``EfficientNet`` with the blocks of ``arch`` (same parameters and function as ``space.freeze``).

    Args:
        arch: A ``proxyless`` or ``fbnet`` ArchSpec.
        space_kwargs: The space's settings (default ``arch.space_kwargs``).
        **kwargs: EfficientNet keywords that override the space's (``num_classes``, ``drop_rate``, ...).

    Example:
        >>> from hwnas.api import ARCHS
        >>> build_timm_model(ARCHS.get("proxyless_gpu"), num_classes=10).classifier.out_features
        10
    """
    return _build(timm_spec(arch, space_kwargs=space_kwargs), **kwargs)


def timm_key_map(arch: ArchSpec, *, space_kwargs: Mapping[str, Any] | None = None) -> dict[str, str]:
    """hwnas state-dict key -> timm state-dict key for ``arch`` (every key, buffers included).

    Both networks register their layers in the same order (stem, blocks, head, classifier), so keys
    pair by position; each pair is checked to agree in its last name and its shape.
    """
    kwargs = dict(arch.space_kwargs if space_kwargs is None else space_kwargs)
    spec = timm_spec(arch, space_kwargs=kwargs)
    with torch.device("meta"):
        ours = resolve_space_class(arch.space)(**kwargs).freeze(arch).state_dict()
        theirs = _build(spec).state_dict()
    if len(ours) != len(theirs):
        raise ExportError(f"{arch.archid}: hwnas and timm networks have {len(ours)} and {len(theirs)} state-dict "
                          "entries; the space's timm_spec does not describe its network")
    mapping = {}
    for (k_ours, v_ours), (k_theirs, v_theirs) in zip(ours.items(), theirs.items()):
        if k_ours.rsplit(".", 1)[-1] != k_theirs.rsplit(".", 1)[-1] or v_ours.shape != v_theirs.shape:
            raise ExportError(
                f"{arch.archid}: hwnas {k_ours} {tuple(v_ours.shape)} does not pair with timm {k_theirs} "
                f"{tuple(v_theirs.shape)}; the space's timm_spec does not describe its network"
            )
        mapping[k_ours] = k_theirs
    return mapping


def to_timm_state_dict(state_dict: Mapping[str, torch.Tensor], arch: ArchSpec, *,
                       space_kwargs: Mapping[str, Any] | None = None) -> dict[str, torch.Tensor]:
    """Rename an hwnas state dict of ``arch``'s network to timm's keys."""
    return _rename(state_dict, timm_key_map(arch, space_kwargs=space_kwargs), "hwnas")


def from_timm_state_dict(state_dict: Mapping[str, torch.Tensor], arch: ArchSpec, *,
                         space_kwargs: Mapping[str, Any] | None = None) -> dict[str, torch.Tensor]:
    """Rename a timm state dict of ``arch``'s network to hwnas's keys (inverse of :func:`to_timm_state_dict`)."""
    inverse = {v: k for k, v in timm_key_map(arch, space_kwargs=space_kwargs).items()}
    return _rename(state_dict, inverse, "timm")


def register_timm_model(arch: ArchSpec, *, space_kwargs: Mapping[str, Any] | None = None) -> str:
    """Register ``arch`` with timm so that ``timm.create_model("hwnas_<archid>")`` builds it; returns the name.

    ``create_model`` keywords (``num_classes``, ``in_chans``, ``drop_rate``, ``drop_path_rate``...) override
    the space's settings; ``pretrained=True`` is an error (load the ``.pth`` that ``hwnas export --format
    timm`` writes instead). Registering the same name again replaces the earlier entry.
    """
    spec = timm_spec(arch, space_kwargs=space_kwargs)  # fails now, not at create_model, for darts or g2
    name = timm_model_name(arch)

    def entrypoint(pretrained: bool = False, **kwargs: Any) -> nn.Module:
        if pretrained:
            raise ExportError(f"{name} has no pretrained weights in timm: create it with pretrained=False and "
                              "load the state dict written by 'hwnas export --format timm'")
        for k in _CREATE_ONLY:
            kwargs.pop(k, None)
        return _build(spec, **kwargs)

    from timm.models._registry import register_model

    from hwnas.export import _timm_models

    entrypoint.__name__ = entrypoint.__qualname__ = name
    entrypoint.__module__ = _timm_models.__name__
    setattr(_timm_models, name, entrypoint)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # timm warns when a name is registered again
        register_model(entrypoint)
    return name


def _build(spec: Mapping[str, Any], **overrides: Any) -> nn.Module:
    from timm.models._efficientnet_builder import decode_arch_def
    from timm.models.efficientnet import EfficientNet

    kwargs = {
        "num_classes": spec["num_classes"], "num_features": spec["num_features"], "in_chans": spec["in_chans"],
        "stem_size": spec["stem_size"], "drop_rate": spec["drop_rate"], "fix_stem": True,
        "round_chs_fn": _same, "act_layer": _ACTS[spec["act_layer"]], **overrides,
    }
    model = EfficientNet(block_args=decode_arch_def([list(s) for s in spec["arch_def"]]), **kwargs)
    if spec["stem_stride"] != 2:  # timm's stem is stride 2; the CIFAR variants keep the resolution
        model.conv_stem.stride = (spec["stem_stride"],) * 2
    side = 224 if spec["stem_stride"] == 2 else 32
    model.pretrained_cfg = model.default_cfg = {
        "input_size": (kwargs["in_chans"], side, side), "num_classes": kwargs["num_classes"],
        "interpolation": "bicubic",
        "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225), "crop_pct": 0.875,
        "first_conv": "conv_stem", "classifier": "classifier",
    }
    return model


def _same(channels: int) -> int:
    return channels  # the space already rounded its widths


def _rename(state_dict: Mapping[str, torch.Tensor], mapping: dict[str, str], side: str) -> dict[str, torch.Tensor]:
    unknown = sorted(set(state_dict) - set(mapping))
    missing = sorted(set(mapping) - set(state_dict))
    if unknown or missing:
        raise ExportError(f"the {side} state dict does not fit this architecture: unexpected {unknown[:3]}, "
                          f"missing {missing[:3]}")
    return {mapping[k]: v for k, v in state_dict.items()}


