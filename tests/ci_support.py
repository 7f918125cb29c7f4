"""One rule for a test whose service or tool is missing: a failure under CI, elsewhere a skip that says why."""

import os

import pytest


def under_ci() -> bool:
    """CI sets CI=true; any non-empty value other than false/0 counts."""
    return os.environ.get("CI", "").strip().lower() not in ("", "false", "0")


def unavailable(message: str, *, module: bool = False):
    """Fail under CI (the test must run there), else skip with `message`."""
    if under_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=module)
