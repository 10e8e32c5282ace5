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
