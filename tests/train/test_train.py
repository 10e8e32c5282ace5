"""hwnas train: recipes hold the papers' numbers, every recipe trains a few steps, resume is exact, test once."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from hwnas.api import ARCHS, ArchSpec, ConfigError
from hwnas.export.pt import load_model
from hwnas.search.loop import NonFiniteLossError
from hwnas.search.report import network_figures
from hwnas.search_spaces.nb201 import nb201_str_to_arch
from hwnas.train import list_train_recipes, load_train_config, run_training
from hwnas.train.config import OptimConfig, SchedConfig
from hwnas.train.engine import Trainer
from hwnas.train.parts import build_optimizer, build_scheduler
from tests._fake_data import write_fake

NB201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"
TINY = ["threads=1", "progress=false", "data.subset=48", "data.batch_size=16", "epochs=1",
        "max_steps_per_epoch=2", "checkpoint.keep_last=0"]


def _fbnet_arch() -> ArchSpec:
    ops = ["k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip"]
    return ArchSpec("fbnet", {f"l{i}": ops[i % 9] for i in range(22)})


# The arch and the tiny widths each shipped recipe is tried with, and the fake data its dataset needs.
RECIPE_CASES = {
    "darts_cifar10": (lambda: ARCHS.get("darts_v2"), ["model.space_kwargs.C=4", "model.space_kwargs.layers=3"],
                      "cifar10"),
    "darts_imagenet": (lambda: ARCHS.get("pc_darts"), ["model.space_kwargs.C=4", "model.space_kwargs.layers=3",
                                                       "data.image_size=32"], "imagefolder"),
    "nb201": (lambda: nb201_str_to_arch(NB201), ["model.space_kwargs.C=4", "model.space_kwargs.N=1"], "cifar10"),
    "proxyless_imagenet": (lambda: ARCHS.get("proxyless_mobile"), ["model.space_kwargs.width_mult=0.25",
                                                                   "data.image_size=32"], "imagefolder"),
    "fbnet_imagenet": (_fbnet_arch, ["model.space_kwargs.width_mult=0.25", "data.image_size=32"], "imagefolder"),
    "quick": (lambda: nb201_str_to_arch(NB201, C=4, N=1), [], "embedded"),
}


def test_every_shipped_recipe_has_a_case():
    assert sorted(RECIPE_CASES) == list_train_recipes()


def test_recipes_hold_the_papers_numbers():
    d = load_train_config("darts_cifar10")
    assert (d.epochs, d.data.batch_size, d.data.cutout, d.optim.lr, d.optim.weight_decay) == (600, 96, 16, 0.025, 3e-4)
    assert dict(d.model.space_kwargs) == {"C": 36, "layers": 20, "stem": "cifar"}
    assert (d.reg.drop_path, d.reg.aux_weight, d.reg.grad_clip, d.sched.sched, d.sched.min_lr) == (
        0.2, 0.4, 5.0, "cosine", 0.0)
    darts_opt = build_optimizer(nn.Linear(2, 2), d.optim).param_groups[0]
    assert (darts_opt["nesterov"], darts_opt["momentum"], darts_opt["weight_decay"]) == (False, 0.9, 3e-4)
    i = load_train_config("darts_imagenet")
    assert (i.epochs, i.data.batch_size, i.optim.lr, i.optim.weight_decay, i.reg.label_smoothing) == (
        250, 128, 0.1, 3e-5, 0.1)
    assert (i.model.space_kwargs["C"], i.model.space_kwargs["layers"], i.sched.sched, i.sched.decay_rate) == (
        48, 14, "step", 0.97)
    n = load_train_config("nb201")
    assert (n.epochs, n.data.batch_size, n.optim.opt, n.optim.lr, n.optim.weight_decay) == (
        200, 256, "nesterov", 0.1, 5e-4)
    assert build_optimizer(nn.Linear(2, 2), n.optim).param_groups[0]["nesterov"] is True
    p = load_train_config("proxyless_imagenet")
    assert (p.epochs, p.data.batch_size, p.optim.lr, p.optim.weight_decay, p.optim.no_decay_bn,
            p.reg.label_smoothing, p.sched.per_step) == (300, 256, 0.05, 4e-5, True, 0.1, True)


def test_cosine_matches_torch_cosine_annealing_and_step_matches_darts_imagenet():
    net = nn.Linear(2, 2)
    opt = build_optimizer(net, OptimConfig(lr=0.025))
    sched = build_scheduler(opt, SchedConfig(sched="cosine"), epochs=8, steps_per_epoch=3)
    for e in range(8):
        sched.step(e)
        assert opt.param_groups[0]["lr"] == pytest.approx(0.0125 * (1 + math.cos(math.pi * e / 8)), abs=1e-12)
    opt = build_optimizer(net, OptimConfig(lr=0.1))
    sched = build_scheduler(opt, SchedConfig(sched="step", decay_epochs=1, decay_rate=0.97), epochs=250,
                            steps_per_epoch=3)
    sched.step(10)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.97**10)
    # ProxylessNAS: cosine over iterations, T_cur = epoch * n_batch + batch
    opt = build_optimizer(net, OptimConfig(lr=0.05))
    sched = build_scheduler(opt, SchedConfig(sched="cosine", per_step=True), epochs=4, steps_per_epoch=10)
    sched.step_update(15)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.025 * (1 + math.cos(math.pi * 15 / 40)))


def test_no_decay_bn_exempts_bn_and_biases_only_when_asked():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(2))
    net(torch.zeros(1, 3, 5, 5))
    all_decay = build_optimizer(net, OptimConfig(weight_decay=4e-5))
    assert [g["weight_decay"] for g in all_decay.param_groups] == [4e-5]
    split = build_optimizer(net, OptimConfig(weight_decay=4e-5, no_decay_bn=True))
    by_decay = {g["weight_decay"]: sum(p.numel() for p in g["params"]) for g in split.param_groups}
    assert by_decay == {0.0: 4 + 4 + 2, 4e-5: 3 * 4 * 9 + 2 * 36}


class _AuxNet(nn.Module):
    """Returns (logits, aux) in training, like DARTS's evaluation network, and has drop_path_prob."""

    def __init__(self) -> None:
        super().__init__()
        self.main, self.aux = nn.Linear(4, 3), nn.Linear(4, 3)
        self.drop_path_prob = 0.0

    def forward(self, x: torch.Tensor):
        x = x.flatten(1)
        return (self.main(x), self.aux(x)) if self.training else self.main(x)


