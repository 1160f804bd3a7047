// KgSteps.java - what the Java test drivers (KgCell, KgGroups848) share: "--name value"
// options, one JSON object per step on stdout, and client properties read from a file with the
// bootstrap address of the run. Drivers extend it to use these unqualified.
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

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

    static Properties props(String file) throws Exception {
        Properties p = new Properties();
        try (var in = Files.newInputStream(Paths.get(file))) { p.load(in); }
        p.put("bootstrap.servers", opt.get("bootstrap"));
        return p;
    }
}
