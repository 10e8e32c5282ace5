"""hwnas.export: ship a chosen architecture as a model file, an ONNX file or a timm model.

- :func:`save_model` / :func:`load_model` / :func:`read_model_info`: ``model.pt``, a plain network's
  weights plus the ArchSpec and settings that rebuild it (read with ``weights_only=True``).
- :func:`export_onnx`: torch's ONNX exporter, checked with onnxruntime (``pip install "hwnas[export]"``).
- :func:`build_timm_model`, :func:`register_timm_model`, :func:`to_timm_state_dict`: MobileNet-style
  spaces (``proxyless``, ``fbnet``) as timm EfficientNets.

Example:
    >>> from hwnas.api import ARCHS
    >>> from hwnas.export import build_timm_model
    >>> type(build_timm_model(ARCHS.get("fbnet_c"))).__name__
    'EfficientNet'
"""

from hwnas.export.errors import ExportError, ModelFileError
from hwnas.export.onnx import OnnxReport, export_onnx
from hwnas.export.pt import FORMAT, ModelInfo, build_network, load_model, read_model_info, save_model
from hwnas.export.timm import (
    build_timm_model,
    from_timm_state_dict,
    register_timm_model,
    timm_key_map,
    timm_model_name,
    timm_spec,
    to_timm_state_dict,
)

__all__ = [
    "FORMAT", "ExportError", "ModelFileError", "ModelInfo", "OnnxReport", "build_network", "build_timm_model",
    "export_onnx", "from_timm_state_dict", "load_model", "read_model_info", "register_timm_model", "save_model",
    "timm_key_map", "timm_model_name", "timm_spec", "to_timm_state_dict",
]
