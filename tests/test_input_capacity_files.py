"""Capacity problem files (issue 11 item 6): a workload `filename:` must stay inside the problem
file's folder (no absolute path, no `..`, no symlink leading out) unless the operator passes
--allow-outside-files; a bad line is named by number and never echoed (a problem file could once
read /etc/shadow and store its first line in runs.error); a binary file is exit 2. Only the
readers run here: every refusal happens before any solver starts."""

from __future__ import annotations

import pytest

from engine.capacity.reader import CapacityInputError, read_problems
from tests.input_support import assert_refused, capacity_file, digest, run

SECRET = "root:$6$s3cr3t-hash:19000:0:99999:7:::"
OUTSIDE = "is outside the problem file's folder"


@pytest.fixture
def secret(tmp_path):
    """A file outside the problem's folder whose first line must never be shown."""
    path = tmp_path / "private" / "shadow"
    path.parent.mkdir()
    path.write_text(SECRET + "\n")
    return path


def _escapes(tmp_path, secret):
    """Problem files in tmp_path/prob whose workload file leads out of that folder, three ways."""
    folder = tmp_path / "prob"
    folder.mkdir()
    (folder / "link.csv").symlink_to(secret)
    return {
        "absolute": capacity_file(folder, f"filename: {secret}", "absolute.yaml"),
        "dotdot": capacity_file(folder, "filename: ../private/shadow", "dotdot.yaml"),
        "symlink": capacity_file(folder, "filename: link.csv", "symlink.yaml"),
    }


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_workload_file_outside_the_folder_is_refused_by_solve(tmp_path, secret, how):
    problem = _escapes(tmp_path, secret)[how]
    out = assert_refused(run("solve", "capacity", problem), OUTSIDE, "--allow-outside-files")
    assert "s3cr3t" not in out and "root:" not in out


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_workload_file_outside_the_folder_is_refused_by_runs_submit(tmp_path, secret, how):
    problem = _escapes(tmp_path, secret)[how]
    db = tmp_path / "runs.db"
    for args in (("runs", "submit", "capacity", "--problem-file", problem, "--problem", "p", "--db", db),
                 ("solve", "capacity", problem, "--background", "--db", db)):
        out = assert_refused(run(*args), OUTSIDE)
        assert "s3cr3t" not in out
        assert digest(db) is None  # nothing queued: no database was even created


def test_allow_outside_files_reads_them_and_still_never_echoes(tmp_path, secret):
    problems = _escapes(tmp_path, secret)
    for how, problem in problems.items():
        with pytest.raises(CapacityInputError) as info:  # read now, and the secret line is not a number
            read_problems(problem, allow_outside_files=True)
        assert "line 1: not a number" in str(info.value) and "s3cr3t" not in str(info.value), how
    out = assert_refused(run("solve", "capacity", problems["dotdot"], "--allow-outside-files"), "line 1: not a number")
    assert "s3cr3t" not in out and OUTSIDE not in out
    db = tmp_path / "runs.db"
    out = assert_refused(run("runs", "submit", "capacity", "--problem-file", problems["symlink"], "--problem", "p",
                             "--db", db, "--allow-outside-files"), "line 1: not a number")
    assert "s3cr3t" not in out and digest(db) is None


def test_outside_files_that_are_numbers_are_read_with_the_flag(tmp_path):
    folder = tmp_path / "prob"
    (tmp_path / "shared.csv").write_text("1\n2\n3\n")
    problem = capacity_file(folder, "filename: ../shared.csv")
    with pytest.raises(CapacityInputError, match=OUTSIDE):
        read_problems(problem)
    assert read_problems(problem, allow_outside_files=True)["p"].workloads[0].values == (1.0, 2.0, 3.0)


def test_files_in_subfolders_and_symlinks_inside_are_fine(tmp_path):
    folder = tmp_path / "prob"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "w.csv").write_text("5\n6\n")
    (folder / "alias.csv").symlink_to(folder / "data" / "w.csv")
    for name in ("data/w.csv", "data/../data/w.csv", "alias.csv"):
        problem = capacity_file(folder, f"filename: {name}")
        assert read_problems(problem)["p"].workloads[0].values == (5.0, 6.0), name


def test_a_bad_line_is_named_by_number_never_echoed(tmp_path):
    folder = tmp_path / "prob"
    folder.mkdir()
    (folder / "w.csv").write_text("1\n2\nSECRET-TOKEN-42\n")
    out = assert_refused(run("solve", "capacity", capacity_file(folder, "filename: w.csv")), "'w.csv' line 3: not a number")
    assert "SECRET" not in out
    (folder / "w.csv").write_text("1\nnan\n")
    assert_refused(run("solve", "capacity", capacity_file(folder, "filename: w.csv")), "line 2: not a number (NaN)")
    (folder / "w.csv").write_text("1\n-inf\n")
    assert_refused(run("solve", "capacity", capacity_file(folder, "filename: w.csv")), "line 2: not a finite number ≥ 0")


def test_a_binary_workload_file_is_exit_2(tmp_path):
    folder = tmp_path / "prob"
    folder.mkdir()
    (folder / "w.csv").write_bytes(b"1\n\x89PNG\r\n\x1a\n\x00\xff\xfe")
    out = assert_refused(run("solve", "capacity", capacity_file(folder, "filename: w.csv")), "'w.csv'", "not UTF-8 text")
    assert "UnicodeDecodeError" not in out


def test_a_binary_problem_file_is_exit_2(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_bytes(b"\xff\xfe\x00binary")
    db = tmp_path / "runs.db"
    assert_refused(run("solve", "capacity", path), "not UTF-8 text")
    assert_refused(run("runs", "submit", "capacity", "--problem-file", path, "--problem", "p", "--db", db), "not UTF-8")
    assert digest(db) is None


def test_a_binary_stwp_file_is_exit_2_and_its_cells_are_not_echoed(tmp_path):
    problem = capacity_file(tmp_path / "prob")
    stwp = tmp_path / "s.csv"
    stwp.write_bytes(b"\xff\x00\x01")
    assert_refused(run("solve", "capacity", problem, "--phase", "ii", "--stwp", stwp), "not UTF-8 text")
    stwp.write_text("web\n1\nTOPSECRET\n")
    out = assert_refused(run("solve", "capacity", problem, "--phase", "ii", "--stwp", stwp), "line 3, app web: not a number")
    assert "TOPSECRET" not in out


def test_the_worker_honours_the_run_option(tmp_path):
    """A queued run re-reads the problem file: outside files stay refused unless the run was
    submitted with --allow-outside-files (stored as the option allow_outside_files)."""
    from console.runner.dispatch import RunInputs, solve_capacity_run
    from engine.documents import DocumentError
    from engine.progress import Cancellation

    (tmp_path / "shared.csv").write_text("10\n20\n30\n")
    problem = capacity_file(tmp_path / "prob", "filename: ../shared.csv")
    options = {"problem": "p", "phase": "i", "problem_file": str(problem)}

    def solve(**extra):
        inputs = RunInputs("capacity", "malloovia+yaml", problem.read_text(), None, {**options, **extra})
        return solve_capacity_run(inputs, lambda event: None, Cancellation())

    with pytest.raises(DocumentError, match=OUTSIDE):
        solve()
    plan = solve(allow_outside_files=True)
    assert plan["status"] == "optimal" and plan["cost"] > 0
