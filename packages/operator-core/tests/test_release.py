"""What the built package tells people: its README, license, version, and its sdist's tests."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

from typer.testing import CliRunner

import operator_core
from operator_core.cli import app

PACKAGE = Path(__file__).resolve().parent.parent


def _project():
    return tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]


def test_the_long_description_is_a_real_readme():
    """The package README (the wheel's long description) says how to install and use it."""
    project = _project()
    assert project["readme"] == "README.md"
    readme = (PACKAGE / "README.md").read_text()
    assert len(readme.splitlines()) > 60
    for needed in ("## Install", "pip install operator-core", "operator docker ps", "## Python"):
        assert needed in readme


def test_the_license_is_an_spdx_expression_with_its_text_shipped():
    """project.license is the SPDX string (not the deprecated table) and the file exists."""
    project = _project()
    assert project["license"] == "MIT"
    assert all((PACKAGE / name).is_file() for name in project["license-files"])


def test_the_version_has_one_source_and_the_cli_reports_it():
    """Pyproject reads __version__; `operator --version` prints what is installed."""
    assert "version" in _project()["dynamic"]
    assert version("operator-core") == operator_core.__version__
    shown = CliRunner().invoke(app, ["--version"], prog_name="operator")
    assert shown.stdout.strip() == f"operator-core {operator_core.__version__}"


def test_the_sdist_ships_the_whole_test_suite():
    """MANIFEST.in grafts tests/, so conftest, fakes and engine tests travel together."""
    manifest = (PACKAGE / "MANIFEST.in").read_text().splitlines()
    assert "graft tests" in manifest
