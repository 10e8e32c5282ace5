"""One search run: build everything from a config, train, select, and write the run folder."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from hwnas.api.archspec import ArchSpec
from hwnas.api.config import ConfigError, dump_yaml, to_dict
from hwnas.data import build_search_data
from hwnas.losses import SearchLoss
from hwnas.search.builders import build_cost_terms, build_selector, build_space, build_supernet, resolve_device
from hwnas.search.checkpoint import find_resume_checkpoint, load_checkpoint, save_run_checkpoint
from hwnas.search.config import SearchConfig
from hwnas.search.loop import BilevelTrainer
from hwnas.search.recipes import load_search_config
from hwnas.search.report import arch_metrics, write_report
from hwnas.search.reproducibility import capture_rng_state, restore_rng_state, seed_everything, set_deterministic
from hwnas.search.tb_logging import SearchLogger, decision_names
from hwnas.selection.pricing import price_terms

StepCallback = Callable[[BilevelTrainer, int, int], None]
EpochCallback = Callable[[BilevelTrainer, int], None]


@dataclass
class SearchResult:
    """What a finished search returns: the chosen architecture and where the run lives."""

    arch: ArchSpec
    run_dir: Path
    supernet: torch.nn.Module
    history: list[dict[str, float]]


def _unique_run_dir(out_dir: str, name: str) -> Path:
    base = Path(out_dir) / name
    if not base.exists():
        return base
    k = 2
    while (Path(out_dir) / f"{name}-{k}").exists():
        k += 1
    return Path(out_dir) / f"{name}-{k}"


def load_run_config(run_dir: Path, overrides: tuple[str, ...] = ()) -> SearchConfig:
    """The resolved config saved in ``run_dir``, with ``overrides`` applied on top."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{run_dir} is not a run folder: it has no config.yaml (resume takes runs/<name>)")
    return load_search_config(str(path), overrides)


