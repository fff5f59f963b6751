package dev.shardline.coordinator.batch;

import dev.shardline.coordinator.config.BatchConfig;
import dev.shardline.coordinator.generation.GenerationException;
import dev.shardline.coordinator.generation.GenerationHandle;
import dev.shardline.coordinator.generation.GenerationRequest;
import dev.shardline.coordinator.generation.GenerationService;
import dev.shardline.coordinator.http.BatchCalls;
import dev.shardline.coordinator.schedule.PriorityClass;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The batch loop (ADR 0011), a thin adapter between Kafka and the {@link GenerationService}: poll request lines,
 * submit them at batch priority, hold their result lines in a {@link PrefixTracker}, and commit each closed prefix
 * in one short transaction with its offsets. One platform thread owns the consumer, the producer and the tracker;
 * generations complete on their own threads and hand their lines back through a queue.
 */
public final class BatchRunner implements AutoCloseable {
    public static final String BATCH_HEADER = "shardline.batch";
    public static final String TOKENS_HEADER = "shardline.tokens";
    public static final String ERROR_HEADER = "shardline.error";
    public static final String TOPIC_HEADER = "shardline.topic";
    public static final String PARTITION_HEADER = "shardline.partition";
    public static final String OFFSET_HEADER = "shardline.offset";
    /** Result lines over this are replaced by an error line (Kafka's default message limit, less the envelope). */
    static final int DEFAULT_MAX_RESULT_BYTES = 1_000_000;
    /** A record batch's header and one record's framing and batch-id header, with room to spare. */
    static final int RECORD_ENVELOPE_BYTES = 1024;

    /** What the loop has done, for metrics and logs. */
    public record Stats(long submitted, long results, long deadLetters, long transactions, long aborted, int open,
                        int held, long heldBytes, long queuedTokens, boolean paused, long pauses, long pausedMillis,
                        long rebalances, int partitions) {
    }

    private record Done(int partition, long offset, int epoch, List<ProducerRecord<byte[], byte[]>> records, long bytes) {
    }

    private record InFlight(String batchId, String customId, GenerationHandle handle, long tokens) {
    }

