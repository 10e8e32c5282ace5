"""``hwnas export ARCH [--weights MODEL_PT] --format pt|onnx|timm --out PATH``: ship an architecture."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

FORMATS = ("pt", "onnx", "timm")


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "export",
        help="export an architecture as a model file, ONNX or a timm model",
        description="Export an architecture. ARCH is a published name (e.g. fbnet_c), an NAS-Bench-201 arch string "
        "or an arch.json file, or '-' for the architecture stored in --weights. With --weights (a model.pt written "
        "by hwnas train or hwnas export --format pt) the trained network is exported; without, the evaluation "
        "network that hwnas report describes, with fresh untrained weights. Formats: pt (a model.pt: weights plus "
        "the ArchSpec; hwnas.export.load_model reads it back), onnx (checked with onnxruntime against PyTorch), "
        "timm (proxyless and fbnet spaces only: a .pth state dict with timm's keys plus a .json sidecar that says "
        "how to register and create the model with timm.create_model).",
    )
    p.add_argument("arch", metavar="ARCH")
    p.add_argument("--weights", default=None, metavar="MODEL_PT", help="a model.pt whose trained weights to export")
    p.add_argument("--format", required=True, choices=FORMATS, help="what to write")
    p.add_argument("--out", required=True, metavar="PATH", help="the file to write (timm: also PATH with .json)")
    p.add_argument("--setting", choices=("paper", "search"), default="paper",
                   help="without --weights: the network to build, as in hwnas report (default: paper)")
    p.add_argument("--input-size", type=int, nargs=3, default=None, metavar=("C", "H", "W"),
                   help="input of one sample for ONNX (default: the space's)")
    return p


def run(args: argparse.Namespace) -> int:
    from hwnas.api.errors import UserError

    if args.input_size is not None and min(args.input_size) < 1:
        got = " ".join(map(str, args.input_size))
        raise UserError(f"--input-size must be three positive integers C H W, got {got}")
    net, arch, settings, input_size = _network(args)
    out = Path(args.out)
    if args.format == "pt":
        from hwnas.export import save_model

        save_model(out, net, arch, **settings)
        print(f"wrote {out} (hwnas model file; read it with hwnas.export.load_model)")
    elif args.format == "onnx":
        from hwnas.export import export_onnx

        report = export_onnx(net, out, input_size=input_size)
        print(f"wrote {out} (ONNX opset {report.opset}, input 1x{'x'.join(map(str, input_size))}, dynamic batch); "
              f"onnxruntime vs PyTorch at batch {' and '.join(map(str, report.checked_batches))}: "
              f"max abs diff {report.max_abs_diff:.2e} (atol {report.atol:g})")
    else:
        _write_timm(net, arch, settings["space_kwargs"], out)
    return 0


def _network(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any], tuple[int, ...]]:
    from hwnas.api.errors import UserError
    from hwnas.search.report import evaluation_network, evaluation_setting, resolve_arch

    if args.weights is None:
        if args.arch == "-":
            raise UserError("ARCH '-' means the architecture stored in --weights; pass --weights MODEL_PT or an ARCH")
        arch = resolve_arch(args.arch)
        net, input_size, setting = evaluation_network(arch, args.setting)
        print(f"no --weights: exporting the evaluation network of {arch.archid} ({setting}) with fresh, untrained "
              "weights")
        settings = {"space_kwargs": evaluation_setting(arch, args.setting)[0], "freeze_kwargs": {}, "metrics": {}}
        return net, arch, settings, tuple(args.input_size or input_size)
    from hwnas.export import ExportError, load_model, read_model_info

    info = read_model_info(args.weights)
    if args.arch != "-":
        named = resolve_arch(args.arch)
        if named.archid != info.arch.archid:
            raise ExportError(
                f"--weights {args.weights} holds architecture {info.arch.archid}, not {named.archid} ({args.arch}); "
                "pass the ARCH it was trained for, or '-' to export the one in the file"
            )
    net = load_model(args.weights)
    print(f"exporting {info.arch.archid} with the weights of {args.weights}")
    settings = {"space_kwargs": dict(info.space_kwargs), "freeze_kwargs": dict(info.freeze_kwargs),
                "metrics": dict(info.metrics)}
    recorded = info.metrics.get("input_size")  # hwnas train records the size it trained at
    size = args.input_size or recorded or _default_input_size(info.arch.space, info.space_kwargs)
    return net, info.arch, settings, tuple(int(v) for v in size)


def _default_input_size(space: str, space_kwargs: dict[str, Any]) -> tuple[int, ...]:
    import torch

    from hwnas.search.builders import resolve_space_class

    with torch.device("meta"):  # only the attribute is read
        built = resolve_space_class(space)(**space_kwargs)
    return tuple(getattr(built, "default_input_size", (3, 32, 32)))


def _write_timm(net: Any, arch: Any, space_kwargs: dict[str, Any], out: Path) -> None:
    import torch

    from hwnas.export import ExportError, build_timm_model, timm_model_name, timm_spec, to_timm_state_dict
    from hwnas.search.checkpoint import save_checkpoint, write_text_atomic

    spec = timm_spec(arch, space_kwargs=space_kwargs)
    state = to_timm_state_dict(net.state_dict(), arch, space_kwargs=space_kwargs)
    model = build_timm_model(arch, space_kwargs=space_kwargs).eval()
    model.load_state_dict(state)
    side = 224 if spec["stem_stride"] == 2 else 32
    x = torch.randn(2, spec["in_chans"], side, side, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = float((model(x) - net.eval()(x)).abs().max())
    if not diff <= 1e-4:
        raise ExportError(f"the timm model computes another function than the hwnas network (max abs diff {diff:.3g})")
    sidecar = out.with_suffix(".json") if out.suffix != ".json" else out.with_name(out.name + ".sidecar.json")
    name = timm_model_name(arch)
    doc = {
        "format": "hwnas.timm/1",
        "model_name": name,
        "weights": out.name,
        "arch": arch.to_dict(),
        "space_kwargs": space_kwargs,
        "timm": spec,
        "usage": [
            "import json, timm, torch",
            "from hwnas.api import ArchSpec",
            "from hwnas.export import register_timm_model",
            f"side = json.load(open('{sidecar.name}'))",
            "name = register_timm_model(ArchSpec.from_dict(side['arch']), space_kwargs=side['space_kwargs'])",
            f"model = timm.create_model(name)  # '{name}'",
            f"model.load_state_dict(torch.load('{out.name}', weights_only=True))",
        ],
    }
    save_checkpoint(out, state)
    write_text_atomic(sidecar, json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out} (timm state dict, {len(state)} entries) and {sidecar}; timm model {name} computes the same "
          f"outputs (max abs diff {diff:.2e}); register it with hwnas.export.register_timm_model (see the sidecar)")
