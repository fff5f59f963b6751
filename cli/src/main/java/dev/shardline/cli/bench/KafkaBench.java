package dev.shardline.cli.bench;

import dev.shardline.cli.client.ClusterClient;
import dev.shardline.cli.cluster.LocalCluster;
import dev.shardline.cli.cluster.ShardlineProcess;
import dev.shardline.cli.kafka.EmbeddedKafka;
import dev.shardline.coordinator.batch.BatchRunner;
import dev.shardline.model.json.Json;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * {@code bench --local --kafka}: one local cluster (worker processes) runs the same requests through gRPC (C
 * concurrent streams) and as a batch through Kafka (the batch loop limited to C requests at once), alternating by
 * round; per C: the Kafka/gRPC throughput ratio (goal >= 0.95) and the time Kafka adds per request. Then the time to
 * recover after a coordinator crash: a coordinator process working through a batch is killed with SIGKILL, a new one
 * starts, and the time from the kill to the next committed result is measured (and the batch ends exactly once).
 */
public final class KafkaBench {

    /** What to run. */
    public record Settings(Path model, int workers, int threadsPerWorker, long budgetBytes, int[] concurrency,
                           int promptTokens, int genTokens, int rounds) {
    }

    private final Settings s;
    private final Consumer<String> out;

    public KafkaBench(Settings settings, Consumer<String> out) {
        this.s = settings;
        this.out = out;
    }

