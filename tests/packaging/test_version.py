"""The version lives in one place, smsdesk/__init__.py: the package metadata and `smsdesk --version` read it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import smsdesk
from smsdesk.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def test_version_flag_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"smsdesk {smsdesk.__version__}"


def test_pyproject_reads_the_version_from_the_package_and_the_changelog_names_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "smsdesk/__init__.py"
    assert f"## {smsdesk.__version__}" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