def test_auxiliary_loss_and_drop_path_schedule():
    torch.manual_seed(0)
    net = _AuxNet()
    x, y = torch.randn(6, 1, 2, 2), torch.randint(0, 3, (6,))
    opt = build_optimizer(net, OptimConfig(lr=1e-12, weight_decay=0.0))  # the step leaves the weights as they were
    tr = Trainer(net, optimizer=opt, scheduler=build_scheduler(opt, SchedConfig(), epochs=10, steps_per_epoch=1),
                 criterion=nn.CrossEntropyLoss(), device=torch.device("cpu"), epochs=10, aux_weight=0.4,
                 drop_path=0.2)
    stats = tr.train_epoch([(x, y)], 5)
    ce = nn.functional.cross_entropy
    expected = ce(net.main(x.flatten(1)), y) + 0.4 * ce(net.aux(x.flatten(1)), y)
    assert stats["loss"] == pytest.approx(float(expected.detach()), rel=1e-6)
    assert net.drop_path_prob == pytest.approx(0.2 * 5 / 10)


@pytest.mark.parametrize("recipe", sorted(RECIPE_CASES))
def test_every_recipe_trains_a_few_steps_and_writes_its_outputs(recipe, tmp_path):
    make_arch, sets, data = RECIPE_CASES[recipe]
    extra = [f"out_dir={tmp_path}"]
    if data != "embedded":
        write_fake(data, tmp_path / "data")
        extra.append(f"data.root={tmp_path / 'data'}")
    cfg = load_train_config(recipe, [*TINY, *sets, *extra])
    result = run_training(cfg, make_arch(), verbose=False)
    out = result.run_dir
    for f in ("model.pt", "report.json", "report.md", "config.yaml", "arch.json", "checkpoints/last.pt"):
        assert (out / f).is_file(), f
    report = json.loads((out / "report.json").read_text())
    assert report["test"]["note"].startswith("evaluated once")
    net = load_model(out / "model.pt")
    figures = network_figures(net, tuple(report["input_size"]))
    assert (figures["params"], figures["flops"]) == (report["params"], report["flops"])


