"""Validates an OVF descriptor against DMTF's OVF envelope schema with
xmlschema (scripts/setup installs it into .build/python), offline: the CIM
schemas' imports of common.xsd by URL are mapped to the copy beside this
script, and nothing is fetched. Prints "valid" or the schema's complaint."""
import os
import sys

import xmlschema

here = os.path.dirname(os.path.abspath(__file__))


def local(uri):
    name = uri.rsplit("/", 1)[-1]
    candidate = os.path.join(here, name)
    return candidate if os.path.exists(candidate) else uri


schema = xmlschema.XMLSchema(sys.argv[1], uri_mapper=local, allow="sandbox")
try:
    schema.validate(sys.argv[2])
except xmlschema.XMLSchemaException as error:
    print(error)
    sys.exit(1)
print("valid")
