"""Run under torchrun by tests/search/test_ddp_search.py: tiny searches whose per-rank state is dumped for comparison.

``sync OUT``: DARTS (perturbation selection), second-order DARTS, ProxylessNAS and GDAS searches, and a
network-accelerator co-search (``cosearch``: DARTS with a TPE hardware space); each rank writes ``OUT/rank<r>.json``
with its final α (the hardware decisions' too), the paths its sampling strategy drew, its losses and its chosen
architecture (with the hardware configuration). ``kill OUT``: a search in which rank 1 dies (``os._exit``) at the
start of its second epoch.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from hwnas.cli._torchrun import job_guard
from hwnas.distributed import destroy_distributed, init_distributed
from hwnas.search import load_search_config, run_search

TINY = ["space.kwargs.C=4", "data.subset=64", "data.image_size=16", "data.batch_size=8", "train.eval_batches=2",
        "selection.name=magnitude", "selection.kwargs={}", "train.progress=false"]


def _record_draws(supernet: Any, draws: list[Any]) -> None:
    decide = supernet._decisions._decide  # what every relaxed Choice asks, once per label and forward

    def recording(label: str) -> Any:
        d = decide(label)
        active = getattr(d, "active", d[0] if isinstance(d, tuple) else None)
        if supernet.training and isinstance(active, int):
            draws.append([label, active])
        return d

    supernet._decisions._decide = recording


def sync(out: Path) -> None:
    rank = int(os.environ["RANK"])
    init_distributed("cpu")  # one group for the three searches (run_search leaves a group it did not start)
    seen: dict[str, Any] = {}
    extra = {"darts": ["selection.name=perturbation", "selection.kwargs={eval_batches: 1, proj_interval: 1}"],
             "darts_second": ["supernet.name=darts", "train.order=second"]}
    for strategy in ("darts", "darts_second", "proxyless", "gdas", "cosearch"):
        draws: list[Any] = []
        patched: list[bool] = []
        losses: list[float] = []

        def on_step(tr: Any, epoch: int, step: int, draws: list[Any] = draws, patched: list[bool] = patched,
                    losses: list[float] = losses) -> None:
            losses.append(tr.last_details["train/loss"])  # this rank's own batch: differs between the ranks
            if not patched:  # from the second step on, every draw of the sampling strategy is recorded
                _record_draws(tr.supernet, draws)
                patched.append(True)

        if strategy == "cosearch":  # two engine kinds keep the hardware tables small
            recipe, sets = "cosearch_nb201", [*TINY, "train.epochs=2", "train.max_steps_per_epoch=6",
                                              "hardware.kwargs.kinds=[systolic, tree]",
                                              "hardware.kwargs.dims={systolic: [8x8, 16x16], tree: [8x8, 16x16]}"]
        else:
            recipe = "quickstart"
            sets = [*TINY, f"supernet.name={strategy}", *extra.get(strategy, []), "train.epochs=2"]
        cfg = load_search_config(recipe, [*sets, f"out_dir={out / 'runs'}", f"name={strategy}"])
        result = run_search(cfg, on_step=on_step, verbose=False)
        seen[strategy] = {
            "alpha": [p.detach().tolist() for p in result.supernet.arch_parameters()],
            "draws": draws, "arch": result.arch.archid, "run_dir": str(result.run_dir),
            "valid_acc": result.history[-1]["valid/acc"], "losses": losses,
            "selection_log": getattr(result.arch, "metrics", {}).get("decisions"),
            "hw_alpha": {k: v.detach().tolist() for k, v in getattr(result.supernet, "hardware").alpha.items()}
            if getattr(result.supernet, "hardware", None) is not None else None,
            "hardware": result.arch.hardware.choices if result.arch.hardware is not None else None,
        }
    (out / f"rank{rank}.json").write_text(json.dumps(seen))
    destroy_distributed()


def kill(out: Path) -> None:
    rank = int(os.environ["RANK"])

    def on_step(tr: Any, epoch: int, step: int) -> None:
        if rank == 1 and epoch == 1:
            os._exit(3)

    cfg = load_search_config("quickstart", [*TINY, "train.epochs=3", f"out_dir={out}", "name=killed"])
    with job_guard("search"):  # as the hwnas command guards each rank
        run_search(cfg, on_step=on_step, verbose=False)


if __name__ == "__main__":
    {"sync": sync, "kill": kill}[sys.argv[1]](Path(sys.argv[2]))
