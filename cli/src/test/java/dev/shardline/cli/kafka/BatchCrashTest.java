package dev.shardline.cli.kafka;

import dev.shardline.cli.cluster.LocalCluster;
import dev.shardline.cli.cluster.ShardlineProcess;
import dev.shardline.cli.cluster.TestModels;
import dev.shardline.model.demo.DemoPreset;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * kill -9 of a coordinator process (a real child JVM with a tiny-model worker process) while it works through a
 * batch of 200: at fixed points (results produced but not committed; right after a commit) and at a random moment,
 * each time a new coordinator with the same instance id takes over. A read_committed consumer then counts exactly
 * 200 result records, one per custom_id, and every greedy answer equals the one of a run without a crash; after
 * every kill, every request below the group's committed offsets has its result (a broken variant that commits
 * offsets before the results fails that check).
 */
class BatchCrashTest {
    static EmbeddedKafka kafka;
    static Path dir;
    static final ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();

    @BeforeAll
    static void broker() throws Exception {
        dir = Files.createTempDirectory("shardline-kafka-crash");
        kafka = EmbeddedKafka.start(dir, 0);
    }

    @AfterAll
    static void stop() {
        if (kafka != null) kafka.close();
        TestKafka.delete(dir);
    }

    @Test
    void killedCoordinatorsLoseAndDuplicateNoResult() throws Exception {
        int n = 200;
        List<String[]> lines = BatchRequests.many("c", n, 8);
        Path model = TestModels.get(DemoPreset.TINY);

        // the reference: the same batch without a crash
        KafkaLines.Topics ref = KafkaLines.Topics.named("ref");
        ref.create(kafka, 4);
        Map<String, String> refFlags = new HashMap<>(ref.flags(kafka));
        refFlags.putAll(Map.of("kafka-instance-id", "ref", "pipelines", "1", "max-kv-blocks", "400", "kv-reserve-tokens", "64"));
        Map<String, String> expected = new HashMap<>();
        try (LocalCluster c = LocalCluster.start(model, 1, 0, 1, 4L << 30, refFlags, false, line -> { })) {
            KafkaLines.produce(kafka.bootstrap(), ref.requests(), "batch_ref", lines);
            for (KafkaLines.Seen s : KafkaLines.readCommitted(kafka.bootstrap(), ref.results(), 180_000, l -> l.size() >= n)) {
                expected.put(s.key(), BatchRequests.essence(s.json()));
            }
        }
        assertEquals(n, expected.size());
        phase("reference run");

        KafkaLines.Topics t = KafkaLines.Topics.named("crash");
        t.create(kafka, 4);
        KafkaLines.produce(kafka.bootstrap(), t.requests(), "batch_crash", lines);
        int port = freePort();
        List<ShardlineProcess> processes = new ArrayList<>();
        try {
            ShardlineProcess first = coordinator(t, model, port, "before-commit:3");
            processes.add(first);
            // the worker starts after the coordinator process, so that a slow start of the coordinator (a loaded
            // machine) does not use up the worker's patience for its first registration
            processes.add(ShardlineProcess.start("worker-0", List.of("worker", "--worker-id=worker-0",
                    "--coordinator=127.0.0.1:" + port, "--model=" + model, "--threads=1", "--memory-budget=4G"), log::add));
            assertEquals(137, first.awaitExit(180, TimeUnit.SECONDS), "killed itself before its 3rd commit" + tail());
            phase("first coordinator died before its 3rd commit");
            int afterFirst = committed(t);
            assertEquals(List.of(), lostBelowCommittedOffsets(t), "every request below the group's offsets has its result");

            ShardlineProcess second = coordinator(t, model, port, "after-commit:3");
            processes.add(second);
            assertEquals(137, second.awaitExit(180, TimeUnit.SECONDS), "killed itself after its 3rd commit" + tail());
            phase("second coordinator died after its 3rd commit");
            int afterSecond = committed(t);
            assertEquals(List.of(), lostBelowCommittedOffsets(t), "every request below the group's offsets has its result");
            assertTrue(afterSecond > afterFirst, "the second coordinator committed: " + afterFirst + " -> " + afterSecond);

            // the random kill: at a random time after the third coordinator got its partitions (it takes one request
            // at a time, so the batch cannot be over before it)
            long seed = System.nanoTime();
            ShardlineProcess third = coordinator(t, model, port, "", "--batch-queue-tokens=16");
            processes.add(third);
            KafkaLines.await(() -> log.stream().anyMatch(l -> l.contains("[coordinator-random]") && l.contains("assigned")),
                    180_000, "the third coordinator gets its partitions" + tail());
            long delay = new Random(seed).nextInt(2000);
            Thread.sleep(delay);
            third.kill();
            phase("the third coordinator killed " + delay + " ms after its assignment (seed " + seed + ")");
            assertEquals(137, third.awaitExit(30, TimeUnit.SECONDS));
            int afterThird = committed(t);
            assertEquals(List.of(), lostBelowCommittedOffsets(t), "every request below the group's offsets has its result");
            assertTrue(afterThird < n, "the random kill (seed " + seed + ") came mid-batch: " + afterThird + " committed");
            phase(afterFirst + " / " + afterSecond + " / " + afterThird + " results committed after each kill");

            processes.add(coordinator(t, model, port, ""));
            List<KafkaLines.Seen> results = KafkaLines.readCommitted(kafka.bootstrap(), t.results(), 240_000, l -> l.size() >= n);
            assertEquals(n, results.size(), "raw result records" + tail());
            phase("the fourth coordinator finished the batch");
            Thread.sleep(2000);
            results = KafkaLines.readAllCommitted(kafka.bootstrap(), t.results());
            assertEquals(n, results.size(), "raw result records after the batch settled (seed " + seed + ")" + tail());
            Map<String, String> got = new HashMap<>();
            for (KafkaLines.Seen s : results) {
                assertEquals(null, got.put(s.key(), BatchRequests.essence(s.json())), "one result per custom_id: " + s.key());
            }
            assertEquals(expected, got, "greedy answers equal the run without a crash");
        } finally {
            for (ShardlineProcess p : processes.reversed()) p.close();
        }
    }

