"""End-to-end search runs on tiny settings: run folder, resume exactness, every recipe, bad input."""

from __future__ import annotations

import json

import pytest
import torch

from hwnas.api import ArchSpec
from hwnas.search import NonFiniteLossError, load_search_config, run_search
from hwnas.search.checkpoint import load_checkpoint

TINY = [
    "space.name=darts",
    "space.kwargs={C: 4, layers: 3}",
    "selection.name=magnitude",
    "selection.kwargs={}",
    "data.subset=48",
    "data.batch_size=8",
    "train.max_steps_per_epoch=2",
    "train.eval_batches=1",
    "train.progress=false",
    "train.log_images_every=100",
]


def _cfg(tmp_path, *extra, recipe="quickstart"):
    return load_search_config(recipe, [*TINY, f"out_dir={tmp_path}", *extra])


def test_quickstart_writes_run_folder(tmp_path):
    res = run_search(_cfg(tmp_path, "train.epochs=2", "train.log_every=1"), verbose=False)
    run = res.run_dir
    assert run == tmp_path / "quickstart"
    for f in ("config.yaml", "arch.json", "report.md", "checkpoints/last.pt"):
        assert (run / f).is_file(), f
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run), size_guidance={"images": 0, "scalars": 0}).Reload()
    tags = events.Tags()
    expected = {
        "train/loss",
        "valid/acc",
        "lr/weights",
        "lr/arch",
        "arch/entropy_ops",
        "arch/entropy_inputs",
        "arch/param_free_ops",
        "arch/loss/ce",
        "step/train/loss",
        "step/arch/loss/total",
    }
    assert expected <= set(tags["scalars"])
    assert len(events.Scalars("step/train/loss")) == 4  # 2 epochs x 2 steps, one point per step
    assert {"arch/probabilities", "arch/derived"} <= set(tags["images"])
    assert len(events.Scalars("train/loss")) == 2
    arch = ArchSpec.load(run / "arch.json")
    assert arch == res.arch and arch.space == "darts"
    assert arch.metrics["params"] > 0 and arch.metrics["flops"] > 0
    assert len(res.history) == 2 and 0.0 <= res.history[-1]["valid/acc"] <= 1.0
    saved = load_search_config(str(run / "config.yaml"))
    assert saved.train.epochs == 2 and saved.space.kwargs["C"] == 4
    # a second run with the same name does not overwrite the first
    res2 = run_search(_cfg(tmp_path, "train.epochs=1"), verbose=False)
    assert res2.run_dir == tmp_path / "quickstart-2"


class _Killed(Exception):
    pass


def _final_state(res):
    return {k: v.clone() for k, v in res.supernet.state_dict().items()}


@pytest.mark.parametrize("kill_at", ["epoch_end", "mid_epoch"])
def test_resume_is_exact(tmp_path, kill_at):
    extra = ("train.epochs=3", "deterministic=true")
    full = run_search(_cfg(tmp_path / "a", *extra), verbose=False)

    def on_epoch_end(trainer, epoch):
        if kill_at == "epoch_end" and epoch == 1:
            raise _Killed

    def on_step(trainer, epoch, step):
        if kill_at == "mid_epoch" and epoch == 2 and step == 0:
            raise _Killed

    cfg = _cfg(tmp_path / "b", *extra)
    with pytest.raises(_Killed):
        run_search(cfg, on_epoch_end=on_epoch_end, on_step=on_step, verbose=False)
    run_dir = tmp_path / "b" / "quickstart"
    assert not (run_dir / "arch.json").exists()
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["epoch"] == 2
    from hwnas.search import load_run_config

    resumed = run_search(load_run_config(run_dir), resume_dir=run_dir, verbose=False)
    a, b = _final_state(full), _final_state(resumed)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)
    assert resumed.arch.archid == full.arch.archid
    assert [h["train/loss"] for h in resumed.history] == [h["train/loss"] for h in full.history]


