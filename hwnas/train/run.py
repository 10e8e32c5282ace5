"""``hwnas train``: train an architecture from scratch with a paper's protocol and write ``runs/<name>/``."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset, Subset

from hwnas.api.archspec import ArchSpec
from hwnas.api.config import ConfigError, apply_overrides, dump_yaml, from_dict, to_dict
from hwnas.api.errors import UserError
from hwnas.api.files import discard_unused_run_dir, make_dir
from hwnas.api.trace import count_params
from hwnas.data.sampler import EpochDataLoader, EpochSampler, mix_seed
from hwnas.distributed import (
    DistInfo,
    average_buffers,
    barrier,
    broadcast_object,
    destroy_distributed,
    init_distributed,
)
from hwnas.search.checkpoint import (
    CheckpointError,
    find_resume_checkpoint,
    load_checkpoint,
    save_run_checkpoint,
    write_text_atomic,
)
from hwnas.search.prepare import unique_run_dir
from hwnas.search.progress import epoch_progress
from hwnas.search.recipes import read_run_config
from hwnas.search.reproducibility import seed_everything, set_deterministic
from hwnas.search.threads import apply_threads
from hwnas.train.config import TrainRunConfig
from hwnas.train.data import TrainData, build_train_data
from hwnas.train.engine import Trainer, amp_dtype_for, unwrap
from hwnas.train.model import BuiltModel, build_train_model
from hwnas.train.parts import build_ema, build_optimizer, build_scheduler, build_train_loss
from hwnas.train.report import train_report

STAGE_TRAIN, STAGE_DONE = "train", "done"
_EPOCH_STREAM = 5003


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced: its folder, the trained model file and the report's figures."""

    run_dir: Path
    model_path: Path
    report: dict[str, Any]


def load_train_run_config(run_dir: str | Path, overrides: tuple[str, ...] = ()) -> TrainRunConfig:
    """The resolved config saved in ``run_dir/config.yaml`` (for ``--resume``), with overrides applied."""
    return from_dict(TrainRunConfig, apply_overrides(read_run_config(run_dir, kind="train"), overrides))


def run_training(cfg: TrainRunConfig, arch: ArchSpec, *, resume_dir: str | Path | None = None,
                 run_dir: str | Path | None = None, verbose: bool = True) -> TrainResult:
    """Train ``arch`` with ``cfg`` and write ``model.pt``, ``report.json``, ``report.md``, TensorBoard events.

    Under ``torchrun`` every process trains a shard of each batch with DDP; rank 0 logs and writes.

    Args:
        cfg: The typed config (see :func:`hwnas.train.load_train_config`).
        arch: The architecture (published, NB201 string, or any ``arch.json``).
        resume_dir: Continue the run in this folder from its last checkpoint (exact in deterministic mode).
        run_dir: Write here instead of ``<out_dir>/<name>`` (``-2``... when taken).

    Example:
        >>> from hwnas.train import load_train_config, run_training
        >>> cfg = load_train_config("quick", ["epochs=1", "data.subset=64"])
        >>> # result = run_training(cfg, ArchSpec.load("runs/quickstart/arch.json")); result.report["test"]
    """
    threads = apply_threads(cfg.threads)
    info, device = init_distributed(cfg.device)
    try:
        return _run(cfg, arch, info, device, resume_dir=resume_dir, run_dir=run_dir,
                    verbose=verbose and info.is_main, threads=threads)
    finally:
        destroy_distributed()


