package dev.shardline.coordinator.batch;

import dev.shardline.coordinator.config.BatchConfig;
import dev.shardline.coordinator.http.BatchCalls;
import dev.shardline.coordinator.http.BatchEndpoints;
import dev.shardline.model.json.Json;
import dev.shardline.model.json.JsonException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The OpenAI Batch API's state, kept in Kafka (ADR 0011) so that every coordinator of the group reads the same and
 * a restart loses nothing: batch objects in a compacted topic keyed by id, uploaded files in a compacted topic in
 * 512 KiB chunks, request counts and output files read from the results topic. One follower thread reads the three
 * topics from the beginning into memory; writes wait until the follower has read them back (read your writes).
 * A timer moves batches along: finished ones to completed (or cancelled / expired), past their window to expired,
 * and ones left validating by a coordinator that stopped mid-creation to in_progress (queued here, exactly once).
 */
public final class BatchStore implements BatchEndpoints, BatchStates, AutoCloseable {
    private static final int CHUNK = 512 << 10;
    /** A batch validating this long after its creation is taken over (its coordinator stopped mid-creation). */
    static final long STUCK_AFTER_SECONDS = 60;
    private static final Pattern WINDOW = Pattern.compile("([1-9][0-9]{0,5})([smh])");
    private static final SecureRandom RANDOM = new SecureRandom();

    private record Counts(long completed, long failed) {
    }

