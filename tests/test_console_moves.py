"""Issue 12, defect 8: rebalance moves readable (source and target in their own columns with
their datacenters), a move's detail on enter, and the moves exported as a runbook."""

from __future__ import annotations

import asyncio
import csv

from console.app import FleetConsole
from console.console_data import MemoryData
from console.screens.allocation import MOVE_COLUMNS, move_rows
from console.widgets.line_table import LineTable
from engine.model import Datacenter, Move, PlacementPlan, SolverInfo
from tests.console_fixtures import small_fleet
from tests.test_console_trust import NO_KEYMAP, settle, type_keys


def two_dc_fleet():
    snap = small_fleet()
    racks = [r.model_copy(update={"datacenter": "dc2"}) if r.id == "dc1-r03" else r for r in snap.racks]
    return snap.model_copy(update={"datacenters": [*snap.datacenters, Datacenter(id="dc2")], "racks": racks})


def rebalance_plan(snap) -> PlacementPlan:
    on = {h: [v for v in snap.vms if v.host == h] for h in ("dc1-r01-h03", "dc1-r02-h03")}
    moves = [Move(vm=on["dc1-r01-h03"][0].id, source="dc1-r01-h03", target="dc1-r02-h04"),
             Move(vm=on["dc1-r02-h03"][0].id, source="dc1-r02-h03", target="dc1-r03-h02")]
    return PlacementPlan(status="feasible", objective="rebalance", value=2, moves=moves,
                         solver=SolverInfo(name="lns", wall_s=0.1))


def test_move_rows_name_both_ends_and_their_datacenters():
    snap = two_dc_fleet()
    plan = rebalance_plan(snap)
    rows = move_rows(plan, snap)
    keys = [c.key for c in MOVE_COLUMNS]
    first, second = (dict(zip(keys, r.values)) for r in rows)
    assert (first["source"], first["source_dc"], first["target"], first["target_dc"]) == \
        ("dc1-r01-h03", "dc1", "dc1-r02-h04", "dc1")
    assert (second["target"], second["target_dc"], second["cross"]) == ("dc1-r03-h02", "dc2", "cross-DC")


def test_enter_shows_a_move_and_e_exports_the_moves_runbook(tmp_path):
    snap = two_dc_fleet()
    plan = rebalance_plan(snap)

    async def flow():
        app = FleetConsole(MemoryData(snap, []), start_mode="allocation", poll_interval=3600, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            app.show_plan(plan, "rebalance")
            await settle(pilot)
            table = app.screen.query_one(LineTable)
            assert table.row_count == 2
            table.focus()
            table.move_to_key(plan.moves[1].vm)
            await type_keys(pilot, "enter")
            await settle(pilot)
            assert type(app.screen).__name__ == "DetailsScreen"
            body = str(app.screen.query_one("#details-body").render())
            assert "dc1-r02-h03 in dc1" in body and "dc1-r03-h02 in dc2" in body and "crosses datacenters" in body
            await type_keys(pilot, "escape", "e")
            await settle(pilot)
            assert type(app.screen).__name__ == "AskScreen"
            target = tmp_path / "moves.csv"
            app.screen.query_one("#ask-input").value = str(target)
            await type_keys(pilot, "enter")
            await app.workers.wait_for_complete()
            await settle(pilot)
            rows = list(csv.DictReader(target.open(encoding="utf-8")))
            assert [r["vm"] for r in rows] and {r["vm"] for r in rows} == {m.vm for m in plan.moves}
            assert {r["datacenter_target"] for r in rows} == {"dc1", "dc2"}

    asyncio.run(flow())