def _run(cfg: TrainRunConfig, arch: ArchSpec, info: DistInfo, device: torch.device, *, resume_dir: Any,
         run_dir: Any, verbose: bool, threads: str) -> TrainResult:
    seed_everything(cfg.seed)
    set_deterministic(cfg.deterministic)
    out = _run_folder(cfg, info, resume_dir=resume_dir, run_dir=run_dir)
    ckpt_dir = out / "checkpoints"
    state = None
    if resume_dir is not None:
        state = load_checkpoint(find_resume_checkpoint(out), map_location=device)
        if ArchSpec.from_dict(state["arch"]).archid != arch.archid:
            raise CheckpointError(f"{out} trained {state['arch'].get('archid')}, not {arch.archid}; resume it with "
                                  "its own arch.json (hwnas train --resume RUN_DIR takes the one in the folder)")
        if state.get("stage") == STAGE_DONE and (out / "report.json").is_file():
            # A finished run is not trained again, its files are not rewritten and its test split is not measured
            # a second time.
            if verbose:
                print(f"hwnas train: {out} finished already; its model and report are unchanged", file=sys.stderr)
            return TrainResult(out, out / "model.pt", json.loads((out / "report.json").read_text()))
    if info.is_main:
        make_dir(ckpt_dir, what="run folder", fix="set out_dir to a folder you can write (--set out_dir=...)")
        write_text_atomic(out / "config.yaml", dump_yaml(cfg))
    try:
        data = build_train_data(cfg.data, seed=cfg.seed)
        built = build_train_model(arch, space_kwargs=dict(cfg.model.space_kwargs),
                                  freeze_kwargs=dict(cfg.model.freeze_kwargs), num_classes=data.num_classes,
                                  in_channels=data.in_channels, image_size=data.image_size,
                                  aux_weight=cfg.reg.aux_weight, drop_path=cfg.reg.drop_path)
    except UserError:
        if resume_dir is None and run_dir is None and info.is_main:
            discard_unused_run_dir(out)  # bad data or model settings: no empty run folder left behind
        raise
    # The run's arch.json records the network as trained (its widths, classes, input), so that
    # `hwnas report runs/<name>/arch.json --setting search` and `hwnas export` see this very network.
    arch = dataclasses.replace(arch, space_kwargs=built.space_kwargs, metrics={"input_size": list(built.input_size)})
    if info.is_main:
        arch.save(out / "arch.json")
    net = built.net.to(device)
    if cfg.channels_last and device.type == "cuda":  # before DDP builds its gradient buckets from the layout
        net = net.to(memory_format=torch.channels_last)
    train_loader = _loader(data.train, cfg, info)
    steps = len(train_loader) if cfg.max_steps_per_epoch is None else min(len(train_loader), cfg.max_steps_per_epoch)
    model: torch.nn.Module = net
    if info.enabled:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(net, device_ids=[device] if device.type == "cuda" else None)
    optimizer = build_optimizer(net, cfg.optim)
    scheduler = build_scheduler(optimizer, cfg.sched, epochs=cfg.epochs, steps_per_epoch=steps)
    criterion, mixup = build_train_loss(cfg.reg, num_classes=data.num_classes)
    trainer = Trainer(model, optimizer=optimizer, scheduler=scheduler, criterion=criterion, mixup=mixup,
                      ema=build_ema(net, cfg.reg.ema_decay), device=device, epochs=cfg.epochs,
                      amp_dtype=amp_dtype_for(cfg.amp, device), channels_last=cfg.channels_last,
                      grad_clip=cfg.reg.grad_clip, aux_weight=cfg.reg.aux_weight, drop_path=cfg.reg.drop_path,
                      per_step=cfg.sched.per_step, max_steps=cfg.max_steps_per_epoch)
    start, history = 0, []
    if state is not None:
        trainer.load_state_dict(state["trainer"])
        start, history = int(state["epoch"]) + 1, list(state["history"])
    if verbose:
        print(f"hwnas train: {arch.archid} ({arch.space}) on {data.describe()}", file=sys.stderr)
        print(f"  {_describe(built, cfg, device, info)}; {threads}", file=sys.stderr)
        print(f"  run folder: {out}" + (f", resuming at epoch {start}" if resume_dir is not None else ""),
              file=sys.stderr)
    # Every scalar is logged at the optimizer step (epoch figures at the epoch's last step), so all charts share
    # one axis; a resumed run drops whatever the killed one logged after its checkpoint.
    logger = _logger(out, info, purge_step=trainer.global_step + 1 if resume_dir is not None else None)
    valid_loader = _eval_loader(data.valid, cfg, info) if data.valid is not None else None
    try:
        for epoch in range(start, cfg.epochs):
            # Every random draw of an epoch (augmentations, Mixup, dropout, drop-path) comes from generators
            # seeded by (seed, epoch, rank): a resumed run repeats them without storing RNG states, and each
            # rank draws its own. The weights start equal on every rank (DDP broadcasts rank 0's).
            seed_everything(mix_seed(cfg.seed, _EPOCH_STREAM, epoch, info.rank) % 2**32)
            train_loader.set_epoch(epoch)
            bar = epoch_progress(steps, f"epoch {epoch + 1}/{cfg.epochs}", enabled=verbose and cfg.progress)

            def on_step(step: int, values: dict[str, Any], _bar: Any = bar, _epoch: int = epoch) -> None:
                _bar.update(1)
                if step % cfg.log_every == 0:
                    loss = float(values["loss"])
                    _bar.set_postfix(loss=f"{loss:.3f}")
                    if logger is not None:
                        logger.scalars({"train/step_loss": loss, "lr": values["lr"]}, trainer.global_step)

            stats = trainer.train_epoch(train_loader, epoch, on_step=on_step)
            bar.close()
            # DDP syncs gradients, not BatchNorm's running statistics: average them (timm's distribute_bn), so
            # every rank evaluates and saves the same network.
            average_buffers(net, info=info)
            row = {"epoch": epoch, **{f"train/{k}": v for k, v in stats.items()}}
            if valid_loader is not None:
                row.update({f"valid/{k}": v for k, v in trainer.evaluate(valid_loader).items() if k != "images"})
                if trainer.ema is not None:
                    ema = trainer.evaluate(valid_loader, model=trainer.ema.module)
                    row.update({f"valid_ema/{k}": v for k, v in ema.items() if k != "images"})
            history.append(row)
            if logger is not None:
                logger.scalars({k: v for k, v in row.items() if k != "epoch"} | {"epoch": epoch + 1},
                               trainer.global_step)
            if verbose:
                print(_epoch_line(row, cfg.epochs), file=sys.stderr)
            last = epoch == cfg.epochs - 1
            if (epoch + 1) % cfg.checkpoint.every_epochs == 0 or last:
                _save(ckpt_dir, trainer, arch, cfg, epoch, history, info, stage=STAGE_TRAIN)
        return _finish(out, cfg, arch, built, trainer, data, history, info, logger, verbose)
    finally:
        if logger is not None:
            logger.close()


