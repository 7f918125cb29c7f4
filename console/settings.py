"""What the console remembers between sessions (the theme), in the user config folder beside keymap.toml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional


def default_settings_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("fleetctl")) / "console.json"


def load_settings(path: Path) -> tuple[dict, Optional[str]]:
    """({setting: value}, problem): an unreadable file is reported, never fatal."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError) as exc:
        return {}, f"{path}: {exc}"
    return (data, None) if isinstance(data, dict) else ({}, f"{path}: expected a JSON object")


def save_settings(path: Path, changes: dict) -> Optional[str]:
    """Merge `changes` into the file (atomically); returns a problem or None."""
    from console.output_files import write_atomic

    current, _ = load_settings(path)
    current.update(changes)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(current, indent=1, sort_keys=True) + "\n")
    except OSError as exc:
        return str(exc)
    return None
