"""ONNX export with torch's exporter, checked against PyTorch with onnxruntime.

The exporter is ``torch.onnx.export(..., dynamo=True)``: torch's default since 2.9 (the TorchScript
exporter is deprecated), and it runs offline (it needs ``onnx`` and ``onnxscript``, no download). The
batch dimension is a ``torch.export.Dim`` when ``dynamic_batch``. The model is exported in eval mode,
so training-only branches (the DARTS auxiliary head, drop-path) are not in the graph.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from hwnas.api.files import FileError, make_dir
from hwnas.export.errors import ExportError

_INSTALL = 'pip install "hwnas[export]"'


@dataclass(frozen=True)
class OnnxReport:
    """What was exported and how closely onnxruntime reproduces PyTorch."""

    path: Path
    opset: int
    input_size: tuple[int, ...]
    dynamic_batch: bool
    checked_batches: tuple[int, ...]
    max_abs_diff: float | None
    atol: float


def export_onnx(model: nn.Module, path: str | os.PathLike[str], *, input_size: tuple[int, ...],
                opset: int | None = None, dynamic_batch: bool = True, check: bool = True,
                atol: float = 1e-4) -> OnnxReport:
    """Export ``model`` (one image tensor in, logits out) to ONNX and check it with onnxruntime.

    Args:
        model: The network; it is put in eval mode.
        path: The ``.onnx`` file to write (atomically).
        input_size: ``(C, H, W)`` of one sample.
        opset: ONNX opset (default: the exporter's).
        dynamic_batch: Make the batch dimension symbolic (checked at two batch sizes).
        check: Run onnxruntime on random inputs and compare with PyTorch.
        atol: Largest absolute difference accepted by the check.

    Raises:
        ExportError: a missing optional dependency, or outputs that differ by more than ``atol``.

    Example:
        >>> import tempfile
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        >>> export_onnx(net, f"{tempfile.mkdtemp()}/net.onnx", input_size=(3, 8, 8)).max_abs_diff < 1e-4
        True
    """
    for module in ("onnx", "onnxscript") + (("onnxruntime",) if check else ()):
        _require(module)
    model = model.eval()
    path = Path(path)
    make_dir(path.parent, what="output folder", fix="pass another --out")
    example = torch.randn(2, *input_size)
    kwargs: dict = {"input_names": ["input"], "output_names": ["logits"], "dynamo": True, "verbose": False,
                    "external_data": False}
    if opset is not None:
        kwargs["opset_version"] = int(opset)
    if dynamic_batch:
        kwargs["dynamic_shapes"] = ({0: torch.export.Dim("batch", min=1, max=4096)},)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp.onnx")
    except OSError as e:
        raise FileError(f"cannot write ONNX file {str(path)!r}: {e.strerror or e}; pass another --out") from None
    os.close(fd)
    try:
        # The exporter prints its progress on stdout; a library call stays quiet unless it fails.
        with contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
            program = torch.onnx.export(model, (example,), tmp, **kwargs)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    used_opset = int(opset) if opset is not None else _opset_of(program, path)
    batches = (1, 3) if dynamic_batch else (2,)
    diff = _max_abs_diff(model, path, input_size, batches) if check else None
    if diff is not None and not diff <= atol:
        raise ExportError(f"{path}: onnxruntime's outputs differ from PyTorch's by {diff:.3g} > atol {atol:g}")
    return OnnxReport(path, used_opset, tuple(input_size), dynamic_batch, batches if check else (), diff, atol)


def _require(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        raise ExportError(f"ONNX export needs the {module!r} package: {_INSTALL}") from None


def _opset_of(program: object, path: Path) -> int:
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return next((int(o.version) for o in proto.opset_import if o.domain in ("", "ai.onnx")), -1)


def _max_abs_diff(model: nn.Module, path: Path, input_size: tuple[int, ...], batches: tuple[int, ...]) -> float:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, torch.get_num_threads())
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    gen = torch.Generator().manual_seed(0)
    worst = 0.0
    for b in batches:
        x = torch.randn(b, *input_size, generator=gen)
        with torch.no_grad():
            ref = model(x)
        got = session.run(None, {name: x.numpy()})[0]
        worst = max(worst, float((torch.from_numpy(got) - ref).abs().max()))
    return worst
