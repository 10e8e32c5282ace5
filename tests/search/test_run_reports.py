"""Search runs write report.json and pareto.png: the architectures seen, measured and priced, consistent with report."""

from __future__ import annotations

import json

import pytest

from hwnas.cli import main
from hwnas.search import load_search_config, run_search
from hwnas.search.pareto import pareto_front

TINY = ["space.name=nb201", "space.kwargs={C: 4, N: 1}", "selection.name=magnitude", "selection.kwargs={}",
        "data.subset=48", "data.batch_size=8", "train.max_steps_per_epoch=2", "train.eval_batches=1",
        "train.progress=false", "train.log_images_every=100", "train.epochs=3"]


def test_pareto_front_keeps_the_non_dominated_points():
    pts = [(0.5, 10.0), (0.6, 10.0), (0.6, 12.0), (0.4, 5.0), (0.7, 20.0), (0.4, 6.0)]
    assert pareto_front(pts) == [1, 3, 4]
    assert pareto_front([(0.5, 1.0), (0.5, 1.0)]) == [0, 1]  # equal points dominate neither


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    cost = ["cost=[{target: 'tpe:systolic-8x8-ws-int8', metric: latency_ms, value: 1.0, form: soft}]"]
    return run_search(load_search_config("quickstart", [*TINY, *cost, f"out_dir={out}"]), verbose=False)


def test_search_report_json_holds_the_seen_architectures_and_the_prediction(run):
    doc = json.loads((run.run_dir / "report.json").read_text())
    assert doc["kind"] == "search" and doc["archid"] == run.arch.archid
    assert doc["hardware"]["latency_ms"] == pytest.approx(run.arch.metrics["cost/latency_ms"]) and \
        doc["hardware"]["latency_ms"] > 0
    tpe = doc["targets"]["tpe:systolic-8x8-ws-int8"]
    assert tpe["latency_ms"] > 0 and tpe["energy_mj"] > 0 and tpe["cycles"] > 0  # the full prediction, not one metric
    # the differentiable cost term and the engine run on the frozen network agree on the chosen architecture
    assert tpe["latency_ms"] == pytest.approx(doc["hardware"]["latency_ms"], rel=1e-6)
    pts = doc["seen"]["points"]
    assert doc["seen"]["cost"] == "latency_ms (predicted)"
    # three epochs' derived architectures (deduplicated) plus the selection, which magnitude makes the last epoch's
    assert 1 <= len(pts) <= 3 and sum(p["chosen"] for p in pts) == 1
    assert all(0.0 <= p["acc"] <= 1.0 and p["cost"] > 0 for p in pts)
    assert [i for i, p in enumerate(pts) if p["pareto"]] == pareto_front([(p["acc"], p["cost"]) for p in pts])
    assert len({p["archid"] for p in pts}) == len(pts)
    png = (run.run_dir / "pareto.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## Architectures seen" in (run.run_dir / "report.md").read_text()
    assert "test" not in {k.split("/")[0] for h in doc["history"] for k in h}  # a search measures no test figure


def test_search_report_agrees_with_hwnas_report(run, capsys):
    assert main(["report", str(run.run_dir / "arch.json"), "--setting", "search", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    doc = json.loads((run.run_dir / "report.json").read_text())
    assert (figures["params"], figures["flops"]) == (doc["params"], doc["flops"])


def test_pareto_plot_is_in_tensorboard(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run.run_dir), size_guidance={"images": 0}).Reload()
    assert "report/pareto" in events.Tags()["images"]
