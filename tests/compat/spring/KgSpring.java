// KgSpring.java - one cell of the compatibility matrix (tests/integration/test_matrix.py) with
// Spring for Apache Kafka: KafkaAdmin, KafkaTemplate (idempotent, then transactional), a
// KafkaMessageListenerContainer in a consumer group, run through the gateway. Prints one JSON
// object per step (KgSteps); exit 0 when every step passed.
//
//   java -cp <spring libs>/*:<dir> KgSpring --props client.properties --bootstrap H:P
//        --topic T --group G --txn ID --records N --bad-props bad.properties
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;

import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.springframework.kafka.core.*;
import org.springframework.kafka.listener.*;

public class KgSpring extends KgSteps {
    static byte[] key(int i) { return String.format("k%05d", i).getBytes(StandardCharsets.UTF_8); }

    static byte[] value(int i) { return String.format("v%05d-%s", i, "x".repeat(i % 40)).getBytes(StandardCharsets.UTF_8); }

    static Map<String, Object> map(Properties p) {
        Map<String, Object> m = new HashMap<>();
        for (String k : p.stringPropertyNames()) m.put(k, p.getProperty(k));
        return m;
    }

    public static void main(String[] args) throws Exception {
        parse(args);
        String topic = opt.get("topic"), group = opt.get("group");
        int n = Integer.parseInt(opt.getOrDefault("records", "500"));
        Map<String, Object> base = map(props(opt.get("props")));
        KafkaAdmin kadmin = new KafkaAdmin(base);
        try (Admin admin = Admin.create(kadmin.getConfigurationProperties())) {
            Collection<Node> nodes = admin.describeCluster().nodes().get(60, TimeUnit.SECONDS);
            StringBuilder bs = new StringBuilder();
            for (Node nd : nodes) bs.append(nd.host()).append(':').append(nd.port()).append(' ');
            step("metadata", !nodes.isEmpty(), bs.toString().trim());
            String txTopic = topic + "-tx";
            kadmin.createOrModifyTopics(new NewTopic(topic, 3, (short) 3), new NewTopic(txTopic, 1, (short) 3));
            // a new topic reaches each broker's metadata on its own time: ask until one knows it
            Map<String, TopicDescription> made = null;
            for (long end = System.currentTimeMillis() + 30000; made == null; Thread.sleep(500)) {
                try {
                    made = kadmin.describeTopics(topic, txTopic);
                } catch (org.springframework.kafka.KafkaException e) {
                    if (System.currentTimeMillis() > end) throw e;
                }
            }
            step("create", made.get(topic).partitions().size() == 3, topic);

            Map<String, Object> pp = new HashMap<>(base);
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            DefaultKafkaProducerFactory<byte[], byte[]> pf =
                    new DefaultKafkaProducerFactory<>(pp, new ByteArraySerializer(), new ByteArraySerializer());
            KafkaTemplate<byte[], byte[]> template = new KafkaTemplate<>(pf);
            List<CompletableFuture<?>> sent = new ArrayList<>();
            for (int i = 0; i < n; i++) sent.add(template.send(topic, key(i), value(i)));
            template.flush();
            CompletableFuture.allOf(sent.toArray(new CompletableFuture[0])).get(60, TimeUnit.SECONDS);
            pf.destroy();
            step("produce", true, n + " records");

            Map<String, Object> cp = new HashMap<>(base);
            cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            DefaultKafkaConsumerFactory<byte[], byte[]> cf =
                    new DefaultKafkaConsumerFactory<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            Map<String, byte[]> got = new ConcurrentHashMap<>();
            ContainerProperties props = new ContainerProperties(topic);
            props.setGroupId(group);
            props.setAckMode(ContainerProperties.AckMode.BATCH);
            props.setMessageListener((MessageListener<byte[], byte[]>) r ->
                    got.put(new String(r.key(), StandardCharsets.UTF_8), r.value()));
            KafkaMessageListenerContainer<byte[], byte[]> container = new KafkaMessageListenerContainer<>(cf, props);
            container.start();
            long deadline = System.currentTimeMillis() + 90000;
            while (got.size() < n && System.currentTimeMillis() < deadline) Thread.sleep(200);
            Thread.sleep(1500);    // the batch's commit
            container.stop();
            boolean exact = got.size() == n;
            for (int i = 0; i < n && exact; i++)
                exact = Arrays.equals(got.get(new String(key(i), StandardCharsets.UTF_8)), value(i));
            step("consume", exact, got.size() + " of " + n + " byte-exact in a listener container");

            // transactions: executeInTransaction commits; an exception in it aborts
            Map<String, Object> tp = new HashMap<>(pp);
            DefaultKafkaProducerFactory<byte[], byte[]> tpf =
                    new DefaultKafkaProducerFactory<>(tp, new ByteArraySerializer(), new ByteArraySerializer());
            tpf.setTransactionIdPrefix(opt.get("txn"));
            KafkaTemplate<byte[], byte[]> tt = new KafkaTemplate<>(tpf);
            tt.executeInTransaction(ops -> {
                for (int i = 0; i < 10; i++) ops.send(txTopic, key(i), value(i));
                return null;
            });
            try {
                tt.executeInTransaction(ops -> {
                    for (int i = 10; i < 20; i++) ops.send(txTopic, key(i), value(i));
                    throw new IllegalStateException("abort on purpose");
                });
            } catch (IllegalStateException expected) {
                // rolled back
            }
            tpf.destroy();
            Map<String, Object> rc = new HashMap<>(cp);
            rc.put(ConsumerConfig.GROUP_ID_CONFIG, group + "-tx");
            try (Consumer<byte[], byte[]> c = new DefaultKafkaConsumerFactory<>(rc,
                    new ByteArrayDeserializer(), new ByteArrayDeserializer()).createConsumer()) {
                readCommitted(c, txTopic);
            }

            describeGroupAndDelete(admin, group, n, topic, txTopic);
        } catch (Exception e) {  // a step that threw: the cell fails, naming it
            step("error", false, e.toString());
        }
        finish();
    }
}
