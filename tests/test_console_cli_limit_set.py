"""`fleetctl console --limit-set NAME` refuses an unknown set before the UI starts."""

from pathlib import Path

from typer.testing import CliRunner

from console.cli.console_cmd import _limit_set_saved
from console.cli.main import app

ROOT = Path(__file__).resolve().parents[1]


def _db_with_demo_set(tmp_path) -> Path:
    db = tmp_path / "f.db"
    runner = CliRunner()
    assert runner.invoke(app, ["load", str(ROOT / "fixtures" / "toy.json"), "--db", str(db)]).exit_code == 0
    assert runner.invoke(app, ["limits", "save", "demo", str(ROOT / "fixtures" / "demo-limits.json"),
                               "--db", str(db)]).exit_code == 0
    return db


def test_unknown_limit_set_is_refused_before_the_ui(tmp_path):
    db = _db_with_demo_set(tmp_path)
    result = CliRunner().invoke(app, ["console", "--db", str(db), "--limit-set", "nope"])
    assert result.exit_code == 2
    assert "no limit set named 'nope'" in result.output


def test_saved_limit_sets_are_found_without_sqlmodel(tmp_path):
    db = _db_with_demo_set(tmp_path)
    assert _limit_set_saved(db, "demo")
    assert not _limit_set_saved(db, "nope")
    fresh = tmp_path / "fresh.db"
    assert CliRunner().invoke(app, ["load", str(ROOT / "fixtures" / "toy.json"), "--db", str(fresh)]).exit_code == 0
    assert not _limit_set_saved(fresh, "demo")
