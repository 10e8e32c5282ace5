"""``hwnas predictor fit`` / ``predict``: a round trip on small CSVs, and one-line errors for bad input."""

from __future__ import annotations

import csv
import random

import numpy as np
import pytest
import torch

from hwnas.cli import main
from hwnas.latency_models.predictor.model import LatencyPredictor
from hwnas.latency_models.predictor.schema import FBNET_OPS
from tests.latency_models._synthetic import nb201_arch, scaled_silver


def _fbnet(rng):
    return "-".join(rng.choice(FBNET_OPS) for _ in range(22))


def _write(path, header, rows):
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.mark.parametrize(("space", "gen", "device"), [("nb201", nb201_arch, "pixel3"), ("fbnet", _fbnet, "raspi4")])
def test_fit_predict_round_trip(tmp_path, capsys, space, gen, device):
    rng = random.Random(0)
    archs = [gen(rng) for _ in range(30)]
    # The "new device" is 2x the shipped one, so the adapted predictor must reproduce it closely.
    ref = LatencyPredictor.load(f"{space}:{device}")
    with torch.no_grad():
        truth = (2.0 * ref.predict(archs)).tolist()
    train = _write(tmp_path / "train.csv", ["arch", "latency_ms"], list(zip(archs[:20], truth[:20])))
    query = _write(tmp_path / "archs.csv", ["arch"], [[a] for a in archs[20:]])
    out_p, out_csv = tmp_path / "p.pt", tmp_path / "pred.csv"
    assert main(["predictor", "fit", "--space", space, "--train", str(train), "--exclude-device", device,
                 "--out", str(out_p)]) == 0
    assert main(["predictor", "predict", str(out_p), "--archs", str(query), "--out", str(out_csv)]) == 0
    with out_csv.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["arch"] for r in rows] == archs[20:]
    got = [float(r["latency_ms"]) for r in rows]
    errs = sorted(abs(g / t - 1) for g, t in zip(got, truth[20:]))
    # The median of 10 errors on pixel3 (whose ±10% bound is 0.55: the best held-out fit misses half its archs
    # by more) moves with the head's settings: 0.090 before the outlier-robust head, 0.105 with it (nb201).
    assert errs[len(errs) // 2] < 0.12, errs
    fitted = LatencyPredictor.load(out_p)
    assert device not in fitted.devices
    out = capsys.readouterr().out
    assert "fitted" in out
    # the leave-one-out check of the 20 samples is printed and saved with the predictor
    hits = round(fitted.meta["loo_within10"] * 20)
    assert f"leave-one-out check: {hits} of 20 samples predicted within ±10%" in out, out


def test_cli_errors_are_one_line(tmp_path, capsys):
    good = _write(tmp_path / "t.csv", ["arch", "latency_ms"], [[nb201_arch(random.Random(1)), "3.0"]])
    cases = [
        (["predictor", "fit", "--space", "nb201", "--train", str(tmp_path / "none.csv"), "--out", "x.pt"],
         "no such file"),
        (["predictor", "fit", "--space", "nb201", "--train", str(_write(tmp_path / "a.csv", ["arch"], [["x"]])),
          "--out", "x.pt"], "missing column(s) latency_ms"),
        (["predictor", "fit", "--space", "nb201", "--train",
          str(_write(tmp_path / "b.csv", ["arch", "latency_ms"], [["|bad|", "1"]])), "--out", "x.pt"],
         "b.csv:2: bad NB201 arch string"),
        (["predictor", "fit", "--space", "nb201", "--train",
          str(_write(tmp_path / "c.csv", ["arch", "latency_ms"], [[nb201_arch(random.Random(2)), "fast"]])),
          "--out", "x.pt"], "c.csv:2: latency_ms 'fast' is not a number"),
        (["predictor", "fit", "--space", "nb201", "--train", str(good), "--exclude-device", "pixel9",
          "--out", "x.pt"], "unknown device 'pixel9'"),
        (["predictor", "predict", "nb201", "--archs", str(good), "--out", str(tmp_path / "o.csv")],
         "has no target device"),
        (["predictor", "predict", str(tmp_path / "nope.pt"), "--archs", str(good), "--out", "o.csv"],
         "does not exist"),
        (["predictor", "suggest", "--space", "nb201", "--count", "0", "--out", str(tmp_path / "s.csv")],
         "cannot pick 0 archs from a pool of 1000: ask for 1..1000"),
        (["predictor", "suggest", "--space", "nb201", "--exclude-device", "pixel9", "--out", str(tmp_path / "s.csv")],
         "unknown device 'pixel9'"),
    ]
    for argv, msg in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert msg in err and "\n" not in err and "Traceback" not in err, err


def test_devices_lists_the_shipped_devices(capsys):
    assert main(["predictor", "devices", "--space", "fbnet"]) == 0
    out = capsys.readouterr().out.split()
    assert "raspi4" in out and "titan_rtx_64" in out and len(out) == 27


def test_suggest_then_fit(tmp_path, capsys):
    out = tmp_path / "sub" / "suggest.csv"
    assert main(["predictor", "suggest", "--space", "nb201", "--count", "10", "--exclude-device", "silver_4210r",
                 "--out", str(out)]) == 0
    assert "--exclude-device silver_4210r" in capsys.readouterr().out
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10 and all(r["latency_ms"] == "" for r in rows)
    # the empty column is named, not a parse error of ''
    assert main(["predictor", "fit", "--space", "nb201", "--train", str(out), "--out", str(tmp_path / "p.pt")]) == 2
    assert "suggest.csv:2: latency_ms is empty: time |" in capsys.readouterr().err
    # timed on "a device" 1.5x as slow as silver_4210r: the fit from the suggested archs reproduces it
    ms = scaled_silver([r["arch"] for r in rows])
    _write(out, ["arch", "latency_ms"], [[r["arch"], f"{v:.4f}"] for r, v in zip(rows, ms)])
    assert main(["predictor", "fit", "--space", "nb201", "--train", str(out), "--exclude-device", "silver_4210r",
                 "--out", str(tmp_path / "p.pt")]) == 0
    fitted = LatencyPredictor.load(tmp_path / "p.pt")
    archs = [nb201_arch(random.Random(s)) for s in range(200)]
    with torch.no_grad():
        ratio = fitted.predict(archs).double().numpy() / scaled_silver(archs)
    # measured: median 0.991, 0.975 within ±10% (the device's bound is 0.983)
    assert abs(float(np.median(ratio)) - 1.0) < 0.05 and float(np.mean(abs(ratio - 1) < 0.1)) > 0.8, ratio


def test_suggest_more_on_top_of_a_measured_batch(tmp_path, capsys):
    first = tmp_path / "train.csv"
    assert main(["predictor", "suggest", "--space", "nb201", "--count", "10", "--out", str(first)]) == 0
    with first.open() as f:
        rows = list(csv.DictReader(f))
    _write(first, ["arch", "latency_ms"], [[r["arch"], f"{1.0 + i:.1f}"] for i, r in enumerate(rows)])
    # --out may be the --given file: the measured rows stay first, their latencies kept, then 10 new ones
    assert main(["predictor", "suggest", "--space", "nb201", "--count", "10", "--given", str(first),
                 "--out", str(first)]) == 0
    assert f"after the 10 of {first}" in capsys.readouterr().out
    with first.open() as f:
        both = list(csv.DictReader(f))
    assert [r["arch"] for r in both[:10]] == [r["arch"] for r in rows]
    assert [r["latency_ms"] for r in both[:10]] == [f"{1.0 + i:.1f}" for i in range(10)]
    assert all(r["latency_ms"] == "" for r in both[10:]) and len({r["arch"] for r in both}) == 20
    # the same 20 a single request for 20 gives (the design is greedy, so batches nest)
    twenty = tmp_path / "twenty.csv"
    assert main(["predictor", "suggest", "--space", "nb201", "--count", "20", "--out", str(twenty)]) == 0
    with twenty.open() as f:
        assert [r["arch"] for r in csv.DictReader(f)] == [r["arch"] for r in both]
    bad = _write(tmp_path / "bad.csv", ["name"], [["x"]])
    assert main(["predictor", "suggest", "--space", "nb201", "--given", str(bad), "--out", str(twenty)]) == 2
    assert "bad.csv: missing column(s) arch" in capsys.readouterr().err
    junk = _write(tmp_path / "junk.csv", ["arch"], [["|conv_3x3~0|"]])
    assert main(["predictor", "suggest", "--space", "nb201", "--given", str(junk), "--out", str(twenty)]) == 2
    assert "junk.csv:2: " in capsys.readouterr().err


def test_fit_on_noisy_samples_advises_timing_more(tmp_path, capsys):
    archs = [nb201_arch(random.Random(s)) for s in range(10)]
    ms = scaled_silver(archs, noise=0.3)
    train = _write(tmp_path / "t.csv", ["arch", "latency_ms"], [[a, f"{v:.4f}"] for a, v in zip(archs, ms)])
    argv = ["predictor", "fit", "--space", "nb201", "--train", str(train), "--exclude-device", "silver_4210r"]
    assert main([*argv, "--out", str(tmp_path / "p.pt")]) == 0
    out = capsys.readouterr().out
    assert "leave-one-out check: 3 of 10 samples" in out, out  # log sd 0.3 of noise: few within ±10%
    assert (f"hwnas predictor suggest --space nb201 --count 10 --given {train} --exclude-device silver_4210r "
            f"--out {train}") in out, out
    assert main([*argv, "--no-check", "--out", str(tmp_path / "q.pt")]) == 0
    assert "leave-one-out" not in capsys.readouterr().out
    assert "loo_within10" not in LatencyPredictor.load(tmp_path / "q.pt").meta
