"""A plan made for another fleet never shows the loaded fleet's customers or racks on its Gantt
(console polish, item 3): its lanes say "?" and the details row says why."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from console.app import FleetConsole
from console.console_data import StoreData
from tests.test_console_plan_origin import ROOT, demo_db, fleetctl, solved_run  # noqa: F401  (fixture)
from tests.test_console_trust import settle, type_keys

NO_KEYMAP = Path(__file__).with_name("no-such-keymap.toml")


def test_customer_lanes_of_a_plan_for_another_fleet_are_unknown(demo_db, tmp_path):
    run_id = solved_run(demo_db)
    # the same VM ids owned by other customers: the current fleet's customers would be a plausible lie
    other = json.loads((ROOT / "fixtures/demo.json").read_text())
    other["name"] = "other"
    for vm in other["vms"]:
        vm["customer"] = "other-" + vm["customer"]
    for customer in other["customers"]:
        customer["id"] = "other-" + customer["id"]
    other_path = tmp_path / "other.json"
    other_path.write_text(json.dumps(other))

    async def flow():
        app = FleetConsole(StoreData(demo_db), poll_interval=0.2, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            app.open_run(run_id)
            await settle(pilot)
            gantt = app.screen.query_one("Gantt")
            gantt.group = "customer"
            await settle(pilot)
            lanes = {line.lane for line in gantt.lines}
            assert lanes and "?" not in lanes and not any(c.startswith("other-") for c in lanes)
            replaced = await asyncio.to_thread(fleetctl, "load", str(other_path), "--db", str(demo_db), "--replace")
            assert replaced.returncode == 0, replaced.stderr
            await type_keys(pilot, "1", "f5", "4", gap=0.05)
            for _ in range(100):
                await settle(pilot)
                if app.fleet_sha256 is not None and app.snapshot.name == "other":
                    break
                await asyncio.sleep(0.05)
            await settle(pilot)
            assert app.current_mode == "schedule" and app.plan_origin_problem()
            lanes = {line.lane for line in gantt.lines}
            assert lanes == {"?"}, sorted(lanes)[:5]
            details = str(app.screen.query_one("#schedule-details").render())
            assert "customers/racks ?" in details and "another fleet" in details

    asyncio.run(flow())