def _finish(out: Path, cfg: TrainRunConfig, arch: ArchSpec, built: BuiltModel, trainer: Trainer, data: TrainData,
            history: list[dict[str, Any]], info: DistInfo, logger: Any, verbose: bool) -> TrainResult:
    # The test split is measured once, here, after the last epoch: nothing above looked at it.
    test = trainer.evaluate(_eval_loader(data.test, cfg, info))
    test_ema = trainer.evaluate(_eval_loader(data.test, cfg, info), model=trainer.ema.module) \
        if trainer.ema is not None else None
    net = unwrap(trainer.model)
    model_path = out / "model.pt"
    report: dict[str, Any] = {}
    if info.is_main:
        from hwnas.export.pt import save_model

        metrics = {"test_acc": test["acc"], "test_acc_top5": test["acc_top5"], "epochs": cfg.epochs,
                   "input_size": list(built.input_size)}
        save_model(model_path, net, arch, space_kwargs=built.space_kwargs, freeze_kwargs=built.freeze_kwargs,
                   metrics=metrics)
        if trainer.ema is not None:
            save_model(out / "model_ema.pt", trainer.ema.module, arch, space_kwargs=built.space_kwargs,
                       freeze_kwargs=built.freeze_kwargs, metrics={"test_acc": test_ema["acc"]})  # type: ignore[index]
        report = train_report(out, cfg=cfg, arch=arch, built=built, net=net, history=history, test=test,
                              test_ema=test_ema, data=data)
        arch.with_metrics(params=report["params"], flops=report["flops"], test_acc=test["acc"]).save(out / "arch.json")
        if logger is not None:
            logger.scalars({"test/acc": test["acc"], "test/acc_top5": test["acc_top5"], "test/loss": test["loss"]},
                           trainer.global_step)
            logger.text("test", "Test split evaluated once, after the last epoch (never used for a decision): "
                        f"top-1 {test['acc']:.4f}, top-5 {test['acc_top5']:.4f} on {int(test['images'])} images.")
    _save(out / "checkpoints", trainer, arch, cfg, cfg.epochs - 1, history, info, stage=STAGE_DONE)
    if verbose:
        print(f"test (once, after training): top-1 {test['acc']:.4f}  top-5 {test['acc_top5']:.4f}", file=sys.stderr)
        print(f"model: {model_path}  report: {out / 'report.md'}", file=sys.stderr)
    return TrainResult(out, model_path, report)