    /**
     * The check can fail: a coordinator that commits its offsets outside the transaction, before the results (a test
     * switch), and is killed before the transaction commits leaves requests below the group's offsets without a
     * result: no successor would ever run them again. The same check passes after every kill above.
     */
    @Test
    void offsetsCommittedBeforeTheResultsLoseResultsAndTheCheckSeesIt() throws Exception {
        int n = 40;
        Path model = TestModels.get(DemoPreset.TINY);
        KafkaLines.Topics t = KafkaLines.Topics.named("broken");
        t.create(kafka, 4);
        KafkaLines.produce(kafka.bootstrap(), t.requests(), "batch_broken", BatchRequests.many("b", n, 8));
        int port = freePort();
        List<ShardlineProcess> processes = new ArrayList<>();
        try {
            ShardlineProcess broken = coordinator(t, "broken-1", model, port, "before-commit:2,offsets-first");
            processes.add(broken);
            processes.add(ShardlineProcess.start("worker-b", List.of("worker", "--worker-id=worker-b",   // after it, as above
                    "--coordinator=127.0.0.1:" + port, "--model=" + model, "--threads=1", "--memory-budget=4G"), log::add));
            assertEquals(137, broken.awaitExit(180, TimeUnit.SECONDS), "killed itself before its 2nd commit" + tail());
            // what a successor's initTransactions does first: abort the dead one's open transaction
            try (KafkaProducer<byte[], byte[]> fence = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrap(),
                    "transactional.id", "shardline-batch-broken-1"), new ByteArraySerializer(), new ByteArraySerializer())) {
                fence.initTransactions();
            }
            List<String> lost = lostBelowCommittedOffsets(t);
            assertFalse(lost.isEmpty(), "offsets committed before their results lose those results" + tail());
            phase("the broken variant lost " + lost.size() + " result(s) below the committed offsets: " + lost);
        } finally {
            for (ShardlineProcess p : processes.reversed()) p.close();
        }
    }

    /** custom_ids of requests below their partition's committed group offset that have no committed result. */
    private static List<String> lostBelowCommittedOffsets(KafkaLines.Topics t) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offsets;
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrap()))) {
            offsets = admin.listConsumerGroupOffsets(t.group()).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        }
        Set<String> answered = new HashSet<>();
        for (KafkaLines.Seen r : KafkaLines.readAllCommitted(kafka.bootstrap(), t.results())) answered.add(r.key());
        List<String> lost = new ArrayList<>();
        for (KafkaLines.Seen q : KafkaLines.readAllCommitted(kafka.bootstrap(), t.requests())) {
            OffsetAndMetadata o = offsets.get(new TopicPartition(t.requests(), q.partition()));
            if (o != null && q.offset() < o.offset() && !answered.contains(q.key())) lost.add(q.key());
        }
        return lost;
    }

    private static final long START = System.nanoTime();

    private static void phase(String what) {
        System.out.printf("crash test %6.1f s: %s%n", (System.nanoTime() - START) / 1e9, what);
    }

    private static ShardlineProcess coordinator(KafkaLines.Topics t, Path model, int port, String crash, String... more) {
        return coordinator(t, "crash-1", model, port, crash, more);
    }

    private static ShardlineProcess coordinator(KafkaLines.Topics t, String instance, Path model, int port, String crash,
                                                String... more) {
        List<String> args = new ArrayList<>(List.of("coordinator", "--model=" + model, "--workers=1", "--port=" + port,
                "--http-port=0", "--pipelines=1", "--max-kv-blocks=400", "--kv-reserve-tokens=64", "--test-hooks=true",
                "--kafka-instance-id=" + instance, "--batch-queue-tokens=96"));
        for (var e : t.flags(kafka).entrySet()) args.add("--" + e.getKey() + "=" + e.getValue());
        if (!crash.isEmpty()) args.add("--batch-test-crash=" + crash);
        args.addAll(List.of(more));
        return ShardlineProcess.start("coordinator-" + (crash.isEmpty() ? more.length > 0 ? "random" : "last" : crash), args,
                line -> log.add(String.format("%6.1f ", (System.nanoTime() - START) / 1e9) + line));
    }

    private static int committed(KafkaLines.Topics t) {
        return KafkaLines.readAllCommitted(kafka.bootstrap(), t.results()).size();
    }

    private static String tail() {
        List<String> l = new ArrayList<>(log);
        return "\n" + String.join("\n", l.subList(Math.max(0, l.size() - 150), l.size()));
    }

    private static int freePort() throws java.io.IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
