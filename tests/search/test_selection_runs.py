"""Runs with perturbation selection and with splits: hwnas select on a finished run, resume anywhere, TensorBoard."""

from __future__ import annotations

import json

import pytest
import torch

from hwnas.api import ArchSpec
from hwnas.cli import main
from hwnas.search import load_run_config, load_search_config, run_search
from hwnas.search.checkpoint import load_checkpoint

NB201 = [
    "space.name=nb201",
    "space.kwargs={C: 4, N: 1}",
    "data.subset=48",
    "data.batch_size=8",
    "train.max_steps_per_epoch=2",
    "train.eval_batches=1",
    "train.progress=false",
    "train.log_images_every=100",
    "deterministic=true",
    "selection.name=magnitude",
    "selection.kwargs={}",
]
PT = ["selection.name=perturbation", "selection.kwargs={proj_interval: 1, eval_batches: 1}"]
SPLITS = ["splits.epochs=[1, 2]", "splits.repeats=2", "splits.grad_scope=[cells]", "splits.eval_batches=2"]


def _cfg(tmp_path, *extra):
    return load_search_config("quickstart", [*NB201, f"out_dir={tmp_path}", *extra])


def _tags(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    return EventAccumulator(str(run_dir), size_guidance={"images": 0, "scalars": 0, "tensors": 0}).Reload()


def test_select_cli_reselects_a_finished_run_with_every_method(tmp_path, capsys):
    first = run_search(_cfg(tmp_path, "train.epochs=2"), verbose=False)
    trained = (first.run_dir / "checkpoints" / "trained.pt").read_bytes()
    assert main(["select", str(first.run_dir), "--method", "perturbation", "--quiet",
                 "--set", "selection.kwargs={proj_interval: 1, eval_batches: 1}"]) == 0
    out = tmp_path / "quickstart-perturbation"
    arch = ArchSpec.load(out / "arch.json")
    assert json.loads(capsys.readouterr().out)["archid"] == arch.archid
    assert arch.metrics["selection"] == "perturbation" and arch.metrics["decisions"] == 6
    log = json.loads((out / "selection.json").read_text())["0"]
    assert [e["label"] for e in log] and {e["label"] for e in log} == set(arch.choices)
    assert "## Selection decisions" in (out / "report.md").read_text()
    assert (first.run_dir / "checkpoints" / "trained.pt").read_bytes() == trained  # the source is untouched
    assert load_search_config(str(out / "config.yaml")).selection.name == "perturbation"
    events = _tags(out)
    assert any(t.startswith("select/decision/") for t in events.Tags()["images"])
    assert "select/derived" in events.Tags()["images"] and "select/param_free_ops" in events.Tags()["scalars"]
    # magnitude from the same trained supernet gives the original run's architecture
    assert main(["select", str(first.run_dir), "--method", "magnitude", "--quiet"]) == 0
    assert ArchSpec.load(tmp_path / "quickstart-magnitude" / "arch.json").archid == first.arch.archid
    # constrained can start from perturbation
    assert main(["select", str(first.run_dir), "--method", "constrained", "--quiet", "--set",
                 "selection.kwargs={base: perturbation, base_kwargs: {proj_interval: 1, eval_batches: 1}}"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("argv, message", [
    (["select", "/nonexistent/run"], "not a run folder"),
    (["select", "RUN", "--method", "argmin"], "unknown selector 'argmin'"),
])
def test_select_cli_bad_input_is_one_line(argv, message, tmp_path, capsys):
    run = run_search(_cfg(tmp_path, "train.epochs=1"), verbose=False).run_dir
    assert main([str(run) if a == "RUN" else a for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_select_cli_refuses_an_unfinished_search(tmp_path, capsys):
    class Killed(Exception):
        pass

    def kill(trainer, epoch):
        raise Killed

    with pytest.raises(Killed):
        run_search(_cfg(tmp_path, "train.epochs=3"), on_epoch_end=kill, verbose=False)
    assert main(["select", str(tmp_path / "quickstart")]) == 2
    assert "has not finished training" in capsys.readouterr().err


class _Killed(Exception):
    pass


def _state(res):
    return {k: v.clone() for k, v in res.supernet.state_dict().items()}


def _assert_same(a, b):
    assert a.arch.archid == b.arch.archid and a.leaf == b.leaf
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        torch.testing.assert_close(sa[k], sb[k], rtol=0, atol=0, msg=k)


def test_perturbation_run_killed_during_selection_resumes_exactly(tmp_path, monkeypatch):
    full = run_search(_cfg(tmp_path / "a", "train.epochs=1", *PT), verbose=False)
    import hwnas.selection.perturbation as pt

    real, calls = pt.PerturbationSelector._round, []

    def dying(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise _Killed
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pt.PerturbationSelector, "_round", dying)
    with pytest.raises(_Killed):
        run_search(_cfg(tmp_path / "b", "train.epochs=1", *PT), verbose=False)
    run_dir = tmp_path / "b" / "quickstart"
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert state["stage"] == "select" and state["selection"]["current"]["state"]["rounds_done"] == 2
    monkeypatch.setattr(pt.PerturbationSelector, "_round", real)
    resumed = run_search(load_run_config(run_dir), resume_dir=run_dir, verbose=False)
    _assert_same(full, resumed)


@pytest.mark.parametrize("kill", ["epoch_end", "inside_split"])
def test_split_run_killed_anywhere_resumes_exactly(tmp_path, monkeypatch, kill):
    extra = ("train.epochs=3", *SPLITS)
    full = run_search(_cfg(tmp_path / "a", *extra), verbose=False)
    assert sorted(full.tree.leaves()) == ["0.0.0", "0.0.1", "0.1.0", "0.1.1"]
    import hwnas.search.split_phase as sp

    real, calls = sp.decide_split, []

    def dying(*args, **kwargs):
        calls.append(1)
        if kill == "inside_split" and len(calls) == 2:  # the second split, part-way through its leaves
            raise _Killed
        return real(*args, **kwargs)

    def on_epoch_end(trainer, epoch):
        if kill == "epoch_end" and epoch == 1:
            raise _Killed

    monkeypatch.setattr(sp, "decide_split", dying)
    with pytest.raises(_Killed):
        run_search(_cfg(tmp_path / "b", *extra), on_epoch_end=on_epoch_end, verbose=False)
    monkeypatch.setattr(sp, "decide_split", real)
    run_dir = tmp_path / "b" / "quickstart"
    resumed = run_search(load_run_config(run_dir), resume_dir=run_dir, verbose=False)
    _assert_same(full, resumed)
    assert json.loads((run_dir / "split_tree.json").read_text()) == json.loads(
        (full.run_dir / "split_tree.json").read_text())


def test_split_run_writes_its_tree_leaves_and_chooses_on_held_out_data(tmp_path):
    res = run_search(_cfg(tmp_path, "train.epochs=3", *SPLITS, *PT), verbose=False)
    run = res.run_dir
    tree = json.loads((run / "split_tree.json").read_text())["nodes"]
    leaves = [n for n in tree if not n["children"]]
    assert len(leaves) == 4 and sum(n["chosen"] for n in leaves) == 1
    assert all(n["score"] is not None for n in leaves)
    chosen = next(n for n in leaves if n["chosen"])
    assert res.leaf == chosen["id"] and res.arch.metrics["leaf"] == chosen["id"]
    assert chosen["score"] == max(n["score"] for n in leaves)
    for n in leaves:
        assert (run / "leaves" / n["id"] / "arch.json").is_file()
    # the chosen leaf's restrictions hold in its architecture (PT inside the leaf respected them)
    node, restricted = chosen, {}
    while node["parent"] is not None:
        restricted.setdefault(node["label"], node["group"])
        node = next(n for n in tree if n["id"] == node["parent"])
    assert all(res.arch.choices[lb] in g for lb, g in restricted.items())
    assert "## Sub-supernets (splits)" in (run / "report.md").read_text()
    root = _tags(run).Tags()["images"]
    assert "splits/tree" in root and "splits/distance/0" in root
    assert "valid/acc" in _tags(run / "leaves" / chosen["id"]).Tags()["scalars"]


@pytest.mark.parametrize("restart", ["final", "none"])
def test_children_inherit_or_restart(tmp_path, restart):
    from hwnas.search.prepare import prepare_run
    from hwnas.search.split_phase import split_leaves
    from hwnas.splits import SplitTree

    cfg = _cfg(tmp_path, "train.epochs=3", "splits.epochs=[1]", "splits.repeats=1", f"splits.restart={restart}",
               "splits.method=random", "splits.edge_rule=first")
    ctx = prepare_run(cfg, tmp_path / "run", verbose=False)
    try:
        root = ctx.build_leaf("0")
        root.logger = ctx.logger("0")
        root.trainer.global_step = 7
        kids = split_leaves(ctx, [root], SplitTree(), 1)
        assert [k.id for k in kids] == ["0.0", "0.1"]
        w0 = root.supernet.space.stem[0].weight
        for k in kids:
            assert k.trainer.global_step == 7
            assert set(k.supernet.allowed("1<-0")) < set(root.supernet.allowed("1<-0"))
            same = torch.equal(k.supernet.space.stem[0].weight, w0)
            assert same == (restart == "none")
        if restart == "final":  # a fresh cosine schedule over the epochs left
            assert kids[0].trainer.w_sched.T_max == 2
    finally:
        ctx.close()


@pytest.mark.parametrize("strategy", ["darts", "pc_darts", "proxyless", "gdas"])
def test_splits_and_perturbation_work_on_every_strategy(tmp_path, strategy):
    res = run_search(_cfg(tmp_path, "train.epochs=2", f"supernet.name={strategy}", "splits.epochs=[1]",
                          "splits.repeats=1", "splits.grad_scope=[choices]", "splits.eval_batches=1", *PT),
                     verbose=False)
    assert len(res.tree.leaves()) == 2 and res.arch.metrics["decisions"] == 6
    node = res.tree.nodes[res.leaf]
    assert res.arch.choices[node.label] in node.group
    assert all(res.supernet.is_decided(lb) for lb in res.supernet.labels)


def test_a_checkpoint_that_does_not_fit_its_config_is_one_clear_error(tmp_path):
    from hwnas.search.checkpoint import CheckpointError

    run = run_search(_cfg(tmp_path, "train.epochs=1"), verbose=False).run_dir
    cfg = load_run_config(run, ("space.kwargs={C: 8, N: 1}",))
    with pytest.raises(CheckpointError, match="does not fit the supernet its config builds"):
        run_search(cfg, resume_dir=run, verbose=False)
