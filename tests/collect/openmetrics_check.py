#!/usr/bin/env python3
"""Parses OpenMetrics bodies with the Python client's parser (python3-prometheus-client), which
nobody here wrote, and checks what it understood: every counter family has its _created samples,
every histogram its buckets, count, sum and _created, and the body ends with # EOF.

Usage: openmetrics_check.py FILE...   (exit 1 with the parser's message on the first bad file)
"""
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def check(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    families = list(text_string_to_metric_families(text))
    if not families:
        raise ValueError("no metric family")
    counters = histograms = samples = 0
    for family in families:
        samples += len(family.samples)
        names = {s.name for s in family.samples}
        if family.type == "counter":
            counters += 1
            total = [s for s in family.samples if s.name == family.name + "_total"]
            created = [s for s in family.samples if s.name == family.name + "_created"]
            if len(total) != len(created):
                raise ValueError(f"{family.name}: {len(total)} _total, {len(created)} _created")
        if family.type == "histogram" and family.samples:
            histograms += 1
            for suffix in ("_bucket", "_count", "_sum", "_created"):
                if family.name + suffix not in names:
                    raise ValueError(f"{family.name}: no {suffix} sample")
    print(f"{path}: {len(families)} families, {counters} counters, {histograms} histograms, "
          f"{samples} samples")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    for path in sys.argv[1:]:
        try:
            check(path)
        except Exception as e:  # the parser raises ValueError and others
            print(f"{path}: rejected: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
