#!/usr/bin/env python3
"""Parses a Prometheus text exposition (stdin) with the Prometheus project's
own parser (prometheus_client.parser; Debian: python3-prometheus-client) and
prints the metric families as JSON on stdout:

    python3 tests/tools/parse_prometheus.py < metrics.txt

[{"name", "type", "documentation", "samples": [{"name", "labels", "value"}]}]
(the parser names a counter's family without its "_total"). Exit 1, the
parser's error on stderr, when the text does not parse."""

import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read()
    try:
        families = [{"name": f.name, "type": f.type, "documentation": f.documentation,
                     "samples": [{"name": s.name, "labels": dict(s.labels),
                                  "value": "+Inf" if s.value == math.inf else s.value}
                                 for s in f.samples]}
                    for f in text_string_to_metric_families(text)]
    except Exception as e:  # the parser's ValueError and friends
        print("parse error: %r" % (e,), file=sys.stderr)
        return 1
    json.dump(families, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
