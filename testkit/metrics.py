"""Reading GET /metrics as a scraper would: Prometheus' text format parsed by its own client's parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """(sample name, its labels) -> value, for every sample of a scrape."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scrape: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    """A sample's value, 0 when the scrape does not have it (a labelled counter appears on first use)."""
    return scrape.get((name, frozenset(labels.items())), 0.0)