def test_test_split_is_measured_once_after_training(tmp_path, monkeypatch):
    seen: list[tuple[int, int]] = []
    original = Trainer.evaluate

    def spy(self, loader, *, model=None):
        seen.append((len(loader.dataset), self.global_step))
        return original(self, loader, model=model)

    monkeypatch.setattr(Trainer, "evaluate", spy)
    cfg = load_train_config("quick", [*TINY, "epochs=2", f"out_dir={tmp_path}", "data.subset=60"])
    run_training(cfg, nb201_str_to_arch(NB201, C=4, N=1), verbose=False)
    # two held-out passes (6 images: 10% of 60) during training, one test pass (60 images) at the very end
    assert seen == [(6, 2), (6, 4), (60, 4)]


def test_resume_is_exact_in_deterministic_mode(tmp_path, monkeypatch):
    arch = nb201_str_to_arch(NB201, C=4, N=1)
    base = [*TINY, "deterministic=true", "epochs=2", "max_steps_per_epoch=3", "data.subset=80",
            "reg.mixup=0.2"]  # Mixup draws from NumPy: its stream must repeat too
    straight = run_training(load_train_config("quick", [*base, f"out_dir={tmp_path / 'a'}"]), arch, verbose=False)
    original = Trainer.train_epoch

    def killed_in_epoch_2(self, loader, epoch, **kw):
        if epoch == 1:
            raise KeyboardInterrupt  # the process dies after epoch 1's checkpoint
        return original(self, loader, epoch, **kw)

    monkeypatch.setattr(Trainer, "train_epoch", killed_in_epoch_2)
    cfg = load_train_config("quick", [*base, f"out_dir={tmp_path / 'b'}"])
    with pytest.raises(KeyboardInterrupt):
        run_training(cfg, arch, verbose=False)
    monkeypatch.setattr(Trainer, "train_epoch", original)
    resumed = run_training(cfg, arch, resume_dir=tmp_path / "b" / "quick", verbose=False)
    a = torch.load(straight.model_path, weights_only=True)["state_dict"]
    b = torch.load(resumed.model_path, weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ha, hb = straight.report["history"], resumed.report["history"]
    assert [h["train/loss"] for h in ha] == [h["train/loss"] for h in hb]


def test_a_nan_loss_stops_with_a_clear_error_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    original = Trainer.train_epoch

    def poisoned_in_epoch_2(self, loader, epoch, **kw):
        if epoch == 1:
            self.model.register_forward_hook(lambda module, inputs, out: out * float("nan"))
        return original(self, loader, epoch, **kw)

    monkeypatch.setattr(Trainer, "train_epoch", poisoned_in_epoch_2)
    cfg = load_train_config("quick", [*TINY, "epochs=2", f"out_dir={tmp_path}"])
    with pytest.raises(NonFiniteLossError, match="non-finite at epoch 1.*last good checkpoint is kept: lower optim.lr"):
        run_training(cfg, nb201_str_to_arch(NB201, C=4, N=1), verbose=False)
    state = torch.load(tmp_path / "quick" / "checkpoints" / "last.pt", weights_only=True)
    assert (state["epoch"], state["stage"]) == (0, "train")
    assert all(torch.isfinite(v).all() for v in state["trainer"]["model"].values() if v.is_floating_point())
    assert not (tmp_path / "quick" / "model.pt").exists()


def test_bad_settings_name_the_key_and_the_fix(tmp_path):
    arch = nb201_str_to_arch(NB201, C=4, N=1)
    with pytest.raises(ConfigError, match="aux_weight=0.4 needs an auxiliary head.*set reg.aux_weight=0"):
        run_training(load_train_config("quick", [*TINY, "reg.aux_weight=0.4", f"out_dir={tmp_path}"]), arch,
                     verbose=False)
    with pytest.raises(ConfigError, match="drop_path=0.1 needs a network with drop-path"):
        run_training(load_train_config("quick", [*TINY, "reg.drop_path=0.1", f"out_dir={tmp_path}"]), arch,
                     verbose=False)
    with pytest.raises(ConfigError, match="takes no 'layers'"):
        run_training(load_train_config("quick", [*TINY, "model.space_kwargs.layers=3", f"out_dir={tmp_path}"]),
                     arch, verbose=False)
    with pytest.raises(ConfigError, match="unknown training recipe 'cifar'; shipped: darts_cifar10"):
        load_train_config("cifar")
    with pytest.raises(ConfigError, match="unknown config key 'optim.learning_rate'"):
        load_train_config("quick", ["optim.learning_rate=0.1"])


def test_a_user_training_recipe_starts_from_a_shipped_one(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("base: darts_cifar10\nepochs: 30\nreg: {drop_path: 0.3}\n")
    cfg = load_train_config(str(mine))
    assert (cfg.epochs, cfg.reg.drop_path, cfg.reg.aux_weight, cfg.data.cutout) == (30, 0.3, 0.4, 16)
    mine.write_text("base: quickstart\n")  # a search recipe is not a training recipe
    with pytest.raises(ConfigError, match="unknown base recipe 'quickstart'; shipped recipes: darts_cifar10"):
        load_train_config(str(mine))


def test_train_report_agrees_with_hwnas_report_and_export_reads_the_run(tmp_path, capsys):
    from hwnas.cli import main

    cfg = load_train_config("quick", [*TINY, f"out_dir={tmp_path}"])
    run = run_training(cfg, nb201_str_to_arch(NB201, C=4, N=1), verbose=False)
    capsys.readouterr()
    assert main(["report", str(run.run_dir / "arch.json"), "--setting", "search", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert (figures["params"], figures["flops"]) == (run.report["params"], run.report["flops"])
    assert figures["input_size"] == [1, 28, 28]  # the embedded data's images, as trained
    out = tmp_path / "net.pt"
    assert main(["export", str(run.run_dir / "arch.json"), "--weights", str(run.model_path), "--format", "pt",
                 "--out", str(out)]) == 0
    x = torch.randn(2, 1, 28, 28)
    assert torch.equal(load_model(out)(x), load_model(run.model_path)(x))


def test_randaugment_and_color_jitter_reach_the_training_transforms_only(tmp_path):
    from hwnas.data.augment import Augment, TensorRandAugment
    from hwnas.data.errors import DatasetError
    from hwnas.train.config import TrainDataConfig
    from hwnas.train.data import _base, build_train_data

    d = build_train_data(TrainDataConfig(subset=20, valid_portion=0.5, randaugment="rand-m9-mstd0.5",
                                         color_jitter=(0.4, 0.4, 0.4, 0.1)), seed=0)
    train_tf, valid_tf = _base(d.train)[0].transform.transforms, _base(d.valid)[0].transform.transforms
    names = [type(t).__name__ for t in train_tf]
    assert names.index("ColorJitter") < names.index("TensorRandAugment") < names.index("Normalize")
    assert not any(isinstance(t, TensorRandAugment) for t in valid_tf)
    torch.manual_seed(0)
    x = _base(d.train)[0].images[0].float() / 255
    ra = next(t for t in train_tf if isinstance(t, TensorRandAugment))
    outs = [ra(x) for _ in range(8)]
    assert outs[0].shape == x.shape and any(not torch.allclose(o, x, atol=1 / 255) for o in outs)
    write_fake("imagefolder", tmp_path)
    from hwnas.data import build_eval_data

    folder = build_eval_data(name="imagefolder", root=tmp_path, image_size=32,
                             augment=Augment(color_jitter=(0.4, 0.4, 0.4, 0.1)))
    jitter = next(t for t in folder.train.transform.transforms if type(t).__name__ == "ColorJitter")
    assert jitter.hue == (-0.1, 0.1)  # ProxylessNAS's "strong" jitter, not DARTS's hue 0.2
    with pytest.raises(DatasetError, match="'rand-x9' is not a timm RandAugment config"):
        Augment(randaugment="rand-x9")


def test_a_builder_without_augment_says_how_to_add_it(monkeypatch):
    from hwnas.api import DATASETS
    from hwnas.data import build_eval_data
    from hwnas.data.augment import Augment
    from hwnas.data.errors import DatasetError

    def _builder(*, root=None, download=False, image_size=None, cutout=0):  # an older user builder
        return DATASETS.get("embedded")(image_size=image_size, cutout=cutout)

    monkeypatch.setitem(DATASETS._items, "_no_augment_ds", _builder)
    assert len(build_eval_data(name="_no_augment_ds", subset=10).train) == 10  # fine without extras
    with pytest.raises(DatasetError, match="takes no augment=.*add an 'augment: Augment . None = None' keyword"):
        build_eval_data(name="_no_augment_ds", subset=10, augment=Augment(randaugment="rand-m9"))
