"""kafka-python (an independent implementation of the protocol) against the gateway.

Usage: python3 kafka_python_client.py <bootstrap> <topic>; prints one JSON object of what it saw.
"""
import json
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

bootstrap, topic = sys.argv[1], sys.argv[2]
out = {}

admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="py-admin")
admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1, topic_configs={"retention.ms": "3600000"})])
configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
out["retention"] = [entry[1] for entry in configs[0].resources[0][4] if entry[0] == "retention.ms"]
out["topics"] = sorted(t for t in admin.list_topics() if t == topic)

producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type="gzip", linger_ms=20)
base = 1_650_000_000_000
for i in range(20):
    producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), headers=[("n", str(i).encode())], partition=i % 2, timestamp_ms=base + i)
producer.flush()
producer.close()

consumer = KafkaConsumer(
    topic,
    bootstrap_servers=bootstrap,
    group_id="py-group",
    auto_offset_reset="earliest",
    enable_auto_commit=False,
    consumer_timeout_ms=6000,
)
seen = []
for message in consumer:
    seen.append({"key": message.key.decode(), "value": message.value.decode(), "headers": [[k, v.decode()] for k, v in message.headers], "timestamp": message.timestamp})
    if len(seen) == 20:
        break
consumer.commit()
out["consumed"] = sorted(seen, key=lambda m: m["timestamp"])
out["committed"] = {str(p): consumer.committed(TopicPartition(topic, p)) for p in (0, 1)}
times = consumer.offsets_for_times({TopicPartition(topic, 0): base + 10, TopicPartition(topic, 1): base + 10})
out["byTime"] = {str(tp.partition): v.offset for tp, v in times.items()}
consumer.close()
print(json.dumps(out))
