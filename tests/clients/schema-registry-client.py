"""Drives Sluice's embedded schema registry with Confluent's own Python client
(confluent-kafka's SchemaRegistryClient, AvroSerializer and AvroDeserializer),
which Sluice's authors did not write. Usage: schema-registry-client.py URL

Exits non-zero at the first expectation that fails; prints "all checks passed"
at the end.
"""

import json
import struct
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def refused(call, status, code, what):
    try:
        call()
    except SchemaRegistryError as e:
        check(
            e.http_status_code == status and e.error_code == code,
            f"{what} (got HTTP {e.http_status_code}, error {e.error_code}: {e.error_message})",
        )
        return
    check(False, f"{what}: the call succeeded")


def record(*fields):
    return json.dumps(
        {"type": "record", "name": "User", "namespace": "test", "fields": list(fields)}
    )


ID = {"name": "id", "type": "int"}
NAME = {"name": "name", "type": "string"}
EMAIL = {"name": "email", "type": ["null", "string"], "default": None}
AGE = {"name": "age", "type": "int"}


def main(url):
    client = SchemaRegistryClient({"url": url})
    subject = "pyclient-value"
    v1 = Schema(record(ID, NAME), "AVRO")

    id1 = client.register_schema(subject, v1)
    check(isinstance(id1, int) and id1 > 0, f"register returns an id ({id1})")
    latest = client.get_latest_version(subject)
    check(
        latest.schema_id == id1 and latest.version == 1 and latest.subject == subject,
        "get_latest_version gives id, version 1 and subject",
    )
    check(
        json.loads(latest.schema.schema_str) == json.loads(v1.schema_str),
        "the latest version's schema is the registered one",
    )
    found = client.lookup_schema(subject, v1)
    check(found.schema_id == id1 and found.version == 1, "lookup_schema finds it")
    refused(
        lambda: client.lookup_schema(subject, Schema(record(ID), "AVRO")),
        404,
        40403,
        "lookup of an unregistered schema is 40403",
    )
    check(
        client.register_schema("pyclient-other", v1) == id1,
        "the same schema under another subject keeps its id",
    )
    check(subject in client.get_subjects(), "get_subjects lists the subject")

    # BACKWARD (the default): a new optional field is fine, a new required one is not
    v2 = Schema(record(ID, NAME, EMAIL), "AVRO")
    check(client.test_compatibility(subject, v2), "test_compatibility: optional field is compatible")
    id2 = client.register_schema(subject, v2)
    check(id2 != id1, "a new version gets a new id")
    check(client.get_version(subject, 2).schema_id == id2, "get_version(2) is the new version")
    v3 = Schema(record(ID, NAME, EMAIL, AGE), "AVRO")
    check(
        not client.test_compatibility(subject, v3),
        "test_compatibility: a required field without default is incompatible",
    )
    refused(lambda: client.register_schema(subject, v3), 409, 409, "incompatible register is 409")
    refused(
        lambda: client.register_schema(subject, Schema('{"type": "nope"}', "AVRO")),
        422,
        42201,
        "an invalid schema is 42201",
    )

    # a subject level lets it in
    client.set_compatibility(subject_name=subject, level="NONE")
    check(client.get_compatibility(subject) == "NONE", "set_compatibility/get_compatibility on a subject")
    id3 = client.register_schema(subject, v3)
    check(client.get_version(subject, 3).schema_id == id3, "registered under NONE as version 3")
    check(client.get_versions(subject) == [1, 2, 3], "get_versions lists 1, 2, 3")

    # the serializer registers under <topic>-value and the deserializer reads back
    ctx = SerializationContext("pyusers", MessageField.VALUE)
    serializer = AvroSerializer(client, record(ID, NAME, EMAIL), conf={"auto.register.schemas": True})
    payload = serializer({"id": 7, "name": "ann", "email": None}, ctx)
    check(payload[0] == 0 and len(payload) > 5, "serialized with the Confluent wire header")
    (writer_id,) = struct.unpack(">I", payload[1:5])
    check(writer_id == id2, f"the serializer's schema has the id it has elsewhere ({writer_id})")
    check(
        client.get_latest_version("pyusers-value").schema_id == writer_id,
        "the serializer registered pyusers-value",
    )
    deserializer = AvroDeserializer(client)
    back = deserializer(payload, ctx)
    check(back == {"id": 7, "name": "ann", "email": None}, f"round trip through the registry ({back})")

    # deletes: soft first, then permanent
    refused(
        lambda: client.delete_subject("pyclient-other", permanent=True),
        404,
        40405,
        "a permanent delete needs a soft delete first",
    )
    check(client.delete_subject(subject) == [1, 2, 3], "soft delete returns the versions")
    check(subject not in client.get_subjects(), "a soft-deleted subject is not listed")
    refused(lambda: client.get_versions(subject), 404, 40401, "its versions are gone (40401)")
    check(client.delete_subject(subject, permanent=True) == [1, 2, 3], "permanent delete")
    refused(lambda: client.delete_subject(subject), 404, 40401, "then the subject is unknown")
    print("all checks passed")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: schema-registry-client.py URL", file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1])
