"""The red-flag development set v3 (evaluation/dev/red_flags_dev_v3.yml, written by a
helper that saw neither the rules nor the training data; a development set, tuned on):
every emergency and urgent case reaches its tier, with both context layers; false alarms
stay low. The held-out sets are not read here."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEV_V3 = ROOT / "evaluation" / "dev" / "red_flags_dev_v3.yml"
RANK = {None: 0, "none": 0, "urgent": 1, "emergency": 2}
pytestmark = pytest.mark.skipif(not DEV_V3.exists(), reason="dev set v3 not present")
# own layer: 3 / 143 (someone else's past symptoms told without a time cue, docs/triage.md);
# both layers: 3 of 143 since the ConText layer got the coordinated-past reading (6eef6ba)
MAX_FALSE_ALARMS = {"own": 0.025, "medspacy": 0.025}


@pytest.fixture(scope="module")
def cases():
    return yaml.safe_load(DEV_V3.read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("context", ["own", "medspacy"])
def test_dev_v3_recall_and_false_alarms(cases, context):
    from assistant.triage import Triage

    triage = Triage.from_file(context=context)
    missed = [
        c["text"] for c in cases if c["expect"] != "none" and RANK[triage.assess(c["text"]).tier] < RANK[c["expect"]]
    ]
    assert not missed, missed
    harmless = [c["text"] for c in cases if c["expect"] == "none"]
    alarms = [text for text in harmless if triage.assess(text).findings]
    assert len(alarms) / len(harmless) <= MAX_FALSE_ALARMS[context], alarms
