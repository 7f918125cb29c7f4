"""Pick a file from a folder tree (a Malloovia problem file for a capacity solve) instead of typing its path."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Static


class SuffixTree(DirectoryTree):
    """Folders and files with one of `suffixes` (hidden entries left out)."""

    def __init__(self, path: Path, suffixes: tuple[str, ...], **kw) -> None:
        super().__init__(path, **kw)
        self.suffixes = suffixes

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if not p.name.startswith(".")
                and (p.is_dir() or p.suffix.lower() in self.suffixes)]


class FilePickScreen(ModalScreen[Optional[str]]):
    DEFAULT_CSS = """
    FilePickScreen { align: center middle; }
    FilePickScreen > Vertical { width: 80%; max-width: 110; height: 80%; border: thick $accent;
                                background: $surface; padding: 0 1; }
    FilePickScreen SuffixTree { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, start: Path, suffixes: tuple[str, ...] = (".yaml", ".yml")) -> None:
        super().__init__()
        self.title_text, self.start, self.suffixes = title, start, suffixes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"{self.title_text}  ({', '.join(self.suffixes)} files; enter picks, esc cancels)")
            yield SuffixTree(self.start, self.suffixes, id="file-tree")

    def on_mount(self) -> None:
        self.query_one(SuffixTree).focus()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(str(event.path))

    def action_cancel(self) -> None:
        self.dismiss(None)
