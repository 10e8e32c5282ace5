"""Bad input, by class, through the CLI: one line naming the input and the fix, exit status 2, no traceback.

Each row is one class of bad input (a file that is not UTF-8, malformed YAML or JSON, a folder where a file is
expected, a non-finite or out-of-range number, an output path under a regular file, an untrusted checkpoint...)
against a command that reads it. The Python API raises the same messages as typed ``UserError`` subclasses.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from hwnas.api import ArchSpec, UserError
from hwnas.cli import main

NB201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
TOPO_HEAD = "Layer name,IFMAP Height,IFMAP Width,Filter Height,Filter Width,Channels,Num Filter,Strides,\n"
NOT_UTF8 = b"\xff\xfe\x00name: x\n"
BAD_YAML = "name: x\ntrain: {epochs: 2\n  a: [\n"
ARCH_EXTRA_FIELD = '{"format": "hwnas.archspec/1", "space": "nb201", "choices": {}, "colour": 1}'


def _write(p: Path, data: str | bytes) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return p


def _search_run(d: Path, ckpt: bytes) -> Path:
    """A run folder whose checkpoint holds ``ckpt`` (everything else as a real run has it)."""
    run = d / "runs" / "r"
    _write(run / "config.yaml", (Path(__file__).parents[1] / "recipes" / "quickstart.yaml").read_text())
    _write(run / "checkpoints" / "last.pt", ckpt)
    return run


def _truncated_checkpoint(d: Path) -> bytes:
    torch.save({"model": {"w": torch.zeros(1000)}}, d / "good.pt")
    return (d / "good.pt").read_bytes()[:700]


# (id, argv from a tmp folder, what the one line must say)
CASES: list[tuple[str, Callable[[Path], list[str]], str]] = [
    ("recipe-not-utf8", lambda d: ["search", "--recipe", str(_write(d / "r.yaml", NOT_UTF8))],
     "is not UTF-8 text (byte 0xff at position 0)"),
    ("recipe-bad-yaml", lambda d: ["search", "--recipe", str(_write(d / "r.yaml", BAD_YAML))],
     "r.yaml:3:4: not valid YAML"),
    ("recipe-is-folder", lambda d: ["search", "--recipe", str(d)], "is a folder, not a YAML file"),
    ("recipe-missing", lambda d: ["train", NB201, "--recipe", str(d / "nope.yaml")], "does not exist"),
    ("train-recipe-bad-yaml", lambda d: ["train", NB201, "--recipe", str(_write(d / "t.yaml", "epochs: [1\n"))],
     "t.yaml:2:1: not valid YAML"),
    ("arch-not-utf8", lambda d: ["report", str(_write(d / "arch.json", NOT_UTF8))], "is not UTF-8 text"),
    ("arch-bad-json", lambda d: ["report", str(_write(d / "arch.json", "{\"format\": "))], "not valid JSON"),
    ("arch-is-folder", lambda d: ["report", str(_write(d / "run" / "arch.json", "{}").parent.parent / "run")],
     "is a folder, not a file; did you mean"),
    ("arch-wrong-field", lambda d: ["report", str(_write(d / "a.json", ARCH_EXTRA_FIELD))],
     "unknown ArchSpec field(s) ['colour']"),
    ("nan-lr", lambda d: ["search", "--set", "train.w_lr=nan"], "train.w_lr: expected a finite number, got 'nan'"),
    ("inf-lr", lambda d: ["train", NB201, "--set", "optim.lr=inf"], "optim.lr: expected a finite number"),
    ("zero-batch", lambda d: ["search", "--set", "data.batch_size=0"], "batch_size must be positive, got 0"),
    ("negative-epochs", lambda d: ["train", NB201, "--set", "epochs=-3"], "epochs must be >= 1, got -3"),
    ("portion-out-of-range", lambda d: ["search", "--set", "data.train_portion=1.5"],
     "train_portion must lie strictly between 0 and 1"),
    ("negative-lr", lambda d: ["search", "--set", "train.w_lr=-0.1"], "train.w_lr must be > 0, got -0.1"),
    ("zero-grad-clip", lambda d: ["train", NB201, "--set", "reg.grad_clip=0"], "reg.grad_clip must be > 0"),
    ("momentum-out-of-range", lambda d: ["train", NB201, "--set", "optim.momentum=1.5"],
     "optim.momentum must be in [0, 1)"),
    ("zero-cost-target", lambda d: ["search", "--set", "cost=[{target: 'tpe:systolic-8x8-ws-int8', value: 0}]"],
     "cost.value must be > 0"),
    ("negative-seed", lambda d: ["search", "--set", "seed=-1"], "seed must be in [0, 2**32), got -1"),
    ("data-root-is-a-file", lambda d: ["search", "--set", "data.name=cifar10", "--set",
                                       f"data.root={_write(d / 'f', '')}"], "is a file, not a folder"),
    ("onnx-out-unwritable", lambda d: ["export", NB201, "--format", "onnx", "--out", "/proc/hwnas.onnx"],
     "cannot write ONNX file '/proc/hwnas.onnx'"),
    ("not-a-number", lambda d: ["search", "--set", "train.w_lr=fast"], "train.w_lr: expected a number, got 'fast'"),
    ("out-dir-under-file", lambda d: ["search", "--set", f"out_dir={_write(d / 'f', '')}/runs"],
     "is a file, not a folder; set out_dir"),
    ("train-out-dir-under-file", lambda d: ["train", NB201, "--set", f"out_dir={_write(d / 'f', '')}/runs"],
     "is a file, not a folder; set out_dir"),
    ("checkpoint-random-bytes", lambda d: ["search", "--resume", str(_search_run(d, bytes(range(256)) * 8))],
     "is not a valid hwnas checkpoint"),
    ("checkpoint-truncated", lambda d: ["search", "--resume", str(_search_run(d, _truncated_checkpoint(d)))],
     "is corrupt, truncated or not a checkpoint"),
    ("resume-missing", lambda d: ["search", "--resume", str(d / "nope")], "does not exist"),
    ("train-resume-missing", lambda d: ["train", "--resume", str(d / "nope")], "does not exist"),
    ("search-resume-of-train", lambda d: ["search", "--resume", str(_write(d / "t" / "config.yaml",
                                                                            "epochs: 2\noptim: {lr: 0.1}\n").parent)],
     "is a training run: continue it with hwnas train --resume"),
    ("train-resume-of-search", lambda d: ["train", "--resume", str(_search_run(d, b""))],
     "is a search run: continue it with hwnas search --resume"),
    ("model-random-bytes", lambda d: ["export", "darts_v2", "--weights", str(_write(d / "m.pt", bytes(range(200)))),
                                      "--format", "pt", "--out", str(d / "x.pt")], "is not an hwnas model file"),
    ("topology-nan", lambda d: ["tpe", "--topology", str(_write(d / "t.csv", TOPO_HEAD + "c1,nan,8,3,3,3,8,1,\n")),
                                "--array", "8x8", "--dataflow", "os"], "t.csv:2: 'nan' is not a finite number"),
    ("topology-negative", lambda d: ["tpe", "--topology", str(_write(d / "t.csv", TOPO_HEAD + "c1,-8,8,3,3,3,8,1,\n")),
                                     "--array", "8x8", "--dataflow", "os"], "sizes and stride must be positive"),
    ("topology-not-utf8", lambda d: ["tpe", "--topology", str(_write(d / "t.csv", NOT_UTF8)), "--array", "8x8",
                                     "--dataflow", "os"], "topology file"),
    ("lut-not-utf8", lambda d: ["report", "darts_v2", "--hardware", f"lut:{_write(d / 'l.json', NOT_UTF8)}"],
     "lookup table"),
    ("lut-bad-json", lambda d: ["report", "darts_v2", "--hardware", f"lut:{_write(d / 'l.json', '[1, 2')}"],
     "is not valid JSON"),
    ("predictor-random-bytes", lambda d: ["predictor", "predict", str(_write(d / "p.pt", bytes(range(100)))),
                                          "--archs", str(_write(d / "a.csv", f"arch\n{NB201}\n")),
                                          "--out", str(d / "o.csv")], "not a valid hwnas predictor file"),
    ("predictor-csv-not-utf8", lambda d: ["predictor", "fit", "--space", "nb201", "--train",
                                          str(_write(d / "a.csv", NOT_UTF8)), "--exclude-device", "x",
                                          "--out", str(d / "p.pt")], "a.csv"),
    ("profile-out-under-file", lambda d: ["profile", "--space", "nb201", "--space-kwargs", "{C: 4, N: 1}",
                                          "--out", f"{_write(d / 'f', '')}/l.json"], "is a file, not a folder"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_naming_it(case, tmp_path, capsys, monkeypatch):
    _, argv, expected = case
    monkeypatch.chdir(tmp_path)
    rc = main(argv(tmp_path))
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2, err
    assert len(err) == 1 and err[0].startswith(f"hwnas {argv(tmp_path)[0]}: error: "), err
    assert expected in err[0], err[0]
    assert "weights_only=False" not in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "runs" / "quickstart").exists()  # nothing ran


def test_the_python_api_raises_typed_user_errors(tmp_path):
    from hwnas.api.config import ConfigError, load_yaml
    from hwnas.api.files import FileError
    from hwnas.search import load_search_config
    from hwnas.search.checkpoint import CheckpointError, load_checkpoint

    with pytest.raises(FileError, match="is not UTF-8 text"):
        load_yaml(_write(tmp_path / "r.yaml", NOT_UTF8))
    with pytest.raises(ConfigError, match=r"r2.yaml:1:5: not valid YAML: mapping values are not allowed here"):
        load_yaml(_write(tmp_path / "r2.yaml", "a: b: c\n"))
    with pytest.raises(ConfigError, match="expected a finite number"):
        load_search_config("quickstart", ["train.arch_lr=-inf"])
    with pytest.raises(CheckpointError, match="not a valid hwnas checkpoint") as e:
        load_checkpoint(_write(tmp_path / "c.pt", bytes(range(256)) * 4))
    assert "weights_only=False" not in str(e.value)
    with pytest.raises(UserError, match="is not UTF-8"):
        ArchSpec.load(_write(tmp_path / "a.json", NOT_UTF8))


def test_two_runs_with_the_same_name_never_share_a_folder(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from hwnas.search.prepare import unique_run_dir

    with ThreadPoolExecutor(8) as pool:
        dirs = list(pool.map(lambda _: unique_run_dir(str(tmp_path), "same"), range(16)))
    assert len(set(dirs)) == 16 and all(d.is_dir() for d in dirs)
    assert sorted(d.name for d in dirs) == sorted(["same"] + [f"same-{k}" for k in range(2, 17)])
