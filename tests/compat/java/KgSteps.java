// KgSteps.java - what the Java test drivers (KgCell, KgGroups848) share: "--name value"
// options, one JSON object per step on stdout, and client properties read from a file with the
// bootstrap address of the run. Drivers extend it to use these unqualified.
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;

class KgSteps {
    static final Map<String, String> opt = new HashMap<>();
    static boolean allOk = true;

    protected KgSteps() {}

    static void parse(String[] args) {
        for (int i = 0; i + 1 < args.length; i += 2) opt.put(args[i].substring(2), args[i + 1]);
    }

    static void step(String name, boolean ok, String detail) {
        allOk &= ok;
        System.out.println("{\"step\":\"" + name + "\",\"ok\":" + ok + ",\"detail\":\"" +
                detail.replace("\\", "\\\\").replace("\"", "'").replace("\n", " ") + "\"}");
        System.out.flush();
    }

    // The transactions step: c (read_committed) must see the 10 committed records of topic and
    // none of the 10 aborted ones.
    static void readCommitted(Consumer<byte[], byte[]> c, String topic) {
        int seen = 0;
        c.subscribe(java.util.List.of(topic));
        long deadline = System.currentTimeMillis() + 30000;
        while (System.currentTimeMillis() < deadline && seen < 10)
            seen += c.poll(java.time.Duration.ofMillis(500)).count();
        // nothing more should arrive: the aborted records stay invisible
        seen += c.poll(java.time.Duration.ofMillis(1500)).count();
        step("transactions", seen == 10, seen + " records read_committed (10 committed, 10 aborted)");
    }

    // The group consumed n records and committed them; then the topics go.
    static void describeGroupAndDelete(Admin admin, String group, long n, String... topics) throws Exception {
        ConsumerGroupDescription d = admin.describeConsumerGroups(java.util.List.of(group))
                .describedGroups().get(group).get(30, TimeUnit.SECONDS);
        long total = 0;
        for (OffsetAndMetadata o : admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS).values())
            total += o.offset();
        step("describe_group", d.groupId().equals(group) && total == n,
                "state " + d.state() + ", committed " + total);
        admin.deleteTopics(java.util.List.of(topics)).all().get(60, TimeUnit.SECONDS);
        step("delete", true, topics[0]);
    }

    // A client with a wrong password must get an authentication error, promptly.
    static void badPassword(Properties bad) {
        long t0 = System.currentTimeMillis();
        bad.put("request.timeout.ms", "15000");
        bad.put("default.api.timeout.ms", "20000");
        try (Admin a = Admin.create(bad)) {
            a.describeCluster().nodes().get(30, TimeUnit.SECONDS);
            step("bad_password", false, "accepted");
        } catch (Exception e) {
            String s = e.toString();
            boolean auth = s.contains("Authentication") || s.contains("SaslAuthentication");
            step("bad_password", auth, (System.currentTimeMillis() - t0) + " ms: " + s);
        }
    }

    // The last step (a wrong password, when the cell has one), then the exit status.
    static void finish() throws Exception {
        if (opt.containsKey("bad-props")) badPassword(props(opt.get("bad-props")));
        System.exit(allOk ? 0 : 1);
    }

    static Properties props(String file) throws Exception {
        Properties p = new Properties();
        try (var in = Files.newInputStream(Paths.get(file))) { p.load(in); }
        p.put("bootstrap.servers", opt.get("bootstrap"));
        return p;
    }
}
