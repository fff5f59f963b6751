package dev.shardline.cli.kafka;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * A single-node Kafka (KRaft, broker and controller in this JVM) for {@code up --kafka embedded}, the demo and the
 * tests. Its data directory is formatted once, on first use; later starts reuse it (and its ports), so a restart
 * keeps every batch, file and result. The coordinator never sees this class: it only talks to Kafka's port.
 */
public final class EmbeddedKafka implements AutoCloseable {
    private static final String PORTS = "shardline-ports.properties";

    private final KafkaRaftServer server;
    private final Path dir;
    private final int port;

    private EmbeddedKafka(KafkaRaftServer server, Path dir, int port) {
        this.server = server;
        this.dir = dir;
        this.port = port;
    }

    /**
     * Starts a broker with its data in {@code dir} (formatted only when it holds none).
     *
     * @param port the client port on first start (0 = a free one); later starts reuse the ports stored in dir
     */
    public static EmbeddedKafka start(Path dir, int port) {
        try {
            Files.createDirectories(dir);
            Path ports = dir.resolve(PORTS);
            Properties saved = new Properties();
            if (Files.exists(ports)) {
                try (Reader r = Files.newBufferedReader(ports)) {
                    saved.load(r);
                }
            } else {
                saved.setProperty("broker", Integer.toString(port > 0 ? port : freePort()));
                saved.setProperty("controller", Integer.toString(freePort()));
                try (Writer w = Files.newBufferedWriter(ports)) {
                    saved.store(w, "Shardline's embedded Kafka: ports chosen at first start, kept for the data's sake");
                }
            }
            int broker = Integer.parseInt(saved.getProperty("broker"));
            int controller = Integer.parseInt(saved.getProperty("controller"));
            Path logs = dir.resolve("data");
            Properties props = props(logs, broker, controller);
            if (!Files.exists(logs.resolve("meta.properties"))) {
                Path file = dir.resolve("server.properties");
                try (Writer w = Files.newBufferedWriter(file)) {
                    props.store(w, null);
                }
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                int rc = StorageTool.execute(new String[]{"format", "-t", Uuid.randomUuid().toString(), "-c", file.toString()},
                        new PrintStream(out, true, StandardCharsets.UTF_8));
                if (rc != 0) {
                    throw new IllegalStateException("cannot format Kafka's data directory " + logs + ": " + out);
                }
            }
            KafkaRaftServer s = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
            s.startup();
            return new EmbeddedKafka(s, dir, broker);
        } catch (IOException e) {
            throw new UncheckedIOException("embedded Kafka in " + dir + ": " + e.getMessage(), e);
        }
    }

    private static Properties props(Path logs, int broker, int controller) {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@127.0.0.1:" + controller);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + broker + ",CONTROLLER://127.0.0.1:" + controller);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + broker);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("log.dirs", logs.toString());
        for (String k : List.of("offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                "transaction.state.log.min.isr", "share.coordinator.state.topic.replication.factor",
                "share.coordinator.state.topic.min.isr", "offsets.topic.num.partitions")) {
            p.put(k, "1");
        }
        p.put("transaction.state.log.num.partitions", "4");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("num.partitions", "4");
        return p;
    }

    /** host:port for clients. */
    public String bootstrap() {
        return "127.0.0.1:" + port;
    }

    public Path dir() {
        return dir;
    }

    /**
     * Creates the batch topics if missing: requests and results with {@code partitions} partitions, the dead letters,
     * and the compacted batches and files topics.
     */
    public void createBatchTopics(String requests, String results, String deadLetters, String batches, String files,
                                  int partitions) {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap()))) {
            List<NewTopic> topics = new ArrayList<>(List.of(new NewTopic(requests, partitions, (short) 1),
                    new NewTopic(results, partitions, (short) 1), new NewTopic(deadLetters, 1, (short) 1)));
            for (String c : List.of(batches, files)) {
                topics.add(new NewTopic(c, 1, (short) 1).configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG,
                        TopicConfig.CLEANUP_POLICY_COMPACT)));
            }
            for (NewTopic t : topics) {
                try {
                    admin.createTopics(List.of(t)).all().get(60, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) throw new IllegalStateException(e.getCause());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("Kafka did not create the batch topics in 60 s", e);
        }
    }

    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
