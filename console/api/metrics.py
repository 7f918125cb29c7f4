"""Prometheus metrics from the store, read at scrape time (one aggregate query): every API
process, and every replica behind a load balancer, reports the same numbers."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily


class StoreCollector:
    def __init__(self, engine):
        self.engine = engine

    def collect(self):
        from console.store.run_stats import run_stats

        s = run_stats(self.engine)
        runs = GaugeMetricFamily("fleetctl_runs", "Runs in the store by status and kind", labels=["status", "kind"])
        for (status, kind), n in sorted(s.by_status_kind.items()):
            runs.add_metric([status, kind], n)
        yield runs
        yield GaugeMetricFamily("fleetctl_queue_depth", "Runs waiting for a worker", value=s.queue_depth)
        yield CounterMetricFamily("fleetctl_run_claims", "Runs claimed by a worker", value=s.claims)
        buckets = [(str(le), n) for le, n in s.solve_buckets] + [("+Inf", s.solve_count)]
        yield HistogramMetricFamily("fleetctl_solve_seconds", "Wall seconds from claim to result of finished runs",
                                    buckets=buckets, sum_value=s.solve_sum_s)
        yield GaugeMetricFamily("fleetctl_live_workers", "Worker processes alive (heartbeat recent)",
                                value=s.live_workers)


def render(engine) -> tuple[bytes, str]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(engine))
    return generate_latest(registry), CONTENT_TYPE_LATEST
