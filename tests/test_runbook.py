"""docs/operations.md says what every alert rule means: each alert in
charts/plaza/alerts/ has a section named after it, and the README links the
runbook."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_alert_has_a_runbook_section() -> None:
    alerts = {
        name
        for rules in (ROOT / "charts/plaza/alerts").glob("*.rules.yaml")
        for name in re.findall(r"^\s*- alert:\s*(\S+)", rules.read_text(), re.MULTILINE)
    }
    assert alerts, "no alert rules found"
    runbook = (ROOT / "docs/operations.md").read_text()
    headings = {
        name.strip()
        for line in re.findall(r"^### (.+)$", runbook, re.MULTILINE)
        for name in line.split("/")
    }
    assert sorted(alerts - headings) == []


def test_readme_links_the_runbook() -> None:
    assert "(docs/operations.md)" in (ROOT / "README.md").read_text()
