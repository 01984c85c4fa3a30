"""Validates a JUnit XML file against a schema with xmlschema (installed by
scripts/setup): exits 0 when valid, 1 with the validator's reason otherwise."""
import sys

import xmlschema

schema = xmlschema.XMLSchema(sys.argv[1])
try:
    schema.validate(sys.argv[2])
except xmlschema.XMLSchemaException as error:
    print(f"invalid: {error}", file=sys.stderr)
    sys.exit(1)
print("valid")
