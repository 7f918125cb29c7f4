"""An Input that applies every key in the order typed.

Textual's Input inserts a printable character as soon as its key event arrives, but runs its
editing keys (backspace, delete, home, end, …) as bindings, after the key event has bubbled up
to the app. Keys typed 30–70 ms apart can then be applied out of order: "40", ⌫ ⌫ 2 5 became
"45" (the 2 landed between the two ⌫). This Input runs its own editing bindings in its key
handler, so the value on screen is always the keys in the order the operator pressed them.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


def _own_bindings() -> dict[str, str]:
    keys: dict[str, str] = {}
    for binding in Input.BINDINGS:
        key, action = (binding.key, binding.action) if hasattr(binding, "key") else (binding[0], binding[1])
        for k in key.split(","):
            keys[k.strip()] = action
    keys.pop("enter", None)  # submit stays a message: it must follow the keys before it, which it does
    return keys


class TypedInput(Input):
    EDITING_KEYS = _own_bindings()

    async def _on_key(self, event: events.Key) -> None:
        action = self.EDITING_KEYS.get(event.key)
        if action is not None and not event.is_printable:
            event.stop()
            event.prevent_default()
            self._restart_blink()
            await self.run_action(action)
            return
        await super()._on_key(event)
