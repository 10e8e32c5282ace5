"""The hwnas train command: list, train, resume a finished run (nothing measured again), bad input."""

from __future__ import annotations

import json

from hwnas.cli import main
from hwnas.train import list_train_recipes

NB201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"
TINY = ["threads=1", "progress=false", "data.subset=48", "data.batch_size=16", "epochs=1", "max_steps_per_epoch=2",
        "model.space_kwargs={C: 4, N: 1}"]


def _sets(*items: str) -> list[str]:
    return [a for item in items for a in ("--set", item)]


def test_list_train_and_resume_a_finished_run(tmp_path, capsys):
    assert main(["train", "--list-recipes"]) == 0
    assert capsys.readouterr().out.split() == list_train_recipes()
    assert main(["train", NB201, "--quiet", *_sets(*TINY, f"out_dir={tmp_path}")]) == 0
    out = capsys.readouterr().out
    assert "test top-1" in out and "(once, after training)" in out
    run = tmp_path / "quick"
    before = {f: (run / f).read_bytes() for f in ("report.json", "model.pt", "arch.json", "config.yaml")}
    assert main(["train", "--resume", str(run)]) == 0
    assert "finished already" in capsys.readouterr().err
    assert {f: (run / f).read_bytes() for f in before} == before  # nothing rewritten, nothing measured again
    report = before["report.json"]
    assert json.loads(report)["archid"] == json.loads((run / "arch.json").read_text())["archid"]


def test_bad_input_is_one_line_naming_the_fix(tmp_path, capsys):
    assert main(["train"]) == 2
    assert "needs an ARCH" in capsys.readouterr().err
    assert main(["train", NB201, "--recipe", "cifar"]) == 2
    assert "unknown training recipe 'cifar'" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "run folder" in err and "does not exist" in err
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "has no config.yaml" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path), "--recipe", "quick"]) == 2
    assert "drop --recipe" in capsys.readouterr().err