    private final BatchConfig config;
    private final GenerationService generation;
    private final BatchCalls calls;
    private final BatchStates states;
    private final Consumer<String> log;
    private volatile int maxResultBytes;            // the producer's limit, then also the results topic's
    private final PrefixTracker<List<ProducerRecord<byte[], byte[]>>> tracker = new PrefixTracker<>();
    private final java.util.ArrayDeque<ConsumerRecord<byte[], byte[]>> polled = new java.util.ArrayDeque<>();  // not yet taken
    private final ConcurrentLinkedQueue<Done> done = new ConcurrentLinkedQueue<>();
    private final Map<Long, InFlight> inFlight = new ConcurrentHashMap<>();     // key: partition << 40 | offset
    private final Map<Long, String> endedInFlight = new ConcurrentHashMap<>();  // cancelled because their batch ended
    private final Map<Integer, Integer> epochs = new ConcurrentHashMap<>();
    private final Map<Integer, Long> committed = new HashMap<>();
    private final Map<String, Integer> seenPerBatch = new HashMap<>();
    private final Map<String, Map<String, Long>> idsPerBatch = new HashMap<>();
    private final Map<Integer, Integer> scanning = new HashMap<>();            // partition -> epoch of its history read
    private final ConcurrentLinkedQueue<PartitionHistory.Seen> histories = new ConcurrentLinkedQueue<>();
    private final AtomicLong queuedTokens = new AtomicLong();
    private final AtomicLong submitted = new AtomicLong();
    private final AtomicLong results = new AtomicLong();
    private final AtomicLong deadLetters = new AtomicLong();
    private final AtomicLong transactions = new AtomicLong();
    private final AtomicLong aborted = new AtomicLong();
    private final AtomicLong pauses = new AtomicLong();
    private final AtomicLong pausedNanos = new AtomicLong();
    private volatile long pausedSince;
    private final AtomicLong rebalances = new AtomicLong();
    private final BacklogGauge backlog;
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r ->
            Thread.ofPlatform().name("batch-timers").daemon().unstarted(r));
    private final TestCrash crash;
    private volatile boolean running;
    private volatile int maxRequests;
    private volatile boolean paused;
    private volatile int assignedCount;
    private long statesVersion;
    private long lastCommit;
    private KafkaConsumer<byte[], byte[]> consumer;
    private KafkaProducer<byte[], byte[]> producer;
    private Admin admin;
    private Thread thread;

    public BatchRunner(BatchConfig config, GenerationService generation, BatchStates states, Consumer<String> log) {
        this.config = config;
        this.generation = generation;
        this.calls = new BatchCalls(generation.model());
        this.states = states;
        this.log = log;
        this.maxResultBytes = Integer.parseInt(config.client().getOrDefault("max.request.size",
                Integer.toString(DEFAULT_MAX_RESULT_BYTES + 48_576))) - 48_576;
        this.crash = TestCrash.parse(config.testCrash());
        this.maxRequests = config.maxRequests();
        this.backlog = new BacklogGauge(config.requestsTopic(), config.group());
    }

    /** Changes how many batch requests run at once at most (0 = no limit but the token bound); benchmarks use it. */
    public void maxRequests(int n) {
        if (n < 0) throw new IllegalArgumentException("maxRequests must be >= 0, got " + n);
        maxRequests = n;
    }

    /** Connects, fences any predecessor with the same instance id, and starts the loop. */
    public void start() {
        admin = Admin.create(KafkaProps.admin(config));
        int topicLimit = resultsTopicLimit();
        if (topicLimit > 0) maxResultBytes = Math.min(maxResultBytes, topicLimit - RECORD_ENVELOPE_BYTES);
        producer = new KafkaProducer<>(producerProps(topicLimit), new ByteArraySerializer(), new ByteArraySerializer());
        producer.initTransactions();               // fences the predecessor with this transactional.id at once
        consumer = new KafkaConsumer<>(consumerProps(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        running = true;
        thread = Thread.ofPlatform().name("batch-loop").start(this::loop);
        timers.scheduleWithFixedDelay(() -> backlog.refresh(admin), 0, 2, TimeUnit.SECONDS);
        log.accept("batch: consuming " + config.requestsTopic() + " in group " + config.group() + " as "
                + transactionalId() + " (results to " + config.resultsTopic() + ")");
    }

    private String transactionalId() {
        return "shardline-batch-" + config.instanceId();
    }

    /**
     * The results topic's {@code max.message.bytes} (the broker refuses larger record batches, which would abort
     * every transaction holding one), or -1 when it cannot be read (the producer's limit alone then applies).
     */
    private int resultsTopicLimit() {
        var topic = new org.apache.kafka.common.config.ConfigResource(org.apache.kafka.common.config.ConfigResource.Type.TOPIC,
                config.resultsTopic());
        try {
            var entry = admin.describeConfigs(List.of(topic)).all().get(30, TimeUnit.SECONDS).get(topic)
                    .get(org.apache.kafka.common.config.TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
            return entry == null || entry.value() == null ? -1 : Integer.parseInt(entry.value());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException | NumberFormatException e) {
            log.accept("batch: cannot read max.message.bytes of " + config.resultsTopic() + " (" + e
                    + "); result lines are limited by the producer's max.request.size only");
            return -1;
        }
    }

    private Properties producerProps(int topicLimit) {
        Properties p = KafkaProps.producer(config);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "5");
        if (topicLimit > 0) {                      // small results batched together must fit the topic's limit too
            p.putIfAbsent(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(Math.min(16_384,
                    Math.max(1, topicLimit - RECORD_ENVELOPE_BYTES))));
        }
        p.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, transactionalId() + "-producer");
        return p;
    }

    private Properties consumerProps() {
        Properties p = KafkaProps.consumer(config);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, config.group());
        // static membership: a restarted instance takes its partitions back at once, without waiting for the dead
        // one's session to time out (and fences it, should it still be alive)
        p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, transactionalId());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.putIfAbsent(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "100");
        p.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, transactionalId() + "-consumer");
        return p;
    }

    // ---- the loop (the batch-loop thread only) ----

    private void loop() {
        boolean clean = false;
        try {
            consumer.subscribe(List.of(config.requestsTopic()), new Rebalance());
            while (running) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(50))) {
                    polled.addLast(r);
                }
                mergeHistories();
                takeSome();
                drain();
                if (states.version() != statesVersion) endBatches();
                long now = System.nanoTime();
                if (now - lastCommit >= config.commitIntervalMs() * 1_000_000L) {
                    lastCommit = now;
                    commit();
                }
                pauseOrResume();
            }
            clean = true;
        } catch (WakeupException | InterruptException e) {
            clean = true;                       // closing
        } catch (ProducerFencedException | InvalidProducerEpochException e) {
            log.accept("batch: fenced: a newer coordinator with instance id " + config.instanceId()
                    + " took over; this one stops consuming (" + e.getMessage() + ")");
        } catch (RuntimeException e) {
            log.accept("batch: the loop failed, batch consumption stops: " + e);
        } finally {
            running = false;
            if (clean) {
                try {
                    drain();
                    commit();                   // what closed goes out before this member leaves
                } catch (RuntimeException e) {
                    log.accept("batch: the last commit failed (" + e + "); those requests run again elsewhere");
                }
            }
            epochs.replaceAll((p, e) -> e + 1);   // answers of the cancelled requests below are never committed
            for (InFlight f : inFlight.values()) f.handle().cancel();
            try {
                consumer.close(org.apache.kafka.clients.consumer.CloseOptions.groupMembershipOperation(
                        org.apache.kafka.clients.consumer.CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                        .withTimeout(Duration.ofSeconds(5)));
            } catch (RuntimeException ignored) {
                // closing anyway
            }
            try {
                producer.close(Duration.ofSeconds(5));
            } catch (RuntimeException ignored) {
                // closing anyway
            }
        }
    }

    /** Whether another request may start: under the request limit and the token bound (one request may exceed it). */
    private boolean room() {
        return (maxRequests == 0 || inFlight.size() < maxRequests) && queuedTokens.get() <= config.queueTokens();
    }

    /** Takes polled records in order while there is room; a partition whose history is being read waits. */
    private void takeSome() {
        for (var it = polled.iterator(); it.hasNext() && room(); ) {
            ConsumerRecord<byte[], byte[]> r = it.next();
            if (scanning.containsKey(r.partition())) continue;
            it.remove();
            take(r);
        }
    }

    /** One polled record: registered in order, then answered at once (dead letter, error line) or submitted. */
    private void take(ConsumerRecord<byte[], byte[]> r) {
        int p = r.partition();
        long off = r.offset();
        tracker.polled(p, off);
        int epoch = epochs.get(p);
        String batchId = header(r, BATCH_HEADER, "");
        String lineId = "batch_req_" + p + "_" + off;
        BatchLine line = BatchLine.read(r.value());
        switch (line) {
            case BatchLine.Unreadable u -> {
                RecordHeaders h = new RecordHeaders();
                for (Header x : r.headers()) h.add(x);
                h.add(ERROR_HEADER, bytes(u.reason()));
                h.add(TOPIC_HEADER, bytes(r.topic()));
                h.add(PARTITION_HEADER, bytes(Integer.toString(p)));
                h.add(OFFSET_HEADER, bytes(Long.toString(off)));
                finish(p, off, epoch, new ProducerRecord<>(config.deadLetterTopic(), null, r.key(), r.value(), h));
            }
            case BatchLine.Readable l -> {
                backlog.count(r);
                if (l.problem() != null) {
                    answer(p, off, epoch, batchId, l.customId(), lineId, BatchCalls.error(400, "invalid_request",
                            l.problem().substring(0, l.problem().indexOf(':')), l.problem()));
                    return;
                }
                String ended = states.ended(batchId);
                if (ended != null) {
                    endLine(p, off, epoch, batchId, l.customId(), lineId, ended);
                    return;
                }
                Map<String, Long> ids = idsPerBatch.computeIfAbsent(batchId, b -> new HashMap<>());
                Long first = ids.putIfAbsent(l.customId(), key(p, off));
                if (first != null && first != key(p, off)) {
                    answer(p, off, epoch, batchId, l.customId(), lineId, BatchCalls.error(400, "duplicate_custom_id",
                            "custom_id", "custom_id: \"" + l.customId() + "\" is used by another request of this batch"));
                    return;
                }
                int index = seenPerBatch.merge(batchId, 1, Integer::sum);
                submit(p, off, epoch, batchId, l, lineId, index);
            }
        }
    }

    /** Submits a line at batch priority; a cluster that is overloaded or has no pipeline makes it wait, not fail. */
    private void submit(int p, long off, int epoch, String batchId, BatchLine.Readable l, String lineId, int index) {
        BatchCalls.Call call;
        try {
            call = calls.read(l.url(), l.body(), "batch:" + batchId, "batch-" + p + "-" + off,
                    System.currentTimeMillis() / 1000);
        } catch (BatchCalls.Refused e) {
            answer(p, off, epoch, batchId, l.customId(), lineId, e.answer());
            return;
        }
        GenerationRequest r = call.request();
        // fair across batches: the n-th request of every batch ranks alike (interactive ranks above all of them)
        GenerationRequest batch = new GenerationRequest(r.model(), r.prompt(), r.sampling(), r.logprobs(),
                PriorityClass.BATCH, fairPriority(index), r.tenant(), r.endUser(), r.deadline(), r.requestId(),
                r.forcedTokenIds(), r.reasoningOpen());
        GenerationHandle h;
        try {
            h = generation.submit(batch, call.sink());
        } catch (GenerationException.Overloaded e) {
            timers.schedule(() -> resubmit(p, off, epoch, batchId, l, lineId, index), 500, TimeUnit.MILLISECONDS);
            return;
        } catch (RuntimeException e) {
            answer(p, off, epoch, batchId, l.customId(), lineId, call.refused(e));
            return;
        }
        submitted.incrementAndGet();
        Integer max = batch.sampling().maxTokens();
        long tokens = h.promptTokens() + (max == null ? 0 : max);
        queuedTokens.addAndGet(tokens);
        long k = key(p, off);
        inFlight.put(k, new InFlight(batchId, l.customId(), h, tokens));
        call.answer().whenComplete((a, x) -> {
            inFlight.remove(k);
            queuedTokens.addAndGet(-tokens);
            String ended = endedInFlight.remove(k);
            if (ended != null) {
                endLine(p, off, epoch, batchId, l.customId(), lineId, ended);
            } else if (a.status() == 503) {
                // no pipeline came in time: batch work waits for one instead of failing
                timers.schedule(() -> resubmit(p, off, epoch, batchId, l, lineId, index), 1, TimeUnit.SECONDS);
            } else {
                answer(p, off, epoch, batchId, l.customId(), lineId, a);
            }
        });
    }

    /**
     * The priority within the batch class of a batch's {@code index}-th request (1-based, as this consumer saw it):
     * the n-th requests of all batches rank alike, so batches take turns instead of queueing behind each other.
     */
    static int fairPriority(int index) {
        return -Math.min(index, 1_000_000_000);
    }

    private void resubmit(int p, long off, int epoch, String batchId, BatchLine.Readable l, String lineId, int index) {
        if (!running || !Integer.valueOf(epoch).equals(epochs.get(p))) return;     // revoked meanwhile
        submit(p, off, epoch, batchId, l, lineId, index);
    }

    private void answer(int p, long off, int epoch, String batchId, String customId, String lineId, BatchCalls.Answer a) {
        String line = ResultLine.answered(lineId, customId, "req_" + lineId.substring("batch_req_".length()), a);
        long keyAndBatch = bytes(customId).length + (long) bytes(batchId).length;
        if ((line.length() * 3L + keyAndBatch > maxResultBytes) && bytes(line).length + keyAndBatch > maxResultBytes) {
            line = ResultLine.answered(lineId, customId, "req_" + lineId.substring("batch_req_".length()), BatchCalls.error(400, "result_too_large", null,
                    "the result (" + bytes(line).length + " bytes) is larger than the results topic's message limit ("
                            + maxResultBytes + " bytes); lower max_tokens"));
        }
        result(p, off, epoch, batchId, customId, line);
    }

    private void endLine(int p, long off, int epoch, String batchId, String customId, String lineId, String code) {
        result(p, off, epoch, batchId, customId, ResultLine.ended(lineId, customId, code, code.equals(ResultLine.CANCELLED)
                ? "the batch was cancelled before this request finished"
                : "the batch's completion window passed before this request finished"));
    }

    private void result(int p, long off, int epoch, String batchId, String customId, String line) {
        RecordHeaders h = new RecordHeaders();
        h.add(BATCH_HEADER, bytes(batchId));
        finish(p, off, epoch, new ProducerRecord<>(config.resultsTopic(), null, bytes(customId), bytes(line), h));
    }

    private void finish(int p, long off, int epoch, ProducerRecord<byte[], byte[]> record) {
        long size = (record.value() == null ? 0 : record.value().length) + (record.key() == null ? 0 : record.key().length);
        done.add(new Done(p, off, epoch, List.of(record), size));
    }

    /** Completed lines into the tracker (a revoked partition's, or an older assignment's, are dropped). */
    private void drain() {
        Done d;
        while ((d = done.poll()) != null) {
            Integer e = epochs.get(d.partition());
            if (e == null || e != d.epoch()) continue;
            tracker.complete(d.partition(), d.offset(), d.records(), d.bytes());
        }
    }

    /** One short transaction: the closed prefixes' lines and their offsets, together. */
    private void commit() {
        List<PrefixTracker.Release<List<ProducerRecord<byte[], byte[]>>>> released = tracker.release();
        if (released.isEmpty()) return;
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        int lines = 0;
        producer.beginTransaction();
        try {
            for (var r : released) {
                for (List<ProducerRecord<byte[], byte[]>> rs : r.results()) {
                    for (ProducerRecord<byte[], byte[]> x : rs) {
                        producer.send(x);
                        lines++;
                        if (x.topic().equals(config.deadLetterTopic())) deadLetters.incrementAndGet();
                        else results.incrementAndGet();
                    }
                }
                offsets.put(new TopicPartition(config.requestsTopic(), r.partition()), new OffsetAndMetadata(r.nextOffset()));
            }
            producer.flush();
            if (crash.offsetsFirst()) consumer.commitSync(offsets);        // a test's broken variant only
            crash.at("before-commit", transactions.get() + 1);
            producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
            producer.commitTransaction();
        } catch (ProducerFencedException | InvalidProducerEpochException e) {
            throw e;
        } catch (KafkaException e) {
            log.accept("batch: a transaction of " + lines + " line(s) failed (" + e + "); aborting it and reading those "
                    + "partitions again from their committed offsets");
            producer.abortTransaction();
            aborted.incrementAndGet();
            results.addAndGet(-lines);
            for (var r : released) restart(r.partition());
            return;
        }
        transactions.incrementAndGet();
        for (var r : released) committed.put(r.partition(), r.nextOffset());
        crash.at("after-commit", transactions.get());
    }

    /**
     * The custom_ids earlier owners of partition p took below {@code until} are read on a thread of their own; the
     * partition's records wait (the other partitions' go on) until they are known, so a duplicate of one is refused.
     */
    private void readHistory(int p, int epoch, long from, long until) {
        scanning.put(p, epoch);
        Properties props = KafkaProps.all(config);
        Thread.ofVirtual().name("batch-history-" + p).start(() -> histories.add(
                PartitionHistory.read(props, config.requestsTopic(), p, epoch, from, until, () -> running)));
    }

    private void mergeHistories() {
        PartitionHistory.Seen h;
        while ((h = histories.poll()) != null) {
            Integer e = scanning.get(h.partition());
            if (e == null || e != h.epoch()) continue;                      // revoked meanwhile
            scanning.remove(h.partition());
            if (h.error() != null) {
                log.accept("batch: cannot read the earlier custom_ids of partition " + h.partition() + " (" + h.error()
                        + "); duplicates of ids its earlier owners took are not detected");
            }
            h.idsPerBatch().forEach((batch, ids) -> {
                Map<String, Long> known = idsPerBatch.computeIfAbsent(batch, b -> new HashMap<>());
                ids.forEach(known::putIfAbsent);
            });
        }
    }

    /** Forgets a partition's work and reads it again from its committed offset. */
    private void restart(int p) {
        polled.removeIf(r -> r.partition() == p);
        cancelPartition(p);
        tracker.revoke(p);
        tracker.assign(p);
        epochs.merge(p, 1, Integer::sum);
        consumer.seek(new TopicPartition(config.requestsTopic(), p), committed.getOrDefault(p, 0L));
    }

    private void cancelPartition(int p) {
        for (var e : inFlight.entrySet()) {
            if ((e.getKey() >>> 40) == p) e.getValue().handle().cancel();
        }
    }

    /** Cancels the in-flight requests of batches that ended; each is answered once with the batch's error. */
    private void endBatches() {
        statesVersion = states.version();
        for (var e : inFlight.entrySet()) {
            String ended = states.ended(e.getValue().batchId());
            if (ended != null && endedInFlight.putIfAbsent(e.getKey(), ended) == null) e.getValue().handle().cancel();
        }
    }

    private void pauseOrResume() {
        Set<TopicPartition> assigned = consumer.assignment();
        boolean over = queuedTokens.get() > config.queueTokens() || tracker.heldBytes() > config.heldBytes()
                || polled.size() > 1000;
        boolean under = queuedTokens.get() <= config.queueTokens() / 2 && tracker.heldBytes() <= config.heldBytes() / 2
                && polled.size() <= 100;
        if (!paused && over) {
            consumer.pause(assigned);
            pausedSince = System.nanoTime();
            paused = true;
            pauses.incrementAndGet();
        } else if (paused && under) {
            consumer.resume(assigned);
            pausedNanos.addAndGet(System.nanoTime() - pausedSince);
            paused = false;
        } else if (paused) {
            consumer.pause(assigned);      // partitions assigned while paused
        }
    }

    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (partitions.isEmpty()) return;
            rebalances.incrementAndGet();
            drain();
            commit();                       // what closed is committed while this member still owns it
            for (TopicPartition tp : partitions) drop(tp.partition());
            log.accept("batch: partitions " + names(partitions) + " revoked; their unfinished requests are cancelled "
                    + "and run again on their new owner");
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            rebalances.incrementAndGet();
            for (TopicPartition tp : partitions) drop(tp.partition());
            log.accept("batch: partitions " + names(partitions) + " lost");
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            Map<TopicPartition, Long> first = partitions.isEmpty() ? Map.of() : consumer.beginningOffsets(partitions);
            for (TopicPartition tp : partitions) {
                tracker.assign(tp.partition());
                int epoch = epochs.merge(tp.partition(), 1, Integer::sum);
                long start = consumer.position(tp);
                committed.put(tp.partition(), start);
                long from = first.getOrDefault(tp, start);
                if (start > from) readHistory(tp.partition(), epoch, from, start);
            }
            assignedCount = consumer.assignment().size();
            if (!partitions.isEmpty()) log.accept("batch: partitions " + names(partitions) + " assigned");
        }

        private void drop(int p) {
            scanning.remove(p);
            polled.removeIf(r -> r.partition() == p);
            cancelPartition(p);
            tracker.revoke(p);
            epochs.merge(p, 1, Integer::sum);
            committed.remove(p);
            assignedCount = Math.max(0, assignedCount - 1);
        }

        private String names(Collection<TopicPartition> ps) {
            List<Integer> l = new ArrayList<>();
            for (TopicPartition tp : ps) l.add(tp.partition());
            l.sort(null);
            return l.toString();
        }
    }

    // ---- views ----

    /** The whole group's backlog, as of the last refresh (every 2 s). */
    public Backlog backlog() {
        return backlog.current();
    }

    public Stats stats() {
        return new Stats(submitted.get(), results.get(), deadLetters.get(), transactions.get(), aborted.get(),
                tracker.open(), tracker.held(), tracker.heldBytes(), queuedTokens.get(), paused, pauses.get(),
                (pausedNanos.get() + (paused ? System.nanoTime() - pausedSince : 0)) / 1_000_000, rebalances.get(), assignedCount);
    }

    public boolean running() {
        return running;
    }

    @Override
    public void close() {
        running = false;
        timers.shutdownNow();
        if (consumer != null) consumer.wakeup();
        if (thread != null) {
            try {
                thread.join(15_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (admin != null) admin.close(Duration.ofSeconds(2));
    }

    static long key(int partition, long offset) {
        return ((long) partition << 40) | offset;
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name, String fallback) {
        Header h = r.headers().lastHeader(name);
        return h == null || h.value() == null ? fallback : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
