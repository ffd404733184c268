"""`make figures-quick`: every figure script runs end to end on its tiny budget, so none can rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# what the scripts' quick runs promise (their docstrings), all written into --out
QUICK_FILES = [
    "minatar_breakout_curve.png", "minatar_breakout_curve.csv", "minatar_breakout_summary.json",
    "conversion.png", "conversion.csv", "conversion_seeds.csv", "conversion_goal.csv",
    "sdn_convergence.png", "sdn_convergence.csv", "sdn_summary.csv", "sdn_sweeps.png",
    "sdn_sweeps.csv", "sdn_brian2.json",
    "energy.png", "energy.csv", "energy.json",
    "tap_table.csv", "tap_curves.csv", "tap_curves.png", "tap_scores.csv", "tap_scores.png",
    "tap_energy.csv", "tap_energy.png", "tap_energy_chips.csv", "tap_claims.csv",
    "marl_table.csv", "marl_curves.csv", "marl_curves.png", "marl_energy.csv", "marl_energy.png",
    "marl_claims.csv", "marl_random.csv",
]


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(f.relative_to(folder)): (f.stat().st_mtime_ns, f.stat().st_size)
            for f in folder.rglob("*") if f.is_file()}


def test_make_figures_quick(tmp_path):
    import matplotlib.image

    figures = _snapshot(ROOT / "figures")
    out = tmp_path / "figures-quick"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_figures.py"), "--quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, f"make_figures --quick failed:\n{proc.stdout[-4000:]}\n" \
        f"{proc.stderr[-6000:]}"
    for name in QUICK_FILES:
        path = out / name
        assert path.is_file() and path.stat().st_size > 0, f"{name}: missing or empty"
        if name.endswith(".png"):
            image = matplotlib.image.imread(path)
            assert image.size > 0 and image.shape[0] > 0 and image.shape[1] > 0, name
    assert _snapshot(ROOT / "figures") == figures, "the quick run touched figures/"