def test_nan_loss_stops_and_keeps_last_checkpoint(tmp_path):
    def poison(trainer, epoch, step):
        if epoch == 1 and step == 0:
            with torch.no_grad():
                for p in trainer.w_params:
                    p.fill_(float("nan"))

    with pytest.raises(NonFiniteLossError, match="loss became nan"):
        run_search(_cfg(tmp_path, "train.epochs=3"), on_step=poison, verbose=False)
    state = load_checkpoint(tmp_path / "quickstart" / "checkpoints" / "last.pt")
    assert state["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["leaves"]["0"]["model"].values() if v.is_floating_point())


def test_space_kwargs_typo_is_named(tmp_path):
    from hwnas.api import ConfigError

    with pytest.raises(ConfigError, match="unknown config key 'space.kwargs.widht'"):
        run_search(_cfg(tmp_path, "space.kwargs.widht=3"), verbose=False)


def test_second_order_run(tmp_path):
    res = run_search(_cfg(tmp_path, "train.epochs=1", "train.order=second"), verbose=False)
    assert json.loads((res.run_dir / "arch.json").read_text())["space"] == "darts"


def test_amp_and_channels_last_paths_run_on_cpu(tmp_path):
    # CUDA is absent here; bfloat16 autocast on the CPU exercises the same code path (no GradScaler).
    res = run_search(
        _cfg(tmp_path, "train.epochs=1", "train.amp=true", "train.amp_dtype=bfloat16", "train.channels_last=true"),
        verbose=False,
    )
    assert res.history[0]["train/loss"] > 0 and res.arch.metrics["params"] > 0


def test_cuda_device_without_cuda_is_a_clear_error(tmp_path):
    from hwnas.api import UserError

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(UserError, match="CUDA is not available here; use --set device=cpu"):
        run_search(_cfg(tmp_path, "device=cuda"), verbose=False)


def test_search_on_tpe_target_meets_the_target(tmp_path):
    target = "tpe:systolic-16x16-ws-int8"

    def cost(value):
        return f"cost=[{{target: '{target}', metric: latency_ms, value: {value}, form: mul, beta: 0.6}}]"

    free = run_search(_cfg(tmp_path / "a", "train.epochs=1", cost(1e6)), verbose=False).arch
    c0 = free.metrics["cost/latency_ms"]
    assert c0 > 0
    budget = 0.8 * c0
    res = run_search(_cfg(tmp_path / "b", "train.epochs=1", cost(budget), "selection.name=constrained"), verbose=False)
    arch = res.arch
    assert arch.metrics["meets_targets"] is True
    assert arch.metrics["cost/latency_ms"] <= budget
    # the figure in arch.json is the engine's own price of the frozen network, not only the table's
    from hwnas.api import SPACES, freeze
    from hwnas.search.report import hardware_figures

    net = freeze(SPACES.get("darts")(**arch.space_kwargs), arch)
    direct = hardware_figures(arch, net, (1, 28, 28), target)["latency_ms"]
    assert direct == pytest.approx(arch.metrics["cost/latency_ms"], rel=1e-6)


def test_measured_target_keeps_its_table_with_the_run(tmp_path, monkeypatch):
    from hwnas.api import COST_MODELS
    from hwnas.latency_models.lut.table import LatencyLUT

    monkeypatch.setenv("HWNAS_LUT_CACHE", str(tmp_path / "cache"))
    measured = COST_MODELS.get("measured")
    monkeypatch.setattr(measured, "warmup", 0)
    monkeypatch.setattr(measured, "repeats", 1)
    cost = "cost=[{target: 'measured:cpu', metric: latency_ms, value: 1000.0, form: mul, beta: 0.6}]"
    res = run_search(_cfg(tmp_path, "train.epochs=1", cost), verbose=False)
    kept = list((res.run_dir / "luts").glob("lut-*.json"))
    assert len(kept) == 1
    lut = LatencyLUT.load(kept[0])
    assert lut.target == "measured:cpu" and lut.metrics == ("latency_ms",)
    assert res.arch.metrics["cost/latency_ms"] > 0
