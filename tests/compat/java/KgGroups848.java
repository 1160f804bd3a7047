// KgGroups848.java - KIP-848 consumer groups (group.protocol=consumer, Kafka 4.x clients) through
// the gateway, as a principal that may see some topics and not others
// (tests/integration/test_acl_tenants.py). Prints one JSON object per step; exit 0 when every
// step passed.
//
//   java -cp <kafka 4.x libs>/*:<dir> KgGroups848 --props user.properties
//        --super-props admin.properties --bootstrap H:P --allowed T1 --hidden T2
//        --regex 'tenant-.*' --allowed-prefix tenant-a. --group-prefix P
//
// Steps: a subscription to an allowed topic is assigned it; one that also names a hidden topic
// fails with TopicAuthorizationException; a regex subscription is assigned only topics the user
// may see (the gateway resolves it: the brokers would as its own identity); describing a group shows its members
// when they hold only allowed topics, and fails (never naming the topic) when a member holds a
// hidden one.
import java.time.Duration;
import java.util.*;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class KgGroups848 extends KgSteps {
    static KafkaConsumer<byte[], byte[]> consumer(String propsFile, String group) throws Exception {
        Properties p = props(propsFile);
        p.put("group.id", group);
        p.put("group.protocol", "consumer");
        p.put("auto.offset.reset", "earliest");
        p.put("key.deserializer", ByteArrayDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        return new KafkaConsumer<>(p);
    }

    /* Polls until the assignment is non-empty or an exception; returns the exception or null. */
    static Exception pollForAssignment(KafkaConsumer<byte[], byte[]> c, long seconds) {
        long end = System.currentTimeMillis() + seconds * 1000;
        try {
            while (System.currentTimeMillis() < end && c.assignment().isEmpty())
                c.poll(Duration.ofMillis(500));
            return null;
        } catch (Exception e) {
            return e;
        }
    }

    static Set<String> topicsOf(Set<TopicPartition> tps) {
        Set<String> s = new TreeSet<>();
        for (TopicPartition tp : tps) s.add(tp.topic());
        return s;
    }

    public static void main(String[] args) throws Exception {
        parse(args);
        String user = opt.get("props"), sup = opt.get("super-props");
        String allowed = opt.get("allowed"), hidden = opt.get("hidden"), pre = opt.get("group-prefix");

        // 1. allowed topic: assigned
        try (KafkaConsumer<byte[], byte[]> c = consumer(user, pre + "k848-ok")) {
            c.subscribe(List.of(allowed));
            Exception e = pollForAssignment(c, 60);
            Set<String> got = topicsOf(c.assignment());
            step("subscribe allowed topic", e == null && got.equals(Set.of(allowed)),
                 e != null ? e.toString() : "assigned " + got);

            // 4a. describe a group whose member holds only allowed topics: members shown
            try (Admin a = Admin.create(props(user))) {
                ConsumerGroupDescription d = a.describeConsumerGroups(List.of(pre + "k848-ok"))
                        .all().get(30, TimeUnit.SECONDS).get(pre + "k848-ok");
                step("describe own group", d.members().size() == 1, "members " + d.members().size()
                     + " type " + d.type());
            } catch (Exception ex) {
                step("describe own group", false, ex.toString());
            }
        }

        // 2. a subscription naming a hidden topic: TopicAuthorizationException, nothing assigned
        try (KafkaConsumer<byte[], byte[]> c = consumer(user, pre + "k848-mixed")) {
            c.subscribe(List.of(allowed, hidden));
            Exception e = pollForAssignment(c, 30);
            boolean refused = e instanceof TopicAuthorizationException;
            step("subscribe hidden topic refused", refused && c.assignment().isEmpty(),
                 e != null ? e.getClass().getSimpleName() : "assigned " + topicsOf(c.assignment()));
        }

        // 3. regex subscriptions see only the topics the user may: a Java Pattern (resolved by
        // the client against the metadata it is shown) and a SubscriptionPattern (KIP-848,
        // resolved by the group coordinator: the gateway resolves it for the principal)
        String mine = opt.get("allowed-prefix");
        for (int kind = 0; kind < 2; kind++) {
            String name = kind == 0 ? "client-side regex" : "broker-side regex (SubscriptionPattern)";
            try (KafkaConsumer<byte[], byte[]> c = consumer(user, pre + "k848-regex" + kind)) {
                if (kind == 0)
                    c.subscribe(Pattern.compile(opt.get("regex")));
                else
                    c.subscribe(new SubscriptionPattern(opt.get("regex")));
                Exception e = pollForAssignment(c, 60);
                Set<String> got = topicsOf(c.assignment());
                boolean onlyMine = !got.isEmpty() && got.stream().allMatch(t -> t.startsWith(mine));
                step(name + " sees only allowed topics", e == null && onlyMine && got.contains(allowed),
                     e != null ? e.toString() : "assigned " + got);
            }
        }

        // 4b. a group (that the user may describe) whose member, a super user, holds a hidden topic
        try (KafkaConsumer<byte[], byte[]> c = consumer(sup, pre + "k848-shared")) {
            c.subscribe(List.of(hidden));
            Exception e = pollForAssignment(c, 60);
            step("super user assigned hidden topic", e == null && !c.assignment().isEmpty(),
                 e != null ? e.toString() : "assigned " + topicsOf(c.assignment()));
            try (Admin a = Admin.create(props(user))) {
                ConsumerGroupDescription d = a.describeConsumerGroups(List.of(pre + "k848-shared"))
                        .all().get(30, TimeUnit.SECONDS).get(pre + "k848-shared");
                step("describe group holding hidden topic refused", false,
                     "described: " + d.members());
            } catch (ExecutionException ex) {
                boolean ok = ex.getCause() instanceof TopicAuthorizationException &&
                        !String.valueOf(ex.getCause().getMessage()).contains(hidden);
                step("describe group holding hidden topic refused", ok, ex.getCause().toString());
            }
        }
        System.exit(allOk ? 0 : 1);
    }
}