    public int run() throws Exception {
        Path dir = Files.createTempDirectory("shardline-bench-kafka");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir, 0)) {
            kafka.createBatchTopics("bench-requests", "bench-results", "bench-dead", "bench-batches", "bench-files", 4);
            Map<String, String> flags = new HashMap<>(Map.of("pipelines", "1", "activation-dtype", "bf16", "max-kv-blocks", "4096"));
            flags.putAll(topicFlags(kafka, "bench"));
            flags.put("kafka-instance-id", "bench");
            flags.put("kafka-commit-interval-ms", "20");
            try (LocalCluster cluster = LocalCluster.start(s.model(), s.workers(), 0, s.threadsPerWorker(), s.budgetBytes(),
                    flags, true, line -> { });
                 ClusterClient grpc = new ClusterClient(cluster.address())) {
                BatchRunner batch = cluster.coordinator().batch().orElseThrow();
                out.accept(String.format("one cluster of %d worker(s) x %d thr; prompt %d tokens, %d generated per request; "
                        + "Kafka %s (4 partitions); %d round(s)", s.workers(), s.threadsPerWorker(), s.promptTokens(),
                        s.genTokens(), kafka.bootstrap(), s.rounds()));
                ClusterLoad.run(grpc, null, 0, prompts(4, 99), 32, "warm-up");
                viaKafka(kafka, batch, prompts(4, 98), 32, 4, "warm-up");
                List<double[]> perRound = new ArrayList<>();
                for (int round = 1; round <= s.rounds(); round++) {
                    out.accept("\nround " + round + " of " + s.rounds());
                    double[] r = new double[2 * s.concurrency().length];
                    for (int i = 0; i < s.concurrency().length; i++) {
                        int c = s.concurrency()[i];
                        int n = Math.max(16, 4 * c);
                        int[][] p = prompts(n, c * 1000L + round);
                        double[] g;
                        double[] k;
                        if (round % 2 == 1) {
                            g = viaGrpc(grpc, p, c);
                            k = viaKafka(kafka, batch, p, s.genTokens(), c, "round " + round);
                        } else {
                            k = viaKafka(kafka, batch, p, s.genTokens(), c, "round " + round);
                            g = viaGrpc(grpc, p, c);
                        }
                        double gt = g[0] / g[1];
                        double kt = k[0] / k[1];
                        r[2 * i] = kt / gt;
                        r[2 * i + 1] = (k[1] - g[1]) * 1000 / (n / (double) c);
                        out.accept(String.format("C=%-3d %4d requests: gRPC %8.1f tok/s (%.2f s), Kafka %8.1f tok/s (%.2f s)",
                                c, n, gt, g[1], kt, k[1]));
                    }
                    perRound.add(r);
                    describe(r);
                }
                if (perRound.size() > 1) {
                    out.accept("\nmedian of " + perRound.size() + " rounds:");
                    double[] m = new double[perRound.getFirst().length];
                    for (int j = 0; j < m.length; j++) {
                        int jj = j;
                        double[] v = perRound.stream().mapToDouble(x -> x[jj]).sorted().toArray();
                        m[j] = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
                    }
                    describe(m);
                }
                interactiveUnderBatch(kafka, batch, grpc);
            }
            recovery(kafka);
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
        return 0;
    }

    private void describe(double[] r) {
        for (int i = 0; i < s.concurrency().length; i++) {
            out.accept(String.format("C=%d: Kafka/gRPC throughput %.3fx (goal >= 0.95), Kafka adds %+.1f ms per request",
                    s.concurrency()[i], r[2 * i], r[2 * i + 1]));
        }
    }

    /** {tokens, seconds} of the prompts as waves of c concurrent gRPC streams. */
    private double[] viaGrpc(ClusterClient grpc, int[][] p, int c) throws Exception {
        double tokens = 0;
        double seconds = 0;
        for (int from = 0; from < p.length; from += c) {
            LoadRun r = ClusterLoad.run(grpc, null, 0, Arrays.copyOfRange(p, from, Math.min(p.length, from + c)), s.genTokens(), "gRPC");
            tokens += r.generatedTokens();
            seconds += r.seconds();
        }
        return new double[]{tokens, seconds};
    }

    /** {tokens, seconds} of the prompts as one batch through Kafka, c at once, until every result is committed. */
    private static double[] viaKafka(EmbeddedKafka kafka, BatchRunner batch, int[][] p, int gen, int c, String id)
            throws InterruptedException {
        batch.maxRequests(c);
        long before = batch.stats().results();
        long start = System.nanoTime();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrap(),
                "linger.ms", 1), new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < p.length; i++) {
                String cid = id + "-" + System.nanoTime() + "-" + i;
                ProducerRecord<String, String> r = new ProducerRecord<>("bench-requests", cid, line(cid, p[i], gen));
                r.headers().add(BatchRunner.BATCH_HEADER, id.getBytes(StandardCharsets.UTF_8));
                producer.send(r);
            }
        }
        while (batch.stats().results() - before < p.length) Thread.sleep(2);
        return new double[]{(double) p.length * gen, (System.nanoTime() - start) / 1e9};
    }

    private static String line(String id, int[] prompt, int gen) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("prompt", Arrays.stream(prompt).boxed().toList());
        body.put("max_tokens", gen);
        body.put("temperature", 0);
        body.put("ignore_eos", true);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("custom_id", id);
        m.put("method", "POST");
        m.put("url", "/v1/completions");
        m.put("body", body);
        return Json.write(m);
    }

    /** Interactive time to first token (gRPC, one at a time) on an idle cluster and with a large batch queued. */
    private void interactiveUnderBatch(EmbeddedKafka kafka, BatchRunner batch, ClusterClient grpc) throws Exception {
        List<LoadRun> idle = new ArrayList<>();
        for (int i = 0; i < 8; i++) idle.add(ClusterLoad.run(grpc, null, 0, prompts(1, 500 + i), 8, "idle"));
        batch.maxRequests(0);
        long before = batch.stats().results();
        int n = 256;
        Thread producer = Thread.ofVirtual().start(() -> {
            try {
                viaKafka(kafka, batch, prompts(n, 77), s.genTokens(), 0, "backlog");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        while (batch.stats().submitted() < 32) Thread.sleep(10);
        List<LoadRun> busy = new ArrayList<>();
        for (int i = 0; i < 8; i++) busy.add(ClusterLoad.run(grpc, null, 0, prompts(1, 600 + i), 8, "under batch"));
        long doneWhileMeasuring = batch.stats().results() - before;
        producer.join();
        LoadRun a = HttpBench.merge(idle);
        LoadRun b = HttpBench.merge(busy);
        out.accept(String.format("%ninteractive TTFT p50 (gRPC, 8 requests one at a time): idle %.0f ms, with a batch of %d "
                + "queued %.0f ms (%d batch results committed meanwhile)", a.ttft(50), n, b.ttft(50), doneWhileMeasuring));
    }

    /** Kill -9 of a coordinator process mid-batch; the time until its successor commits the next result. */
    private void recovery(EmbeddedKafka kafka) throws Exception {
        kafka.createBatchTopics("rec-requests", "rec-results", "rec-dead", "rec-batches", "rec-files", 4);
        int n = 64;
        int port;
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0)) {
            port = ss.getLocalPort();
        }
        int[][] p = prompts(n, 7);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrap()),
                new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < n; i++) {
                ProducerRecord<String, String> r = new ProducerRecord<>("rec-requests", "r-" + i, line("r-" + i, p[i], s.genTokens()));
                r.headers().add(BatchRunner.BATCH_HEADER, "recovery".getBytes(StandardCharsets.UTF_8));
                producer.send(r);
            }
        }
        List<ShardlineProcess> ps = new ArrayList<>();
        try {
            for (int w = 0; w < s.workers(); w++) {
                ps.add(ShardlineProcess.start("worker-" + w, List.of("worker", "--worker-id=worker-" + w,
                        "--coordinator=127.0.0.1:" + port, "--model=" + s.model(), "--threads=" + s.threadsPerWorker(),
                        "--memory-budget=" + s.budgetBytes()), line -> { }));
            }
            ShardlineProcess first = coordinator(kafka, port, "--batch-max-requests=1");    // slow enough to kill mid-batch
            ps.add(first);
            long wait = System.nanoTime() + 300_000_000_000L;
            while (committed(kafka) < n / 4) {
                if (System.nanoTime() > wait) throw new IllegalStateException("the first coordinator committed nothing");
                Thread.sleep(20);
            }
            long killed = System.nanoTime();
            first.kill();
            first.awaitExit(30, java.util.concurrent.TimeUnit.SECONDS);
            int atKill = committed(kafka);                // what the dead one committed, read after its death
            if (atKill >= n) {
                out.accept("\nrecovery: not measured: the batch was done before the kill landed");
                return;
            }
            ps.add(coordinator(kafka, port));
            wait = System.nanoTime() + 300_000_000_000L;
            while (committed(kafka) <= atKill) {
                if (System.nanoTime() > wait) throw new IllegalStateException("the successor committed nothing in 300 s");
                Thread.sleep(20);
            }
            double recovered = (System.nanoTime() - killed) / 1e9;
            while (committed(kafka) < n) {
                if (System.nanoTime() > wait) throw new IllegalStateException("the successor did not finish the batch");
                Thread.sleep(50);
            }
            Thread.sleep(1000);
            int total = committed(kafka);
            out.accept(String.format("%nrecovery: coordinator killed (SIGKILL) after %d of %d results; its successor (a new "
                    + "process, same instance id) committed the next result %.1f s after the kill; %d result records in "
                    + "the end (exactly %d expected)", atKill, n, recovered, total, n));
        } finally {
            for (ShardlineProcess x : ps.reversed()) x.close();
        }
    }

    private ShardlineProcess coordinator(EmbeddedKafka kafka, int port, String... more) {
        List<String> args = new ArrayList<>(List.of("coordinator", "--model=" + s.model(), "--workers=" + s.workers(),
                "--port=" + port, "--http-port=0", "--pipelines=1", "--max-kv-blocks=4096", "--kafka-instance-id=recovery"));
        topicFlags(kafka, "rec").forEach((k, v) -> args.add("--" + k + "=" + v));
        args.addAll(List.of(more));
        return ShardlineProcess.start("coordinator", args, line -> { });
    }

    private static Map<String, String> topicFlags(EmbeddedKafka kafka, String prefix) {
        return Map.of("kafka-bootstrap", kafka.bootstrap(), "kafka-requests-topic", prefix + "-requests",
                "kafka-results-topic", prefix + "-results", "kafka-dead-letter-topic", prefix + "-dead",
                "kafka-batches-topic", prefix + "-batches", "kafka-files-topic", prefix + "-files",
                "kafka-group", prefix + "-group");
    }

    /** Result records a read_committed consumer sees now (read to the last stable offsets). */
    private static int committed(EmbeddedKafka kafka) {
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of("bootstrap.servers", kafka.bootstrap(),
                "isolation.level", "read_committed"), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = new ArrayList<>();
            c.partitionsFor("rec-results").forEach(i -> parts.add(new TopicPartition("rec-results", i.partition())));
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            int n = 0;
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) n += c.poll(Duration.ofMillis(50)).count();
            return n;
        }
    }

    private int[][] prompts(int c, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[][] p = new int[c][];
        for (int i = 0; i < c; i++) p[i] = r.ints(s.promptTokens(), 0, 151643).toArray();
        return p;
    }
}
