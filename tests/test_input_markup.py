"""Ids and names are data, never markup (issue 11 item 6): a snapshot named `[/]` once crashed
`fleet`, `limits list`, `runs list` and `runs show` for everyone using that database with
rich.errors.MarkupError. Every command that renders user strings with rich shows them verbatim."""

from __future__ import annotations

import pytest

from tests.input_support import TOY_LIMITS, assert_refused, run, toy_doc, write_json

MARKUP = ["[/]", "[bold red]x[/]", "[link=file:///etc/passwd]y", "a[/b]c"]


def _fleet(tmp_path, name: str):
    doc = toy_doc()
    doc["name"] = name
    dc = doc["datacenters"][0]["id"]
    doc["datacenters"][0]["id"] = name
    for rack in doc["racks"]:
        if rack["datacenter"] == dc:
            rack["datacenter"] = name
    db = tmp_path / "fleet.db"
    r = run("load", write_json(tmp_path / "markup.json", doc), "--db", db)
    assert r.exit_code == 0, r.output
    return db


@pytest.mark.parametrize("name", MARKUP)
def test_fleet_shows_markup_like_names_verbatim(tmp_path, name):
    db = _fleet(tmp_path, name)
    r = run("fleet", "--db", db, env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert r.exception is None
    assert f"Fleet {name!r}" in r.output
    assert name in r.output.split("Per datacenter")[1]  # the datacenter id, as written


@pytest.mark.parametrize("name", MARKUP)
def test_limits_list_shows_markup_like_names_verbatim(tmp_path, name):
    db = tmp_path / "fleet.db"
    assert run("limits", "save", name, TOY_LIMITS, "--db", db).exit_code == 0
    r = run("limits", "list", "--db", db)
    assert r.exit_code == 0 and r.exception is None, r.output
    assert name in r.output


@pytest.mark.parametrize("name", MARKUP)
def test_runs_list_and_show_render_markup_like_strings_verbatim(tmp_path, name):
    from console.store.runs import enqueue_run, record_failed_run, runs_engine
    from engine.documents import parse_snapshot

    db = tmp_path / "runs.db"
    doc = toy_doc()
    doc["name"] = name
    engine = runs_engine(db)
    try:
        queued = enqueue_run(engine, "maintenance", snapshot=parse_snapshot(doc), limits_name=name, options={})
        failed = record_failed_run(engine, "maintenance", f"{name} could not start")
    finally:
        engine.dispose()
    r = run("runs", "list", "--db", db)
    assert r.exit_code == 0 and r.exception is None, r.output
    assert f"{name} could not start"[:20] in r.output.replace("\n", "") or name in r.output
    r = run("runs", "show", queued, "--db", db)
    assert r.exit_code == 0 and r.exception is None, r.output
    assert f"limits     {name}" in r.output
    r = run("runs", "show", failed, "--db", db)
    assert r.exit_code == 0 and r.exception is None, r.output
    assert f"{name} could not start" in r.output
    r = run("runs", "watch", failed, "--db", db, "--plain")  # a failed run: its error, then exit 1
    assert r.exit_code == 1 and r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert f"{name} could not start" in r.output


def test_error_messages_show_markup_like_file_names_and_ids_verbatim(tmp_path):
    doc = toy_doc()
    doc["vms"][0]["id"] = "[/]"
    doc["vms"][0]["cpu"] = -1
    path = write_json(tmp_path / "[bold]bad[red].json", doc)
    out = assert_refused(run("load", path, "--db", tmp_path / "f.db"), "[bold]bad[red].json", "vms[0] '[/]' field cpu")
    assert "MarkupError" not in out
    assert not (tmp_path / "f.db").exists()


@pytest.mark.parametrize("name", ["[/]", "[bold]x[/]"])
def test_placement_plan_shows_markup_like_ids_verbatim(tmp_path, name):
    doc = toy_doc()
    vm = doc["vms"][0]
    vm["id"], vm["host"] = name, None
    r = run("solve", "placement", "--snapshot", write_json(tmp_path / "p.json", doc), "--solver", "ffd",
            "--time-limit", "5")
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert name in r.output, r.output
