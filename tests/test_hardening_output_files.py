"""console.output_files.write_atomic: all of the file or none of it (issue 11, item 4).

Disk full is real here: RLIMIT_FSIZE in a child process (SIGXFSZ ignored) makes write()
fail with EFBIG exactly as a full disk fails with ENOSPC. Permission denied is real too:
the tests run as root, so the child drops the capabilities that ignore mode bits.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from console.output_files import OutputError, check_target, write_atomic
from tests.hardening_support import drop_file_powers

ROOT = Path(__file__).resolve().parents[1]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_replaces_the_file_keeps_its_mode_and_leaves_no_temp(tmp_path):
    target = tmp_path / "plan.json"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    write_atomic(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    assert _leftovers(tmp_path) == []


def test_a_new_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "new.csv", "a,b\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o640


def test_a_symlink_is_followed_and_kept(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


@pytest.mark.parametrize("make", ["fifo", "dir", "device"])
def test_a_non_regular_target_is_refused_without_blocking(tmp_path, make):
    if make == "fifo":
        target = tmp_path / "pipe"
        os.mkfifo(target)
    elif make == "dir":
        target = tmp_path / "folder"
        target.mkdir()
    else:
        target = Path("/dev/null")
    result: dict = {}

    def attempt() -> None:
        try:
            write_atomic(target, "data")
        except OutputError as exc:
            result["error"] = exc

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(timeout=10)
    assert not t.is_alive(), "writing to a special file blocked"
    assert result["error"].usage and "not a regular file" in str(result["error"])
    with pytest.raises(OutputError):
        check_target(target)


def test_dash_means_stdout():
    code = "from console.output_files import write_atomic; write_atomic('-', 'to stdout\\n')"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout == "to stdout\n"
    assert not (ROOT / "-").exists()


def _child(code: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)}, **kw)


def test_disk_full_keeps_the_old_file(tmp_path):
    target = tmp_path / "plan.json"
    target.write_text("old plan")
    out = _child(f"""
        import resource, signal, sys
        from console.output_files import OutputError, write_atomic
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
        try:
            write_atomic({str(target)!r}, "x" * 100_000)
        except OutputError as exc:
            print(exc)
            sys.exit(1)
    """)
    assert out.returncode == 1, out.stderr
    assert "file too large" in out.stdout and "nothing was changed" in out.stdout
    assert target.read_text() == "old plan"
    assert _leftovers(tmp_path) == []


def test_permission_denied_keeps_the_old_file(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    target = folder / "plan.json"
    target.write_text("old plan")
    target.chmod(0o644)
    folder.chmod(0o555)  # readable, not writable: no temp file, no rename
    out = _child(f"""
        import sys
        from console.output_files import OutputError, write_atomic
        try:
            write_atomic({str(target)!r}, "new plan")
        except OutputError as exc:
            print(exc)
            sys.exit(1)
    """, preexec_fn=drop_file_powers)
    assert out.returncode == 1, out.stderr
    assert "permission denied" in out.stdout
    assert target.read_text() == "old plan"
