"""`fleetctl generate --host-scale`: few, big hosts (the issue's 8,000 VMs on 400 hosts)."""

import json

from typer.testing import CliRunner

from console.cli.main import app


def _generate(tmp_path, *extra):
    out = tmp_path / "f.json"
    result = CliRunner().invoke(app, ["generate", "--seed", "3", "--racks", "2", "--hosts-per-rack", "5",
                                      "--vms", "60", "--out", str(out), *extra])
    return result, out


def test_host_scale_multiplies_host_shapes(tmp_path):
    _, plain = _generate(tmp_path)
    small = {h["id"]: h for h in json.loads(plain.read_text())["hosts"]}
    result, scaled = _generate(tmp_path, "--host-scale", "2")
    assert result.exit_code == 0, result.output
    big = {h["id"]: h for h in json.loads(scaled.read_text())["hosts"]}
    assert big.keys() == small.keys()
    assert sum(h["memory_gb"] for h in big.values()) == 2 * sum(h["memory_gb"] for h in small.values())


def test_host_scale_out_of_range_names_the_option(tmp_path):
    result, out = _generate(tmp_path, "--host-scale", "99")
    assert result.exit_code == 2
    assert "--host-scale must be between 0.25 and 16" in result.output
    assert not out.exists()
