"""Reading Malloovia problem files: anchors, ids, external CSV workloads, clear errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine.capacity.reader import CapacityInputError, read_problem, read_problems
from engine.capacity.stwp import stwp_problem

EXAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "malloovia-examples"

GOOD = textwrap.dedent("""\
    Limiting_sets:
      - &zone {id: zone, max_vms: 10, max_cores: 40}
    Instance_classes:
      - &res {id: res, name: reserved, limiting_sets: [*zone], max_vms: 0, price: 876, time_unit: y, is_reserved: true, cores: 2}
      - &dem {id: dem, limiting_sets: [*zone], max_vms: 5, price: 0.2, time_unit: h, is_reserved: false}
    Apps:
      - &web {id: web, name: Web}
    Workloads:
      - &wl {id: wl, app: *web, time_unit: h, values: [10, 20, 30]}
    Performances:
      - &perf
        id: perf
        time_unit: m
        values:
          - {instance_class: *res, app: *web, value: 0.25}
          - {instance_class: *dem, app: *web, value: 0.25}
    Problems:
      - {id: p, name: P, workloads: [*wl], instance_classes: [*res, *dem], performances: *perf}
    """)


def write(tmp_path: Path, text: str, name: str = "problem.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_anchors_defaults_and_converts_time_units(tmp_path):
    p = read_problem(write(tmp_path, GOOD), "p")
    assert [ic.id for ic in p.ordered_classes] == ["res", "dem"]
    dem = p.instance_classes[1]
    assert dem.name == "dem" and dem.cores == 1  # defaults: name = id, one core
    d = p.data
    # 876 per year is 0.1 per hour; 0.25 per minute is 15 per hour.
    assert d.price.tolist() == pytest.approx([0.1, 0.2])
    assert d.perf.tolist() == [[15.0, 15.0]]
    assert d.set_max_vms.tolist() == [10] and d.set_max_cores.tolist() == [40]
    assert p.workload_matrix()[:, 0].tolist() == [10, 20, 30]


def test_string_ids_work_as_references(tmp_path):
    text = GOOD.replace("workloads: [*wl], instance_classes: [*res, *dem], performances: *perf",
                        "workloads: [wl], instance_classes: [res, dem], performances: perf")
    assert read_problem(write(tmp_path, text), "p").instance_classes[0].id == "res"


def test_external_csv_workload_is_read_relative_to_the_yaml_file():
    p = read_problem(EXAMPLES / "problem_example_external_workload.yaml", "phaseI")
    assert p.workloads[0].values == (20, 12, 5, 6, 15, 4, 3)
    assert p.workloads[0].filename == "external_workload.csv"


def test_every_bad_entry_is_named(tmp_path):
    text = (GOOD.replace("max_vms: 5, price: 0.2", "max_vms: -5, price: cheap")
                .replace("values: [10, 20, 30]", "values: [10, oops, 30]")
                .replace("{id: web, name: Web}", "{id: web, name: Web, colour: blue}"))
    with pytest.raises(CapacityInputError) as info:
        read_problems(write(tmp_path, text))
    problems = info.value.problems
    text_all = "\n".join(problems)
    assert "Instance_classes[1] 'dem': field 'max_vms' must be a number ≥ 0, got -5" in text_all
    assert "Instance_classes[1] 'dem': field 'price' must be a number ≥ 0, got 'cheap'" in text_all
    assert "Workloads[0] 'wl': field 'values' must hold numbers ≥ 0; bad: [1]='oops'" in text_all
    assert "Apps[0] 'web': unknown field 'colour'" in text_all


def test_missing_performance_and_unknown_reference_are_reported(tmp_path):
    text = GOOD.replace("      - {instance_class: *dem, app: *web, value: 0.25}\n", "").replace(
        "instance_classes: [*res, *dem]", "instance_classes: [*res, *dem, nosuch]")
    with pytest.raises(CapacityInputError) as info:
        read_problems(write(tmp_path, text))
    assert any("refers to 'nosuch', which is not in Instance_classes" in p for p in info.value.problems)
    text = GOOD.replace("      - {instance_class: *dem, app: *web, value: 0.25}\n", "")
    with pytest.raises(CapacityInputError) as info:
        read_problems(write(tmp_path, text))
    assert any("lacks a value for (dem, web)" in p for p in info.value.problems)


def test_missing_csv_and_bad_csv_line(tmp_path):
    text = GOOD.replace("values: [10, 20, 30]", "filename: load.csv")
    with pytest.raises(CapacityInputError) as info:
        read_problems(write(tmp_path, text))
    assert "cannot read workload file" in info.value.problems[0]
    (tmp_path / "load.csv").write_text("1\n2\nthree\n")
    with pytest.raises(CapacityInputError) as info:
        read_problems(write(tmp_path, text))
    assert "line 3: not a number" in info.value.problems[0]
    assert "three" not in str(info.value)  # the file's contents are never echoed (issue 11)


def test_unsafe_yaml_tags_are_refused(tmp_path):
    text = GOOD + "Extra: !!python/object/apply:os.system ['echo pwned']\n"
    with pytest.raises(CapacityInputError) as info:
        read_problems(write(tmp_path, text))
    assert "invalid YAML" in info.value.problems[0]


def test_unknown_problem_id_lists_the_known_ones(tmp_path):
    with pytest.raises(CapacityInputError) as info:
        read_problem(write(tmp_path, GOOD), "nope")
    assert "no problem with id 'nope' (problems in the file: p)" in info.value.problems[0]


def test_workloads_of_different_lengths_are_rejected(tmp_path):
    text = GOOD.replace("Apps:\n  - &web {id: web, name: Web}", "Apps:\n  - &web {id: web, name: Web}\n  - &db {id: db}").replace(
        "Workloads:\n  - &wl {id: wl, app: *web, time_unit: h, values: [10, 20, 30]}",
        "Workloads:\n  - &wl {id: wl, app: *web, time_unit: h, values: [10, 20, 30]}\n  - &wl2 {id: wl2, app: *db, time_unit: h, values: [1]}",
    ).replace("workloads: [*wl]", "workloads: [*wl, *wl2]")
    with pytest.raises(CapacityInputError) as info:
        read_problems(write(tmp_path, text))
    assert any("workloads have different lengths (wl: 3, wl2: 1)" in p for p in info.value.problems)


def test_stwp_csv_needs_known_app_columns(tmp_path):
    p = read_problem(write(tmp_path, GOOD), "p")
    (tmp_path / "s.csv").write_text("web\n5\n6\n")
    assert stwp_problem(p, tmp_path / "s.csv").workloads[0].values == (5.0, 6.0)
    (tmp_path / "bare.csv").write_text("5\n6\n7\n")  # one app: the header may be left out
    assert stwp_problem(p, tmp_path / "bare.csv").workloads[0].values == (5.0, 6.0, 7.0)
    (tmp_path / "bad.csv").write_text("api\n5\n")
    with pytest.raises(CapacityInputError) as info:
        stwp_problem(p, tmp_path / "bad.csv")
    assert "header lacks a column for app(s) web" in info.value.problems[0]