def _run_folder(cfg: TrainRunConfig, info: DistInfo, *, resume_dir: Any, run_dir: Any) -> Path:
    if resume_dir is not None:
        out = Path(resume_dir)
        find_resume_checkpoint(out)  # fails early, naming what is missing
        return out
    # Rank 0 picks the folder (it alone sees which names are taken at this instant) and tells the others.
    name = None
    if info.is_main:
        name = str(Path(run_dir) if run_dir is not None else unique_run_dir(cfg.out_dir, cfg.name))
    out = Path(broadcast_object(name, info=info))
    if info.is_main and run_dir is not None:
        make_dir(out, what="run folder", fix="choose another folder")
    return out


def _loader(ds: Dataset, cfg: TrainRunConfig, info: DistInfo) -> EpochDataLoader:
    n = len(ds)  # type: ignore[arg-type]
    per_rank = math.ceil(n / info.world_size)
    bs = cfg.data.batch_size // info.world_size if info.enabled else cfg.data.batch_size
    if bs < 1:
        raise ConfigError(f"data.batch_size={cfg.data.batch_size} is less than one image per process "
                          f"({info.world_size} processes); raise it")
    sampler = EpochSampler(n, cfg.seed, stream=0, num_replicas=info.world_size, rank=info.rank)
    return EpochDataLoader(ds, seed=cfg.seed, stream=0, batch_size=bs, sampler=sampler, shuffle=False,
                           num_workers=cfg.data.num_workers, drop_last=per_rank >= bs,
                           pin_memory=torch.cuda.is_available())


def _eval_loader(ds: Dataset, cfg: TrainRunConfig, info: DistInfo) -> EpochDataLoader:
    # Disjoint shards without padding: the summed counts over ranks are exactly the split.
    if info.enabled:
        ds = Subset(ds, list(range(info.rank, len(ds), info.world_size)))  # type: ignore[arg-type]
    bs = cfg.data.eval_batch_size or cfg.data.batch_size
    return EpochDataLoader(ds, seed=cfg.seed, stream=2, batch_size=bs, shuffle=False,
                           num_workers=cfg.data.num_workers, pin_memory=torch.cuda.is_available())


def _save(ckpt_dir: Path, trainer: Trainer, arch: ArchSpec, cfg: TrainRunConfig, epoch: int,
          history: list[dict[str, Any]], info: DistInfo, *, stage: str) -> None:
    if info.is_main:
        save_run_checkpoint(ckpt_dir, {"trainer": trainer.state_dict(), "epoch": epoch, "history": history,
                                       "arch": arch.to_dict(), "config": to_dict(cfg), "stage": stage},
                            epoch=epoch, keep_last=cfg.checkpoint.keep_last)
    barrier(info)


def _logger(out: Path, info: DistInfo, *, purge_step: int | None) -> Any:
    if not info.is_main:
        return None
    from hwnas.search.tb_logging import SearchLogger

    return SearchLogger(out, purge_step=purge_step)


def _describe(built: BuiltModel, cfg: TrainRunConfig, device: torch.device, info: DistInfo) -> str:
    params = count_params(built.net, exclude=("auxiliary",))
    amp = amp_dtype_for(cfg.amp, device)
    procs = f" x {info.world_size} processes ({info.backend})" if info.enabled else ""
    amp_name = str(amp).replace("torch.", "") if amp else "off"
    return f"{params / 1e6:.3f} M params, device {device}{procs}, amp {amp_name}, {cfg.epochs} epochs"


def _epoch_line(row: dict[str, Any], epochs: int) -> str:
    parts = [f"epoch {row['epoch'] + 1}/{epochs}", f"loss {row['train/loss']:.4f}"]
    if "train/acc" in row:
        parts.append(f"acc {row['train/acc']:.4f}")
    if "valid/acc" in row:
        parts.append(f"held-out acc {row['valid/acc']:.4f}")
    if "valid_ema/acc" in row:
        parts.append(f"(EMA {row['valid_ema/acc']:.4f})")
    parts += [f"lr {row['train/lr']:.3g}", f"{row['train/images_per_s']:.0f} img/s"]
    return "  ".join(parts)
