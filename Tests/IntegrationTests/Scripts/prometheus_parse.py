"""Parses Prometheus text from stdin with prometheus_client's own parser and
prints what it found as JSON: {"families": {name: type}, "samples": [[name, labels, value], ...]}.
Exits 1 with the parser's message when the text does not parse."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

try:
    families = list(text_string_to_metric_families(sys.stdin.read()))
except Exception as error:  # the parser raises ValueError and friends
    print(f"unparsable: {error}", file=sys.stderr)
    sys.exit(1)
print(json.dumps({
    "families": {family.name: family.type for family in families},
    "samples": [[sample.name, sample.labels, sample.value] for family in families for sample in family.samples],
}))
