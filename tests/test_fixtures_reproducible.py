"""The demo fleet is what the generator makes with the command in fixtures/README.md."""

from pathlib import Path

from typer.testing import CliRunner

from console.cli.main import app

ROOT = Path(__file__).resolve().parents[1]


def test_demo_fixture_is_regenerated_byte_for_byte(tmp_path):
    out = tmp_path / "demo.json"
    args = ["generate", "--seed", "2026", "--datacenters", "1", "--racks", "4", "--hosts-per-rack", "10",
            "--vms", "400", "--customers", "50", "--reboot-fraction", "0.25", "--name", "demo", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (ROOT / "fixtures" / "demo.json").read_bytes()