def run_search(
    cfg: SearchConfig,
    *,
    resume_dir: str | Path | None = None,
    run_dir: str | Path | None = None,
    on_step: StepCallback | None = None,
    on_epoch_end: EpochCallback | None = None,
    verbose: bool = True,
) -> SearchResult:
    """Run a whole search and write ``runs/<name>/``.

    Args:
        cfg: The typed config (see :func:`hwnas.search.load_search_config`).
        resume_dir: Continue the run in this folder from its last checkpoint.
        run_dir: Write here instead of ``<out_dir>/<name>`` (which gets a ``-2`` suffix if taken).
        on_step / on_epoch_end: Hooks, e.g. for tests or custom logging.

    Example:
        >>> from hwnas.search import load_search_config, run_search
        >>> cfg = load_search_config("quickstart", ["train.epochs=1", "train.max_steps_per_epoch=2"])
        >>> # result = run_search(cfg); print(result.arch.to_json())
    """
    seed_everything(cfg.seed)
    set_deterministic(cfg.deterministic)
    device = resolve_device(cfg.device)
    if resume_dir is not None:
        out = Path(resume_dir)
        ckpt_path = find_resume_checkpoint(out)
    else:
        out = Path(run_dir) if run_dir is not None else _unique_run_dir(cfg.out_dir, cfg.name)
        ckpt_path = None
    out.mkdir(parents=True, exist_ok=True)
    (out / "checkpoints").mkdir(exist_ok=True)
    _write_text_atomic(out / "config.yaml", dump_yaml(cfg))

    d = cfg.data
    data = build_search_data(
        name=d.name,
        root=d.root,
        download=d.download,
        train_portion=d.train_portion,
        image_size=d.image_size,
        subset=d.subset,
        seed=cfg.seed,
        cutout=d.cutout,
    )
    # Train and valid shuffle on independent streams of the seed; a ragged last batch is dropped
    # when a split holds a full one (a batch of one image breaks BatchNorm on 1x1 maps).
    train_loader, valid_loader, _ = data.loaders(batch_size=d.batch_size, seed=cfg.seed, num_workers=d.num_workers)

    space = build_space(cfg, num_classes=data.num_classes, in_channels=data.in_channels)
    supernet = build_supernet(cfg, space).to(device)
    if cfg.train.channels_last:
        supernet = supernet.to(memory_format=torch.channels_last)
    example = data.train[0][0].unsqueeze(0).to(device)
    terms = build_cost_terms(cfg.cost, supernet=supernet, example_input=example, run_dir=out)
    loss = SearchLoss(terms, label_smoothing=cfg.train.label_smoothing)
    trainer = BilevelTrainer(supernet, loss=loss, train=cfg.train, device=device)

    start_epoch = 0
    history: list[dict[str, float]] = []
    if ckpt_path is not None:
        state = load_checkpoint(ckpt_path, map_location=device)
        supernet.load_state_dict(state["model"])
        trainer.load_state_dict(state["trainer"])
        restore_rng_state(state["rng"])
        start_epoch = int(state["epoch"])
        history = list(json.loads(state.get("history_json", "[]")))
        if verbose:
            print(f"resuming {out} from epoch {start_epoch} ({ckpt_path.name})", file=sys.stderr)

    # purge_step hides events an interrupted run wrote after its last checkpoint.
    logger = SearchLogger(out, purge_step=trainer.global_step if ckpt_path is not None else None)
    names = decision_names(supernet)

    def step_hook(tr: BilevelTrainer, epoch: int, step: int) -> None:
        if cfg.train.log_every > 0 and tr.global_step % cfg.train.log_every == 0:
            logger.scalars(tr.last_details, tr.global_step, prefix="step/")
        if on_step is not None:
            on_step(tr, epoch, step)

    try:
        for epoch in range(start_epoch, cfg.train.epochs):
            # Each epoch's order depends on (seed, epoch) only and workers are reseeded, so resume is exact.
            train_loader.set_epoch(epoch)
            valid_loader.set_epoch(epoch)
            epoch_hook = getattr(supernet, "on_epoch_start", None)  # e.g. GDAS anneals its temperature
            if epoch_hook is not None:
                epoch_hook(epoch, cfg.train.epochs)
            bar = tqdm(
                total=trainer.steps_per_epoch(train_loader),
                desc=f"epoch {epoch + 1}/{cfg.train.epochs}",
                disable=not (verbose and cfg.train.progress),
                leave=False,
                file=sys.stderr,
            )
            lr = trainer.w_opt.param_groups[0]["lr"]
            stats = trainer.train_epoch(epoch, train_loader, valid_loader, on_step=step_hook, progress=bar)
            bar.close()
            stats.update(trainer.evaluate(valid_loader, max_batches=cfg.train.eval_batches))
            stats["lr/weights"] = lr
            stats["lr/arch"] = trainer.a_opt.param_groups[0]["lr"]
            stats["epoch"] = epoch + 1
            history.append(stats)
            arch = supernet.export()
            step = trainer.global_step
            logger.scalars({k: v for k, v in stats.items() if k != "epoch"}, step)
            decisions = {**supernet.probabilities(), **supernet.input_weights()}
            images = (epoch + 1) % cfg.train.log_images_every == 0 or epoch + 1 == cfg.train.epochs
            logger.choice_probabilities({k: v.detach() for k, v in decisions.items()}, names, step, image=images)
            logger.derived_arch(arch, supernet.space, step, image=images)
            if verbose:
                print(
                    f"epoch {epoch + 1}/{cfg.train.epochs}  train loss {stats.get('train/loss', float('nan')):.3f} "
                    f"acc {stats.get('train/acc', float('nan')):.3f}  "
                    f"valid acc {stats.get('valid/acc', float('nan')):.3f}"
                    f"  arch {arch.archid}",
                    file=sys.stderr,
                )
            if (epoch + 1) % cfg.checkpoint.every_epochs == 0 or epoch + 1 == cfg.train.epochs:
                save_run_checkpoint(
                    out / "checkpoints",
                    {
                        "model": supernet.state_dict(),
                        "trainer": trainer.state_dict(),
                        "rng": capture_rng_state(),
                        "epoch": epoch + 1,
                        "config": to_dict(cfg),
                        "history_json": json.dumps(history),
                    },
                    epoch=epoch + 1,
                    keep_last=cfg.checkpoint.keep_last,
                )
            if on_epoch_end is not None:
                on_epoch_end(trainer, epoch)

        selector = build_selector(cfg)
        arch = selector.select(supernet, valid_loader=valid_loader, loss=loss, device=device)
        metrics = arch_metrics(
            arch, space_name=cfg.space.name, space_kwargs=dict(arch.space_kwargs), input_size=tuple(example.shape[1:])
        )
        if history:
            metrics["supernet_valid_acc"] = history[-1].get("valid/acc")
        metrics.update(price_terms(loss.terms, supernet, arch))
        arch = arch.with_metrics(**metrics)
        arch.save(out / "arch.json")
        write_report(out / "report.md", cfg=cfg, arch=arch, history=history)
        logger.text("arch", "```\n" + arch.to_json() + "\n```", trainer.global_step)
    finally:
        logger.close()
    return SearchResult(arch=arch, run_dir=out, supernet=supernet, history=history)


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


__all__ = ["SearchResult", "load_run_config", "run_search"]
