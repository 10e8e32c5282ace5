"""The README's promises: two Quick start commands, CI runs the test one, the custom space example is tested."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def _quick_start_commands():
    section = re.search(r"^## Quick start\s*$(.*?)(?=^## )", README, re.S | re.M).group(1)
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_two_quick_start_commands():
    cmds = _quick_start_commands()
    assert len(cmds) == 2
    assert cmds[0].endswith("hwnas search") and "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    assert _quick_start_commands()[1] in ci.splitlines()


def test_custom_space_in_readme_is_the_tested_one():
    text = (REPO / "tests" / "test_custom_space.py").read_text()
    start, end = "# --- exactly as in the README (15 lines) ---\n", "\n# --- end of the README example ---"
    src = text.split(start)[1].split(end)[0].strip()
    assert src in README
    assert len(src.splitlines()) <= 15


def test_masks_example_in_readme_runs():
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    (src,) = [b for b in blocks if "net.perturb(" in b]
    scope: dict = {}
    exec(compile(src, "README.md", "exec"), scope)  # noqa: S102 - our own README, not untrusted input
    net = scope["net"]
    assert net.allowed("1<-0") == ("skip_connect", "nor_conv_3x3") and net.is_decided("2<-1")
    assert scope["logits"].shape == (2, 10)


def _block(marker: str) -> str:
    (src,) = [b for b in re.findall(r"```python\n(.*?)```", README, re.S) if marker in b]
    return src


def test_python_api_search_loop_runs_with_every_strategy(tmp_path, monkeypatch):
    """The README's hand-written search loop, as written, on TinySpace; each registered strategy swapped in."""
    import warnings

    from hwnas.api import SUPERNETS, ArchSpec, Choice

    space_src, loop_src = _block("class TinySpace"), _block("a_opt.step()")
    assert "supernet = DartsSupernet(TinySpace())" in loop_src
    monkeypatch.chdir(tmp_path)
    for name in SUPERNETS.names():
        src = loop_src.replace("DartsSupernet(TinySpace())", f"SUPERNETS.get({name!r})(TinySpace())")
        scope: dict = {"SUPERNETS": SUPERNETS}
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the logging line must not trip autograd's scalar-conversion warning
            exec(compile(space_src + "\n" + src, "README.md", "exec"), scope)  # noqa: S102 - our own README
        arch, net = scope["arch"], scope["net"]
        assert set(arch.choices) == {"b1", "b2"}, name
        assert ArchSpec.load(tmp_path / "arch.json") == arch
        assert not any(isinstance(m, Choice) for m in net.modules())
        assert net(scope["x"][:2]).shape == (2, 10)
        probs = scope["supernet"].arch_state()["probabilities"]["b1"]
        assert all(isinstance(p, float) for p in probs) and abs(sum(probs) - 1) < 1e-6


def test_probabilities_keep_grad_and_arch_state_is_plain():
    """probabilities() is differentiable on purpose (cost terms); arch_state() and no_grad are the logging paths."""
    import torch

    from hwnas.api import SUPERNETS
    from hwnas.search_spaces import NB201Space

    for name in SUPERNETS.names():
        net = SUPERNETS.get(name)(NB201Space(C=2, N=1))
        p = net.probabilities()["1<-0"]
        assert p.requires_grad, name
        with torch.no_grad():
            assert not net.probabilities()["1<-0"].requires_grad
        assert net.arch_state()["probabilities"]["1<-0"] == p.detach().tolist()


def test_readme_mentions_what_exists():
    for text in ("`gdas`", "`fbnet`", "train.order=second", "--quiet", "--input-size", "set_phase",
                 "hwnas.search.loop.phase", "arch_state()", "--setting paper", "base: quickstart", "space_ref"):
        assert text in README, text
