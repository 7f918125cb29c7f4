"""pyproject.toml and the locks agree: every declared requirement is pinned, by a version its range allows."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {"runtime": (), "bench": ("bench",), "test": ("test", "dask", "bench")}


def pinned(lock: Path) -> dict[str, str]:
    """name -> version of every `name==version` line of a lock; every pin must carry a hash."""
    text = lock.read_text()
    pins = dict((canonicalize_name(n), v) for n, v in re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)", text, re.M))
    blocks = re.split(r"\n(?=[A-Za-z0-9_.\-]+==)", text)
    unhashed = [b.split("==")[0] for b in blocks if "==" in b.split("\n")[0] and "--hash=sha256:" not in b]
    assert not unhashed, f"{lock.name}: pins without a hash: {unhashed}"
    return pins


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        requirements += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return [r for r in requirements if canonicalize_name(r.name) != "fleetctl"]


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_declared_requirement_is_pinned_within_its_range(lock):
    pins = pinned(ROOT / "requirements" / f"{lock}.lock")
    problems = []
    for requirement in declared(LOCKS[lock]):
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement.name}: missing from {lock}.lock (run `make lock`)")
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{requirement.name}: {lock}.lock pins {pins[name]}, pyproject says {requirement.specifier}")
        for extra in requirement.extras:  # e.g. psycopg[binary] -> psycopg-binary, dask[distributed] -> distributed
            candidates = {canonicalize_name(f"{requirement.name}-{extra}"), canonicalize_name(extra)}
            if not candidates & set(pins):
                problems.append(f"{requirement}: the extra {extra!r} brought nothing into {lock}.lock")
    assert not problems, "\n".join(problems)


def test_lock_is_what_a_fresh_install_uses():
    makefile = (ROOT / "Makefile").read_text()
    for lock in LOCKS:
        assert f"--require-hashes --no-deps -r $(LOCKS)/{lock}.lock" in makefile
