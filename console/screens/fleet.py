"""Screen 1 — Fleet: datacenters → racks → hosts, the hosts table, the VMs of the selected host."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static, Tree

from console.actions import bindings_for
from console.console_data import HostRowData, host_rows
from console.screens.base import ConsoleScreen, show_match_count
from console.widgets.bars import util_bar, util_bar_cell
from console.widgets.filter_bar import FilterBar
from console.widgets.line_table import Column, LineTable, Row
from engine.derived import migration_minutes
from engine.model import RESOURCES, Snapshot

STATE_STYLE = {"active": "green", "needs_reboot": "bold yellow", "disabled": "dim"}


def state_text(state: str) -> Text:
    return Text(state.replace("_", " "), style=STATE_STYLE.get(state, ""))


HOST_COLUMNS = [
    Column("id", "Host", 16),
    Column("rack", "Rack", 10),
    Column("state", "State", 12, render=state_text),
    Column("vms", "VMs", 4, align="right"),
    Column("cpu", "CPU", 15, render=util_bar_cell(10)),
    Column("memory_gb", "Memory", 15, render=util_bar_cell(10)),
    Column("disk_gb", "Disk", 15, render=util_bar_cell(10)),
]

# Below NARROW_WIDTH columns (an 80×24 terminal) every resource still shows, as a short bar.
NARROW_WIDTH = 110
HOST_COLUMNS_NARROW = [
    Column("id", "Host", 14),
    Column("rack", "Rack", 8),
    Column("state", "State", 7, render=state_text),
    Column("vms", "VMs", 3, align="right"),
    Column("cpu", "CPU", 9, render=util_bar_cell(4)),
    Column("memory_gb", "Mem", 9, render=util_bar_cell(4)),
    Column("disk_gb", "Disk", 9, render=util_bar_cell(4)),
]

VM_COLUMNS = [
    Column("id", "VM", 14),
    Column("customer", "Customer", 12),
    Column("cpu", "CPU", 5, align="right", render=lambda v: f"{v:g}"),
    Column("memory_gb", "Mem GB", 7, align="right", render=lambda v: f"{v:g}"),
    Column("disk_gb", "Disk GB", 8, align="right", render=lambda v: f"{v:g}"),
    Column("minutes", "Mig min", 7, align="right"),
    Column("migratable", "Migr.", 5, render=lambda v: Text("yes", "green") if v else Text("no", "bold red")),
]


def host_table_rows(hosts: list[HostRowData], extras: Optional[dict[str, str]] = None) -> list[Row]:
    """Host rows; with `extras` (see vm_search_text) the filter also finds the host of a VM or customer."""
    extras = extras or {}
    return [Row(h.id, (h.id, h.rack, h.state, h.vms, *(h.utilisation(r) for r in RESOURCES)), extras.get(h.id, ""))
            for h in hosts]


def vm_search_text(snapshot: Snapshot) -> dict[str, str]:
    """Per host, the ids and customers of its VMs ("where is vm-0123?"): 1 s at 100k VMs, so it is
    built in a worker thread after the table is shown."""
    return {host: " ".join(v.id for v in vms) + " " + " ".join({v.customer for v in vms})
            for host, vms in snapshot.vms_by_host.items() if host is not None}


class FleetScreen(ConsoleScreen):
    SCOPE = "fleet"
    BINDINGS = bindings_for("fleet")

    def __init__(self) -> None:
        super().__init__()
        self._hosts: list[HostRowData] = []
        self._scope: Optional[tuple[str, str]] = None  # ("dc"|"rack", id)
        self._filter_target = "hosts"
        self._shown_version = -1
        self._hosts_by_rack: dict[str, list[HostRowData]] = {}
        self._vm_text: dict[str, str] = {}  # per host, its VMs and customers, for the filter

    def compose(self) -> ComposeResult:
        yield from self.compose_nav()
        with Horizontal(id="fleet-body"):
            yield Tree("fleet", id="fleet-tree")
            with Vertical(id="fleet-main"):
                yield Static("loading fleet…", id="fleet-summary")
                yield LineTable(HOST_COLUMNS, id="hosts")
                yield Static("", id="vms-title")
                yield LineTable(VM_COLUMNS, id="vms")
        yield FilterBar("find a host, VM or customer…", id="fleet-filter")
        yield from self.compose_footer()

    def on_resize(self, event) -> None:
        narrow = event.size.width < NARROW_WIDTH
        self.query_one("#fleet-tree").display = not narrow
        table = self.query_one("#hosts", LineTable)
        wanted = HOST_COLUMNS_NARROW if narrow else HOST_COLUMNS
        if table.columns != wanted:
            table.set_columns(wanted)

    def on_mount(self) -> None:
        tree = self.query_one(Tree)
        tree.show_root = False
        tree.guide_depth = 2
        self.watch(self.app, "hosts_version", self._hosts_summarised, init=False)
        self.watch(self.app, "fleet_version", self._fleet_changed)
        self.watch(self.app, "limits_version", self._limits_changed, init=False)
        self.set_focus(self.query_one("#hosts", LineTable))  # now: a `/` typed at once keeps its filter focus

    # ------------------------------------------------------------------ data

    def _hosts_summarised(self, _version: int) -> None:
        """The host table from the store's summary, before the whole snapshot is read (big fleets)."""
        painted = getattr(self.app, "host_summary_painted", None)
        if self.app.snapshot is not None or not self.app.host_summary:
            if painted is not None:
                painted.set()
            return
        self._hosts = self.app.host_summary
        self._fill_tree(None)
        self._apply_scope()
        if painted is not None:  # after the refresh that paints these rows: then the loader goes on
            self.call_after_refresh(painted.set)
        info = getattr(self.app.data, "summary_info", None) or {}
        text = Text()
        if info.get("name"):
            text.append(f"{info['name']}  ", style="bold")
        racks = {h.rack for h in self._hosts}
        text.append(f"{len({h.datacenter for h in self._hosts})} DC · {len(racks)} racks · {len(self._hosts)} hosts")
        if info.get("vms") is not None:
            text.append(f" · {info['vms']} VMs · {info.get('customers', '?')} customers")
        text.append("   reading the VMs…", style="italic dim")
        self.query_one("#fleet-summary", Static).update(text)

    def _fleet_changed(self, version: int) -> None:
        if version == self._shown_version:
            return
        snapshot: Optional[Snapshot] = self.app.snapshot
        if snapshot is None:
            if getattr(self.app, "load_error", None):
                self.query_one("#fleet-summary", Static).update(Text(self.app.load_error, style="bold red"))
            elif version > 0:
                self.query_one("#fleet-summary", Static).update(
                    "No fleet loaded. Load one with `fleetctl load FILE --db DB`, then F5.")
            return
        self._shown_version = version
        rows = getattr(self.app, "fleet_hosts", None)
        self._hosts = rows if rows is not None else host_rows(snapshot)
        self._vm_text = {}
        self._fill_tree(snapshot)
        self._apply_scope()
        self._update_summary(snapshot)
        self._index_vms(snapshot)

    # description: without one Textual names the worker with repr() of its arguments — 6 s on the
    # UI thread for a 100k-VM snapshot.
    @work(thread=True, exclusive=True, group="fleet-index", description="index VM ids and customers")
    def _index_vms(self, snapshot: Snapshot) -> None:
        text = vm_search_text(snapshot)
        self.app.call_from_thread(self._vms_indexed, snapshot, text)

    def _vms_indexed(self, snapshot: Snapshot, text: dict[str, str]) -> None:
        if snapshot is self.app.snapshot:
            self._vm_text = text
            self._apply_scope()

    def _limits_changed(self, _version: int) -> None:
        self._show_vms(self.query_one("#hosts", LineTable).cursor_key)

    def _update_summary(self, snapshot: Snapshot) -> None:
        states = {"active": 0, "needs_reboot": 0, "disabled": 0}
        for h in self._hosts:
            states[h.state] = states.get(h.state, 0) + 1
        text = Text()
        text.append(f"{snapshot.name or 'fleet'}", style="bold")
        text.append(f"  {len(snapshot.datacenters)} DC · {len(snapshot.racks)} racks · {len(self._hosts)} hosts · "
                    f"{len(snapshot.vms)} VMs · {len(snapshot.customers)} customers   ")
        text.append(f"{states['active']} active ", style="green")
        text.append(f"{states['needs_reboot']} need reboot ", style="bold yellow")
        text.append(f"{states['disabled']} disabled\n", style="dim")
        for r, label in zip(RESOURCES, ("cpu", "mem", "disk")):
            cap = sum(h.capacity[r] for h in self._hosts)
            used = sum(h.used[r] for h in self._hosts)
            text.append(f"{label} ")
            text.append_text(util_bar(used / cap if cap else None, 12))
            text.append("   ")
        self.query_one("#fleet-summary", Static).update(text)

    def _fill_tree(self, snapshot: Optional[Snapshot]) -> None:
        """Datacenters → racks; without a snapshot (yet) from the hosts' summary rows, so the tree
        shows with the table on the first paint (racks without hosts appear with the snapshot)."""
        tree = self.query_one(Tree)
        tree.clear()
        racks_by_dc: dict[str, dict[str, None]] = {}  # insertion-ordered sets
        if snapshot is not None:
            for dc in snapshot.datacenters:
                racks_by_dc[dc.id] = {}
            for rack in snapshot.racks:
                racks_by_dc.setdefault(rack.datacenter, {})[rack.id] = None
        else:
            for h in self._hosts:
                racks_by_dc.setdefault(h.datacenter, {})[h.rack] = None
        hosts_by_rack: dict[str, list[HostRowData]] = {}
        for h in self._hosts:
            hosts_by_rack.setdefault(h.rack, []).append(h)
        for dc_id, racks in racks_by_dc.items():
            dc_node = tree.root.add(f"{dc_id} ({len(racks)} racks)", data=("dc", dc_id), expand=True)
            for rack in racks:
                hosts = hosts_by_rack.get(rack, [])
                due = sum(1 for h in hosts if h.state == "needs_reboot")
                label = Text(f"{rack} ({len(hosts)})")
                if due:
                    label.append(f" ⟳{due}", style="yellow")
                node = dc_node.add(label, data=("rack", rack))
                node.allow_expand = bool(hosts)
        self._hosts_by_rack = hosts_by_rack

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        """Hosts are added to a rack node the first time it opens (thousands of hosts stay cheap)."""
        node = event.node
        if node.data and node.data[0] == "rack" and not node.children:
            for h in self._hosts_by_rack.get(node.data[1], []):
                node.add_leaf(Text(h.id, style=STATE_STYLE.get(h.state, "")), data=("host", h.id))

    def _apply_scope(self) -> None:
        hosts = self._hosts
        if self._scope is not None:
            kind, ident = self._scope
            hosts = [h for h in hosts if (h.datacenter if kind == "dc" else h.rack) == ident]
        table = self.query_one("#hosts", LineTable)
        table.set_rows(host_table_rows(hosts, self._vm_text))
        self._show_vms(table.cursor_key)

    def _show_vms(self, host_id: Optional[str]) -> None:
        snapshot: Optional[Snapshot] = self.app.snapshot
        title = self.query_one("#vms-title", Static)
        vms_table = self.query_one("#vms", LineTable)
        if snapshot is None or host_id is None:
            title.update("")
            vms_table.set_rows([])
            return
        limits = self.app.limits
        vms = snapshot.vms_by_host.get(host_id, [])
        host = snapshot.host_by_id.get(host_id)
        title.update(Text.assemble(("VMs on ", "bold"), (host_id, "bold cyan"),
                                   f"  ({len(vms)}; {host.state.replace('_', ' ') if host else '?'}, "
                                   f"reboot {host.reboot_minutes if host else '?'} min)"))
        vms_table.set_rows([Row(v.id, (v.id, v.customer, v.cpu, v.memory_gb, v.disk_gb,
                                       migration_minutes(v, limits), v.migratable)) for v in vms],
                           keep_cursor=False)

    # ------------------------------------------------------------------ events

    def on_line_table_row_highlighted(self, event: LineTable.RowHighlighted) -> None:
        if event.table.id == "hosts":
            self._show_vms(event.key)

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        data = event.node.data
        if not data:
            return
        kind, ident = data
        table = self.query_one("#hosts", LineTable)
        if kind == "host":
            if not table.move_to_key(ident):
                self._scope = None
                self._apply_scope()
                table.move_to_key(ident)
        else:
            self._scope = None if self._scope == (kind, ident) else (kind, ident)
            self._apply_scope()

    def on_filter_bar_filter_changed(self, event: FilterBar.FilterChanged) -> None:
        table = self.query_one(f"#{self._filter_target}", LineTable)
        table.set_filter(event.text)
        show_match_count(event.bar, table)
        if event.done:
            table.focus()

    # ------------------------------------------------------------------ actions

    def _focused_table(self) -> LineTable:
        focused = self.focused
        return focused if isinstance(focused, LineTable) else self.query_one("#hosts", LineTable)

    def action_filter(self) -> None:
        table = self._focused_table()
        self._filter_target = table.id or "hosts"
        bar = self.query_one(FilterBar)
        bar.placeholder = f"filter {self._filter_target}…"
        bar.value = table.filter_text
        bar.open()

    def action_sort_next(self) -> None:
        self._focused_table().action_sort_next()

    def action_sort_reverse(self) -> None:
        self._focused_table().action_sort_reverse()

    def action_reload(self) -> None:
        self._shown_version = -1
        self.app.load_fleet()