    private final BatchConfig config;
    private final Consumer<String> log;
    private final LongSupplier clockSeconds;
    private final Map<String, Map<String, Object>> batches = new ConcurrentHashMap<>();
    private final Map<String, Map<String, Object>> files = new ConcurrentHashMap<>();
    private final Map<String, byte[]> chunks = new ConcurrentHashMap<>();
    private final Map<String, Counts> counts = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Long> positions = new ConcurrentHashMap<>();
    private final Set<String> ended = ConcurrentHashMap.newKeySet();
    private final Set<String> creating = ConcurrentHashMap.newKeySet();     // batches this coordinator is queueing
    private final AtomicLong version = new AtomicLong();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r ->
            Thread.ofPlatform().name("batch-store-timer").daemon().unstarted(r));
    private volatile boolean running;
    private KafkaProducer<byte[], byte[]> producer;
    private KafkaConsumer<byte[], byte[]> follower;
    private Thread thread;

    public BatchStore(BatchConfig config, LongSupplier clockSeconds, Consumer<String> log) {
        this.config = config;
        this.clockSeconds = clockSeconds;
        this.log = log;
    }

    /**
     * Creates the batch topics that are missing (the requests and results topics with the broker's default partition
     * count, the batches and files topics compacted), reads the state topics up to their ends (so the state is
     * complete before serving), then follows them.
     */
    public void start() {
        BatchTopics.ensure(config, log);
        Properties pp = KafkaProps.producer(config);
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        producer = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer());
        Properties cp = KafkaProps.consumer(config);
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        follower = new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> parts = new ArrayList<>();
        for (String t : List.of(config.batchesTopic(), config.filesTopic(), config.resultsTopic())) {
            follower.partitionsFor(t, Duration.ofSeconds(30)).forEach(i -> parts.add(new TopicPartition(t, i.partition())));
        }
        follower.assign(parts);
        follower.seekToBeginning(parts);
        Map<TopicPartition, Long> end = follower.endOffsets(parts, Duration.ofSeconds(30));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (parts.stream().anyMatch(tp -> follower.position(tp) < end.get(tp))) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("cannot read the batch topics to their end");
            apply(follower.poll(Duration.ofMillis(100)));
        }
        for (TopicPartition tp : parts) positions.put(tp, follower.position(tp));
        running = true;
        thread = Thread.ofPlatform().name("batch-store").start(this::follow);
        timer.scheduleWithFixedDelay(this::advance, 200, 500, TimeUnit.MILLISECONDS);
        log.accept("batch API: " + batches.size() + " batch(es) and " + files.size() + " file(s) in " + config.batchesTopic()
                + " / " + config.filesTopic());
    }

    /** An admin client with the configured Kafka settings. */
    private org.apache.kafka.clients.admin.Admin admin() {
        return org.apache.kafka.clients.admin.Admin.create(KafkaProps.admin(config));
    }

    /** Waits (up to 30 s) until the follower's position in {@code tp} is at least {@code offset}. */
    private void awaitFollower(TopicPartition tp, long offset, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (positions.getOrDefault(tp, -1L) < offset) {
            if (System.nanoTime() > deadline) throw new IllegalStateException(what);
            Thread.sleep(5);
        }
    }

    private void follow() {
        try {
            while (running) {
                apply(follower.poll(Duration.ofMillis(100)));
                for (TopicPartition tp : follower.assignment()) positions.put(tp, follower.position(tp));
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            log.accept("batch API: following the batch topics failed: " + e);
        } finally {
            follower.close();
        }
    }

    private void apply(Iterable<ConsumerRecord<byte[], byte[]>> records) {
        for (ConsumerRecord<byte[], byte[]> r : records) {
            String key = r.key() == null ? "" : new String(r.key(), StandardCharsets.UTF_8);
            if (r.topic().equals(config.batchesTopic())) {
                if (r.value() == null) batches.remove(key);
                else batches.put(key, Json.parseObject(new String(r.value(), StandardCharsets.UTF_8)));
            } else if (r.topic().equals(config.filesTopic())) {
                if (key.contains("/")) {
                    if (r.value() == null) chunks.remove(key);
                    else chunks.put(key, r.value());
                } else if (r.value() == null) {
                    files.remove(key);
                } else {
                    files.put(key, Json.parseObject(new String(r.value(), StandardCharsets.UTF_8)));
                }
            } else {
                Header h = r.headers().lastHeader(BatchRunner.BATCH_HEADER);
                if (h == null) continue;
                String batch = new String(h.value(), StandardCharsets.UTF_8);
                boolean ok;
                try {
                    ok = ResultLine.succeeded(Json.parseObject(new String(r.value(), StandardCharsets.UTF_8)));
                } catch (JsonException e) {
                    ok = false;
                }
                boolean success = ok;
                counts.merge(batch, new Counts(success ? 1 : 0, success ? 0 : 1),
                        (a, b) -> new Counts(a.completed() + b.completed(), a.failed() + b.failed()));
            }
        }
    }

    /** Sends and waits until the follower has read the record back, so the next read sees it. */
    private void write(String topic, String key, byte[] value) {
        try {
            RecordMetadata m = producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value)).get(30, TimeUnit.SECONDS);
            awaitFollower(new TopicPartition(topic, m.partition()), m.offset() + 1, "the write to " + topic + " was not read back");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("cannot write to Kafka topic " + topic + ": " + e.getMessage(), e);
        }
    }

    private void putBatch(Map<String, Object> b) {
        write(config.batchesTopic(), (String) b.get("id"), Json.write(b).getBytes(StandardCharsets.UTF_8));
    }

    // ---- files ----

    @Override
    public Map<String, Object> uploadFile(String filename, String purpose, byte[] content) {
        if (!purpose.equals("batch")) {
            throw new BatchApiException(400, "invalid_value", "purpose", "purpose: only \"batch\" is supported, got \"" + purpose + "\"");
        }
        String id = "file-" + hex(12);
        int n = 0;
        for (int off = 0; off < content.length || n == 0; off += CHUNK, n++) {
            byte[] part = java.util.Arrays.copyOfRange(content, off, Math.min(content.length, off + CHUNK));
            write(config.filesTopic(), id + "/" + n, part);
        }
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("id", id);
        f.put("object", "file");
        f.put("bytes", content.length);
        f.put("created_at", clockSeconds.getAsLong());
        f.put("filename", filename == null || filename.isBlank() ? "input.jsonl" : filename);
        f.put("purpose", purpose);
        f.put("status", "processed");
        f.put("chunks", n);
        write(config.filesTopic(), id, Json.write(f).getBytes(StandardCharsets.UTF_8));
        return shown(f);
    }

    @Override
    public List<Map<String, Object>> listFiles() {
        List<Map<String, Object>> out = new ArrayList<>();
        files.values().stream().sorted(Comparator.comparing((Map<String, Object> f) -> ((Number) f.get("created_at")).longValue())
                .reversed()).forEach(f -> out.add(shown(f)));
        for (Map<String, Object> b : batches.values()) {
            for (String k : List.of("output_file_id", "error_file_id")) {
                if (b.get(k) instanceof String id) out.add(outputFile(id, b));
            }
        }
        return out;
    }

    @Override
    public Map<String, Object> file(String id) {
        Map<String, Object> f = files.get(id);
        if (f != null) return shown(f);
        Map<String, Object> b = batchOfOutput(id);
        return outputFile(id, b);
    }

    @Override
    public byte[] fileContent(String id) {
        Map<String, Object> f = files.get(id);
        if (f != null) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            int n = ((Number) f.get("chunks")).intValue();
            for (int i = 0; i < n; i++) {
                byte[] c = chunks.get(id + "/" + i);
                if (c == null) throw new IllegalStateException("file " + id + ": chunk " + i + " is missing from " + config.filesTopic());
                out.writeBytes(c);
            }
            return out.toByteArray();
        }
        Map<String, Object> b = batchOfOutput(id);
        return output((String) b.get("id"), id.startsWith("file-out-")).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public Map<String, Object> deleteFile(String id) {
        Map<String, Object> f = files.get(id);
        if (f == null) {
            batchOfOutput(id);
            throw new BatchApiException(400, "invalid_value", "file_id", "file " + id + " is a batch's output: it is read "
                    + "from the results topic and goes with its retention");
        }
        write(config.filesTopic(), id, null);
        int n = ((Number) f.get("chunks")).intValue();
        for (int i = 0; i < n; i++) write(config.filesTopic(), id + "/" + i, null);
        return Map.of("id", id, "object", "file", "deleted", true);
    }

    private Map<String, Object> batchOfOutput(String id) {
        String batchId = id.startsWith("file-out-") ? id.substring(9) : id.startsWith("file-err-") ? id.substring(9) : null;
        Map<String, Object> b = batchId == null ? null : batches.get(batchId);
        if (b == null || !id.equals(b.get("output_file_id")) && !id.equals(b.get("error_file_id"))) {
            throw new BatchApiException(404, "not_found", "file_id", "no file with id " + id);
        }
        return b;
    }

    private Map<String, Object> outputFile(String id, Map<String, Object> b) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("id", id);
        f.put("object", "file");
        f.put("bytes", output((String) b.get("id"), id.startsWith("file-out-")).getBytes(StandardCharsets.UTF_8).length);
        f.put("created_at", b.get("completed_at") != null ? b.get("completed_at") : b.get("created_at"));
        f.put("filename", (id.startsWith("file-out-") ? "batch_output_" : "batch_errors_") + b.get("id") + ".jsonl");
        f.put("purpose", "batch_output");
        f.put("status", "processed");
        return f;
    }

    private static Map<String, Object> shown(Map<String, Object> f) {
        Map<String, Object> m = new LinkedHashMap<>(f);
        m.remove("chunks");
        return m;
    }

    /** A batch's output (200 answers) or error lines, read from the results topic. */
    String output(String batchId, boolean succeeded) {
        return BatchTopics.results(config, batchId, succeeded);
    }

    // ---- batches ----

    @Override
    public Map<String, Object> createBatch(String inputFileId, String endpoint, String completionWindow,
                                           Map<String, String> metadata) {
        if (!endpoint.equals(BatchCalls.CHAT) && !endpoint.equals(BatchCalls.COMPLETIONS)) {
            throw new BatchApiException(400, "invalid_value", "endpoint", "endpoint: " + endpoint + " is not supported (use "
                    + BatchCalls.CHAT + " or " + BatchCalls.COMPLETIONS + ")");
        }
        long window = windowSeconds(completionWindow);
        Map<String, Object> f = files.get(inputFileId);
        if (f == null) throw new BatchApiException(404, "not_found", "input_file_id", "no file with id " + inputFileId);
        if (!"batch".equals(f.get("purpose"))) {
            throw new BatchApiException(400, "invalid_value", "input_file_id", "file " + inputFileId + " has purpose "
                    + f.get("purpose") + ", not batch");
        }
        long now = clockSeconds.getAsLong();
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("id", "batch_" + hex(12));
        b.put("object", "batch");
        b.put("endpoint", endpoint);
        b.put("errors", null);
        b.put("input_file_id", inputFileId);
        b.put("completion_window", completionWindow);
        b.put("status", "validating");
        b.put("output_file_id", null);
        b.put("error_file_id", null);
        b.put("created_at", now);
        b.put("in_progress_at", null);
        b.put("expires_at", now + window);
        b.put("finalizing_at", null);
        b.put("completed_at", null);
        b.put("failed_at", null);
        b.put("expired_at", null);
        b.put("cancelling_at", null);
        b.put("cancelled_at", null);
        b.put("request_counts", requestCounts(0, 0, 0));
        b.put("metadata", metadata.isEmpty() ? null : new LinkedHashMap<>(metadata));
        putBatch(b);
        String id = (String) b.get("id");
        creating.add(id);
        try {
            return view(validateAndQueue(b));
        } finally {
            creating.remove(id);
        }
    }

    /**
     * Reads the batch's input file: a file with a bad line fails the batch (errors per line, as OpenAI's validation
     * does); otherwise its lines go to the requests topic and the batch becomes in_progress, both in one Kafka
     * transaction whose id is the batch's own ({@link #creationTransactionalId}). A coordinator that dies in between
     * leaves no line behind, and whoever finds the batch still validating later does the same again
     * ({@link #recoverStuck}); starting that transaction fences a creator that is still alive, so the lines are
     * queued exactly once.
     */
    private Map<String, Object> validateAndQueue(Map<String, Object> b) {
        String text = new String(fileContent((String) b.get("input_file_id")), StandardCharsets.UTF_8);
        BatchInput input = BatchInput.check(text, (String) b.get("endpoint"));
        if (!input.valid()) {
            b = new LinkedHashMap<>(b);
            b.put("status", "failed");
            b.put("failed_at", clockSeconds.getAsLong());
            b.put("errors", Map.of("object", "list", "data", input.errors()));
            putBatch(b);
            return b;
        }
        return queue(b, input.lines());
    }

    /** The lines and the in_progress state in one transaction (see {@link #validateAndQueue}). */
    private Map<String, Object> queue(Map<String, Object> validating, List<String[]> lines) {
        String id = (String) validating.get("id");
        Properties pp = KafkaProps.producer(config);
        pp.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, creationTransactionalId(config, id));
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<byte[], byte[]> tx = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
            tx.initTransactions();                  // aborts what an earlier creator of this batch left open
            readToEnd(config.batchesTopic());
            Map<String, Object> now = batches.get(id);
            if (now != null && !"validating".equals(now.get("status"))) {
                return now;                         // another coordinator queued it meanwhile
            }
            tx.beginTransaction();
            for (String[] l : lines) {
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(config.requestsTopic(),
                        l[0].getBytes(StandardCharsets.UTF_8), l[1].getBytes(StandardCharsets.UTF_8));
                r.headers().add(BatchRunner.BATCH_HEADER, id.getBytes(StandardCharsets.UTF_8));
                tx.send(r);
            }
            Map<String, Object> b = new LinkedHashMap<>(validating);
            b.put("status", "in_progress");
            b.put("in_progress_at", clockSeconds.getAsLong());
            b.put("request_counts", requestCounts(lines.size(), 0, 0));
            tx.send(new ProducerRecord<>(config.batchesTopic(), id.getBytes(StandardCharsets.UTF_8),
                    Json.write(b).getBytes(StandardCharsets.UTF_8)));
            tx.commitTransaction();
            readToEnd(config.batchesTopic());
            return batches.getOrDefault(id, b);
        } catch (org.apache.kafka.common.errors.ProducerFencedException
                 | org.apache.kafka.common.errors.InvalidProducerEpochException e) {
            log.accept("batch API: " + id + " is being queued by another coordinator");
            return batches.getOrDefault(id, validating);
        }
    }

    /** The transactional id that queues a batch's lines: one per batch, so any coordinator fences any other. */
    public static String creationTransactionalId(BatchConfig config, String batchId) {
        return config.group() + "-create-" + batchId;
    }

    /** Waits until the follower has read the topic up to its last committed offset. */
    private void readToEnd(String topic) {
        try (org.apache.kafka.clients.admin.Admin admin = admin()) {
            Map<TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> ask = new LinkedHashMap<>();
            for (TopicPartition tp : positions.keySet()) {
                if (tp.topic().equals(topic)) ask.put(tp, org.apache.kafka.clients.admin.OffsetSpec.latest());
            }
            var ends = admin.listOffsets(ask, new org.apache.kafka.clients.admin.ListOffsetsOptions(
                    org.apache.kafka.common.IsolationLevel.READ_COMMITTED)).all().get(30, TimeUnit.SECONDS);
            for (var e : ends.entrySet()) {
                awaitFollower(e.getKey(), e.getValue().offset(), topic + " was not read to its end");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("cannot read the end offsets of " + topic + ": " + e.getMessage(), e);
        }
    }

    /**
     * A batch still validating {@link #STUCK_AFTER_SECONDS} after its creation lost its coordinator between writing
     * it and queueing its lines: validate and queue it here (exactly once, see {@link #validateAndQueue}).
     */
    private void recoverStuck(long now) {
        for (Map<String, Object> stored : List.copyOf(batches.values())) {
            String id = (String) stored.get("id");
            if (!"validating".equals(stored.get("status")) || creating.contains(id)) continue;
            if (now - ((Number) stored.get("created_at")).longValue() < STUCK_AFTER_SECONDS) continue;
            log.accept("batch API: " + id + " was left validating by a coordinator that stopped; validating it here");
            Map<String, Object> b = validateAndQueue(stored);
            log.accept("batch API: " + id + " is " + b.get("status"));
        }
    }

    private static long windowSeconds(String w) {
        Matcher m = WINDOW.matcher(w == null ? "" : w);
        if (!m.matches()) {
            throw new BatchApiException(400, "invalid_value", "completion_window", "completion_window: \"" + w
                    + "\" is not a duration like 24h (also: 30m, 90s)");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "h" -> n * 3600;
            case "m" -> n * 60;
            default -> n;
        };
    }

    @Override
    public Map<String, Object> batch(String id) {
        Map<String, Object> b = batches.get(id);
        if (b == null) throw new BatchApiException(404, "not_found", "batch_id", "no batch with id " + id);
        return view(b);
    }

    @Override
    public List<Map<String, Object>> listBatches(String after, int limit) {
        List<Map<String, Object>> all = new ArrayList<>(batches.values());
        all.sort(Comparator.comparing((Map<String, Object> b) -> ((Number) b.get("created_at")).longValue())
                .thenComparing(b -> (String) b.get("id")).reversed());
        int from = 0;
        if (after != null) {
            from = -1;
            for (int i = 0; i < all.size(); i++) if (all.get(i).get("id").equals(after)) from = i + 1;
            if (from < 0) throw new BatchApiException(404, "not_found", "after", "no batch with id " + after);
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = from; i < all.size() && out.size() < limit; i++) out.add(view(all.get(i)));
        return out;
    }

    @Override
    public Map<String, Object> cancel(String id) {
        Map<String, Object> b = new LinkedHashMap<>(batch(id));
        String s = (String) b.get("status");
        if (!s.equals("validating") && !s.equals("in_progress")) {
            throw new BatchApiException(409, "invalid_state", "batch_id", "batch " + id + " is " + s + ": only a validating or "
                    + "in-progress batch can be cancelled");
        }
        b.put("status", "cancelling");
        b.put("cancelling_at", clockSeconds.getAsLong());
        putBatch(b);
        return view(b);
    }

    /** The stored object with live request counts from the results topic. */
    private Map<String, Object> view(Map<String, Object> stored) {
        Map<String, Object> b = new LinkedHashMap<>(stored);
        String s = (String) b.get("status");
        if (s.equals("in_progress") || s.equals("cancelling") || s.equals("finalizing")) {
            Counts c = counts.getOrDefault((String) b.get("id"), new Counts(0, 0));
            b.put("request_counts", requestCounts(total(stored), c.completed(), c.failed()));
        }
        return b;
    }

    @SuppressWarnings("unchecked")
    private static long total(Map<String, Object> b) {
        return ((Number) ((Map<String, Object>) b.get("request_counts")).get("total")).longValue();
    }

    private static Map<String, Object> requestCounts(long total, long completed, long failed) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("total", total);
        m.put("completed", completed);
        m.put("failed", failed);
        return m;
    }

    /** The timer: every batch whose requests are all answered is finalized; ended batches are announced. */
    private void advance() {
        try {
            long now = clockSeconds.getAsLong();
            recoverStuck(now);
            for (Map<String, Object> stored : List.copyOf(batches.values())) {
                String id = (String) stored.get("id");
                String s = (String) stored.get("status");
                boolean expired = now >= ((Number) stored.get("expires_at")).longValue();
                if ((s.equals("cancelling") || s.equals("in_progress") && expired) && ended.add(id)) version.incrementAndGet();
                if (!s.equals("in_progress") && !s.equals("cancelling")) continue;
                Counts c = counts.getOrDefault(id, new Counts(0, 0));
                long total = total(stored);
                if (c.completed() + c.failed() < total) continue;
                Map<String, Object> b = new LinkedHashMap<>(stored);
                b.put("finalizing_at", now);
                b.put("request_counts", requestCounts(total, c.completed(), c.failed()));
                b.put("output_file_id", c.completed() > 0 ? "file-out-" + id : null);
                b.put("error_file_id", c.failed() > 0 ? "file-err-" + id : null);
                String end = s.equals("cancelling") ? "cancelled" : expired ? "expired" : "completed";
                b.put("status", end);
                b.put(end + "_at", now);
                putBatch(b);
                log.accept("batch API: " + id + " " + end + " (" + c.completed() + " completed, " + c.failed() + " failed)");
            }
        } catch (RuntimeException e) {
            log.accept("batch API: advancing batches failed (retrying): " + e.getMessage());
        }
    }

    // ---- BatchStates, for the batch loop ----

    @Override
    public String ended(String batchId) {
        Map<String, Object> b = batches.get(batchId);
        if (b == null) return null;
        String s = (String) b.get("status");
        if (s.equals("cancelling") || s.equals("cancelled")) return ResultLine.CANCELLED;
        if (s.equals("expired") || s.equals("in_progress") && clockSeconds.getAsLong() >= ((Number) b.get("expires_at")).longValue()) {
            return ResultLine.EXPIRED;
        }
        return null;
    }

    @Override
    public long version() {
        return version.get();
    }

    @Override
    public void close() {
        running = false;
        timer.shutdownNow();
        if (follower != null) follower.wakeup();
        if (thread != null) {
            try {
                thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (producer != null) producer.close(Duration.ofSeconds(5));
    }

    private static String hex(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
