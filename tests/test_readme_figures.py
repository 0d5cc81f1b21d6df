"""The README's benchmark figures are the bench's: the block bench/report.py generates from
bench/results.json must appear verbatim in README.md and in bench/report.md, so no figure
is copied by hand (or left behind when `make bench` runs again)."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.report import headline  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"


def block() -> str:
    return headline(json.loads(RESULTS.read_text()))


def test_report_carries_the_block_of_its_results():
    assert block() in (ROOT / "bench" / "report.md").read_text(), "bench/report.md is older than bench/results.json"


def test_readme_quotes_the_bench_block():
    readme = (ROOT / "README.md").read_text()
    assert block() in readme, (
        "README.md's benchmark figures differ from bench/results.json; paste this block "
        "(printed by `make bench`):\n" + block()
    )


def test_block_states_ratios_from_the_same_run():
    text = block()
    assert "bare `rasa init` bot in the same run" in text and "×" in text
