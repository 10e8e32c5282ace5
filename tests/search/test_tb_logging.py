"""SearchLogger writes event files whose scalar/image/histogram/text tags read back with the expected values."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from hwnas.api import ArchSpec, Choice, InputChoice, check_arch, collect_decisions
from hwnas.search.tb_logging import SearchLogger, decision_names

OPS = ("none", "skip_connect", "max_pool_3x3", "sep_conv_3x3")


def _conv(c_in: int, c_out: int, stride: int, **kw) -> nn.Module:
    return nn.Conv2d(c_in, c_out, 3, stride, 1)


def _space() -> nn.Module:
    mods = nn.ModuleList()
    for prefix in ("normal", "reduce"):
        for j in range(2):
            labels = [f"{prefix}/n{j + 2}_e{i}" for i in range(2 + j)]
            mods.extend(Choice({n: _conv for n in OPS}, label=lb, c_in=4, c_out=4) for lb in labels)
            mods.append(InputChoice(n_candidates=2 + j, n_chosen=2, label=f"{prefix}/n{j + 2}", sources=labels))
    return mods


def _arch(space: nn.Module, normal_op: str) -> ArchSpec:
    choices = {}
    for prefix in ("normal", "reduce"):
        for j in range(2):
            choices[f"{prefix}/n{j + 2}"] = (0, 1)
            for i in range(2 + j):
                choices[f"{prefix}/n{j + 2}_e{i}"] = normal_op if prefix == "normal" else "sep_conv_3x3"
    return check_arch(space, ArchSpec("tiny", choices))


def _read(log_dir: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "images": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_logger_writes_readable_events(tmp_path: Path) -> None:
    space = _space()
    decisions = collect_decisions(space)
    labels = [k for k, v in decisions.items() if not isinstance(v, InputChoice)]
    probs = {k: torch.full((4,), 0.25) for k in labels}
    probs[labels[0]] = torch.tensor([0.0, 0.0, 0.0, 1.0])
    names = decision_names(space)
    assert names[labels[0]] == OPS and names["normal/n3"] == ("in0", "in1", "in2")
    inputs = {"normal/n2": torch.ones(2), "normal/n3": torch.tensor([0.5, 0.25, 0.25])}  # DARTS's ones; PC-DARTS β
    with SearchLogger(tmp_path, flush_secs=1) as log:
        written = log.scalars(
            {"loss": torch.tensor(2.5), "ce": np.float32(2.0), "lr/w": 0.025, "form": "mul", "none": None,
             "cost": {"latency_ms": torch.tensor([3.0])}, "per_class": torch.arange(4.0)},
            step=7,
        )
        assert written == ["loss", "ce", "lr/w", "cost/latency_ms", "per_class"]
        ent = log.choice_probabilities(probs, names, step=1, input_weights=inputs)
        log.choice_probabilities(probs, names, step=2, input_weights=inputs, image=False)
        counts1 = log.derived_arch(_arch(space, "skip_connect"), space, step=1)
        counts2 = log.derived_arch(_arch(space, "sep_conv_3x3"), space, step=2)
        log.text("notes", "hello")
    # normalised entropies: decided 0, uniform 1; op choices and input choices apart
    assert ent[labels[0]] == 0.0 and ent[labels[1]] == pytest.approx(1.0)
    assert ent["normal/n3"] == pytest.approx(1.5 * math.log(2) / math.log(3))
    assert ent["arch/entropy_ops"] == pytest.approx((len(labels) - 1) / len(labels))
    assert ent["arch/entropy_inputs"] == pytest.approx((1.0 + 1.5 * math.log(2) / math.log(3)) / 2)
    # normal cell: 2 + 2 kept edges, all skip -> 4 parameter-free picks; reduce: none
    assert counts1["arch/param_free_ops"] == 4 and counts1["arch/param_free_ops/normal"] == 4
    assert counts1["arch/param_free_ops/reduce"] == 0 and counts1["ops/skip_connect"] == 4
    assert counts1["arch/changed_choices"] == 0 and counts2["arch/changed_choices"] == 4  # no empty chart
    assert counts2["arch/param_free_ops"] == 0

    acc = _read(tmp_path)
    tags = acc.Tags()
    for t in ("loss", "ce", "lr/w", "cost/latency_ms", "arch/entropy_ops", "arch/entropy_inputs",
              f"probs/{labels[0]}/{OPS[0]}", "inputs/normal/n3/in0", "arch/param_free_ops",
              "arch/param_free_ops/normal", "arch/changed_choices"):
        assert t in tags["scalars"], t
    assert not any(t.startswith("inputs/normal/n2") for t in tags["scalars"])  # constant weights: no chart
    assert [e.value for e in acc.Scalars(f"probs/{labels[0]}/{OPS[3]}")] == [1.0, 1.0]
    assert acc.Scalars("loss")[0].step == 7 and acc.Scalars("loss")[0].value == pytest.approx(2.5)
    assert [e.value for e in acc.Scalars("arch/param_free_ops")] == [4.0, 0.0]
    assert set(tags["images"]) == {"arch/probabilities", "arch/input_weights", "arch/derived"}
    assert [e.step for e in acc.Images("arch/derived")] == [1, 2]
    img = acc.Images("arch/probabilities")[0]
    assert img.width > 100 and img.height > 100 and img.encoded_image_string[:4] == b"\x89PNG"
    assert tags["histograms"] == ["per_class"]  # no histograms of probability vectors
    text_tags = set(tags["tensors"])
    assert {"notes/text_summary", "arch/spec/text_summary"} <= text_tags
    spec = acc.Tensors("arch/spec/text_summary")[-1].tensor_proto.string_val[0].decode()
    assert '"space": "tiny"' in spec
    # the custom-scalars layout: one multi-line chart per choice, grouped by cell type
    from tensorboard.plugins.custom_scalar import layout_pb2, metadata

    layout = layout_pb2.Layout()
    layout.ParseFromString(acc.Tensors(metadata.CONFIG_SUMMARY_TAG)[0].tensor_proto.string_val[0])
    cats = {c.title: [ch.title for ch in c.chart] for c in layout.category}
    assert cats["op probabilities: normal"][:1] == [labels[0]] and "input weights: normal" in cats
    chart = layout.category[0].chart[0].multiline.tag[0]
    assert re.match(chart, f"probs/{labels[0]}/{OPS[1]}") and not re.match(chart, f"probs/{labels[1]}/{OPS[1]}")


def test_hardware_decisions_get_charts_and_a_heatmap_like_the_network(tmp_path: Path) -> None:
    hw = {"kind": torch.tensor([0.7, 0.3]), "opt1": torch.tensor([0.4, 0.6]), "precision": torch.tensor([1.0])}
    values = {"kind": ("systolic", "tree"), "opt1": (False, True), "precision": ("int8",)}
    with SearchLogger(tmp_path, flush_secs=1) as log:
        log.choice_probabilities({"e0": torch.tensor([0.5, 0.5])}, {"e0": ("a", "b")}, step=1)
        ent = log.hardware_probabilities(hw, values, step=1, image=True)
        log.choice_probabilities({"e0": torch.tensor([0.4, 0.6])}, {"e0": ("a", "b")}, step=2)
        log.hardware_probabilities(hw, values, step=2)  # no image, no new layout
    # 0.7/0.3 has entropy 0.8813 bits; 0.4/0.6 0.9710; the single-value decision counts for nothing
    assert ent["kind"] == pytest.approx(0.8813, abs=1e-4) and "precision" not in ent
    assert ent["arch/entropy_hw"] == pytest.approx((0.8813 + 0.9710) / 2, abs=1e-4)
    acc = _read(tmp_path)
    assert [e.value for e in acc.Scalars("hw_probs/opt1/True")] == pytest.approx([0.6, 0.6])
    assert [e.step for e in acc.Images("arch/hardware_probabilities")] == [1]
    from tensorboard.plugins.custom_scalar import layout_pb2, metadata

    written = acc.Tensors(metadata.CONFIG_SUMMARY_TAG)
    assert len(written) == 2  # the network's layout, then the same with the hardware category
    layout = layout_pb2.Layout()
    layout.ParseFromString(written[-1].tensor_proto.string_val[0])
    cats = {c.title: [ch.title for ch in c.chart] for c in layout.category}
    assert cats == {"op probabilities": ["e0"], "hardware decisions": ["kind", "opt1", "precision"]}
    chart = [c for c in layout.category if c.title == "hardware decisions"][0].chart[0].multiline.tag[0]
    assert re.match(chart, "hw_probs/kind/tree") and not re.match(chart, "hw_probs/opt1/True")


def test_purge_step_hides_events_of_an_interrupted_run(tmp_path: Path) -> None:
    with SearchLogger(tmp_path) as log:
        for s in range(5):
            log.scalars({"loss": float(s)}, step=s)
    with SearchLogger(tmp_path, purge_step=3) as log:  # resumed from a checkpoint at step 3
        for s in range(3, 5):
            log.scalars({"loss": 10.0 + s}, step=s)
    values = [(e.step, e.value) for e in _read(tmp_path).Scalars("loss")]
    assert values == [(0, 0.0), (1, 1.0), (2, 2.0), (3, 13.0), (4, 14.0)]
