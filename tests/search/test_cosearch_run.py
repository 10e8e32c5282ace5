"""Co-search through the command line: a tiny run writes the pair into arch.json and `hwnas report --hardware`
prices it; the recipes load typed; bad hardware settings stop with one line."""

from __future__ import annotations

import json

import pytest

from hwnas.api import ArchSpec, ConfigError
from hwnas.cli import main
from hwnas.search import load_search_config

TINY = ["--set", "space.kwargs={C: 4, N: 1}", "--set", "data.subset=32", "--set", "data.batch_size=8",
        "--set", "train.max_steps_per_epoch=2", "--set", "train.epochs=1", "--set", "train.eval_batches=1",
        "--set", "train.log_images_every=100", "--quiet"]


@pytest.mark.parametrize("name", ["cosearch_nb201", "cosearch_fbnet"])
def test_recipes_load_typed(name):
    cfg = load_search_config(name)
    assert cfg.hardware.name == "tpe" and cfg.hardware.area_mm2 == 0.5 and cfg.hardware.power_w == 3.0
    assert {c.target for c in cfg.cost} == {"cosearch"}


def test_cli_cosearch_writes_the_pair_and_report_prices_it(tmp_path, capsys):
    assert main(["search", "--recipe", "cosearch_nb201", "--set", f"out_dir={tmp_path}", *TINY]) == 0
    capsys.readouterr()
    arch = ArchSpec.load(tmp_path / "cosearch_nb201" / "arch.json")
    assert arch.hardware is not None and arch.hardware.space == "tpe"
    assert arch.metrics["hw/area_mm2"] <= 0.5 and arch.metrics["hw/power_w"] <= 3.0
    assert arch.metrics["hw/selected_by"] == "objective" and arch.metrics["hw/objective"] > 0
    report = (tmp_path / "cosearch_nb201" / "report.md").read_text()
    assert f"chosen as the lowest search loss ({arch.metrics['hw/objective']:.4g})" in report
    # the pair's figures are the cost terms' prices of the pair
    assert arch.metrics["cost/latency_ms"] == pytest.approx(arch.metrics["hw/latency_ms"], rel=1e-5)
    assert main(["report", str(tmp_path / "cosearch_nb201" / "arch.json"), "--setting", "search", "--hardware",
                 "--json"]) == 0
    fig = json.loads(capsys.readouterr().out)["hardware"]
    assert fig["engine"] == arch.metrics["hw/engine"]
    for k in ("latency_ms", "energy_mj", "area_mm2", "power_w"):
        assert fig[k] == pytest.approx(arch.metrics[f"hw/{k}"], rel=1e-4), k
    events = list((tmp_path / "cosearch_nb201").glob("events.out.tfevents.*"))
    assert events and b"hw_probs/kind/systolic" in events[0].read_bytes()


def test_bad_hardware_settings_are_one_line_errors(tmp_path, capsys):
    base = ["search", "--recipe", "cosearch_nb201", "--set", f"out_dir={tmp_path}", *TINY]
    assert main([*base, "--set", "hardware.kwargs.kinds=[gpu]"]) != 0
    assert "unknown kinds ['gpu']" in capsys.readouterr().err
    assert main([*base, "--set", "hardware.area_mm2=0.01"]) != 0
    assert "no configuration of the hardware space fits" in capsys.readouterr().err
    assert main([*base, "--set", "hardware.kwargs.clock=3"]) != 0
    assert "unknown config key 'hardware.kwargs.clock'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="needs a hardware space"):
        load_search_config("cosearch_nb201", ["hardware={}"])


def test_report_hardware_without_a_section_is_a_clear_error(capsys):
    assert main(["report", "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|"
                 "skip_connect~2|", "--hardware"]) != 0
    assert "has no hardware section" in capsys.readouterr().err
