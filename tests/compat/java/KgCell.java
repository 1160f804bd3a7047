// KgCell.java - one cell of the compatibility matrix (tests/integration/test_matrix.py) with
// Kafka's Java clients: compiled against the kafka-clients jar of each release tested (3.6.2,
// 4.x) and run through the gateway. Prints one JSON object per step; exit 0 when every step
// passed. Uses only APIs that exist in both generations.
//
//   java -cp <kafka libs>/*:<dir> KgCell --props client.properties --bootstrap H:P
//        --topic T --group G --txn ID --records N --bad-props bad.properties
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class KgCell extends KgSteps {
    static byte[] key(int i) { return String.format("k%05d", i).getBytes(StandardCharsets.UTF_8); }

    static byte[] value(int i) {
        StringBuilder b = new StringBuilder(String.format("v%05d-", i));
        for (int k = 0; k < i % 50; k++) b.append((char) ('a' + (i + k) % 26));
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    public static void main(String[] args) throws Exception {
        parse(args);
        String topic = opt.get("topic"), group = opt.get("group");
        int n = Integer.parseInt(opt.getOrDefault("records", "500"));
        Properties base = props(opt.get("props"));
        try (Admin admin = Admin.create(base)) {
            // metadata: the brokers a client is told about
            Collection<Node> nodes = admin.describeCluster().nodes().get(60, TimeUnit.SECONDS);
            StringBuilder bs = new StringBuilder();
            for (Node nd : nodes) bs.append(nd.host()).append(':').append(nd.port()).append(' ');
            step("metadata", !nodes.isEmpty(), bs.toString().trim());
            admin.createTopics(List.of(new NewTopic(topic, 3, (short) 3))).all().get(60, TimeUnit.SECONDS);
            step("create", true, topic);

            Properties pp = (Properties) base.clone();
            pp.put("key.serializer", ByteArraySerializer.class.getName());
            pp.put("value.serializer", ByteArraySerializer.class.getName());
            pp.put("acks", "all");
            pp.put("enable.idempotence", "true");
            try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pp)) {
                for (int i = 0; i < n; i++) p.send(new ProducerRecord<>(topic, key(i), value(i)));
                p.flush();
            }
            step("produce", true, n + " records");

            Properties cp = (Properties) base.clone();
            cp.put("key.deserializer", ByteArrayDeserializer.class.getName());
            cp.put("value.deserializer", ByteArrayDeserializer.class.getName());
            cp.put("group.id", group);
            cp.put("auto.offset.reset", "earliest");
            cp.put("enable.auto.commit", "false");
            cp.put("isolation.level", "read_committed");
            Map<String, byte[]> got = new HashMap<>();
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cp)) {
                c.subscribe(List.of(topic));
                long deadline = System.currentTimeMillis() + 90000;
                while (got.size() < n && System.currentTimeMillis() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500)))
                        got.put(new String(r.key(), StandardCharsets.UTF_8), r.value());
                }
                c.commitSync();
            }
            boolean exact = got.size() == n;
            for (int i = 0; i < n && exact; i++)
                exact = Arrays.equals(got.get(new String(key(i), StandardCharsets.UTF_8)), value(i));
            step("consume", exact, got.size() + " of " + n + " byte-exact, offsets committed");

            // transactions: one committed, one aborted; read_committed sees the first only
            String txTopic = topic + "-tx";
            admin.createTopics(List.of(new NewTopic(txTopic, 1, (short) 3))).all().get(60, TimeUnit.SECONDS);
            Properties tp = (Properties) pp.clone();
            tp.put("transactional.id", opt.get("txn"));
            try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(tp)) {
                p.initTransactions();
                p.beginTransaction();
                for (int i = 0; i < 10; i++) p.send(new ProducerRecord<>(txTopic, key(i), value(i)));
                p.commitTransaction();
                p.beginTransaction();
                for (int i = 10; i < 20; i++) p.send(new ProducerRecord<>(txTopic, key(i), value(i)));
                p.abortTransaction();
            }
            Properties rc = (Properties) cp.clone();
            rc.put("group.id", group + "-tx");
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(rc)) {
                readCommitted(c, txTopic);
            }

            describeGroupAndDelete(admin, group, n, topic, txTopic);
        } catch (Exception e) {  // a step that threw: the cell fails, naming it
            step("error", false, e.toString());
        }
        finish();
    }
}
