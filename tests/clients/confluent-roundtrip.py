"""Records written and read by Confluent's own Python serializers (confluent-kafka's
AvroSerializer / AvroDeserializer with its SchemaRegistryClient), which Sluice's
authors did not write, against Sluice's schema registry.

Usage:
  confluent-roundtrip.py serialize REGISTRY TOPIC       JSON lines in, hex lines out
  confluent-roundtrip.py deserialize REGISTRY TOPIC     hex lines in, JSON lines out
  confluent-roundtrip.py produce REGISTRY TOPIC BOOTSTRAP [KEY=VALUE...]
                                                       JSON lines in, to Kafka
  confluent-roundtrip.py consume REGISTRY TOPIC BOOTSTRAP COUNT [KEY=VALUE...]
                                                       COUNT records from Kafka, JSON lines out

The serializer registers the Order schema under TOPIC-value; the deserializer
reads each record with the writer schema its id names. KEY=VALUE pairs are
extra librdkafka settings. Exits non-zero on any failure.
"""

import json
import sys

from confluent_kafka import DeserializingConsumer, SerializingProducer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

ORDER = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "namespace": "shop",
        "fields": [
            {"name": "ID", "type": "string"},
            {"name": "AMOUNT", "type": "double"},
        ],
    }
)


def settings(pairs):
    return dict(p.split("=", 1) for p in pairs)


def main():
    mode, registry_url, topic = sys.argv[1:4]
    registry = SchemaRegistryClient({"url": registry_url})
    if mode == "serialize":
        serializer = AvroSerializer(registry, ORDER)
        ctx = SerializationContext(topic, MessageField.VALUE)
        for line in sys.stdin:
            if line.strip():
                print(serializer(json.loads(line), ctx).hex())
    elif mode == "deserialize":
        deserializer = AvroDeserializer(registry)
        ctx = SerializationContext(topic, MessageField.VALUE)
        for line in sys.stdin:
            if line.strip():
                print(json.dumps(deserializer(bytes.fromhex(line.strip()), ctx), sort_keys=True))
    elif mode == "produce":
        bootstrap = sys.argv[4]
        producer = SerializingProducer(
            {
                "bootstrap.servers": bootstrap,
                "value.serializer": AvroSerializer(registry, ORDER),
                **settings(sys.argv[5:]),
            }
        )
        for line in sys.stdin:
            if line.strip():
                producer.produce(topic, value=json.loads(line))
        left = producer.flush(30)
        if left:
            sys.exit(f"{left} records were not delivered")
    elif mode == "consume":
        bootstrap, count = sys.argv[4], int(sys.argv[5])
        consumer = DeserializingConsumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "confluent-roundtrip",
                "auto.offset.reset": "earliest",
                "value.deserializer": AvroDeserializer(registry),
                **settings(sys.argv[6:]),
            }
        )
        consumer.subscribe([topic])
        got = 0
        for _ in range(300):
            message = consumer.poll(0.2)
            if message is None:
                continue
            if message.error():
                sys.exit(f"consume: {message.error()}")
            print(json.dumps(message.value(), sort_keys=True), flush=True)
            got += 1
            if got == count:
                break
        consumer.close()
        if got != count:
            sys.exit(f"read {got} of {count} records")
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
