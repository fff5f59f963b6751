package dev.shardline.coordinator.batch;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The batch group's backlog (ADR 0010): the records not yet committed on the requests topic, from the group's
 * offsets, times the tokens per record seen so far (the producer's {@code shardline.tokens} header, else an
 * estimate from the body). Records are counted on the batch loop's thread; the offsets are read on a timer.
 */
final class BacklogGauge {
    private final String topic;
    private final String group;
    private final AtomicLong recordsSeen = new AtomicLong();
    private final AtomicLong tokensSeen = new AtomicLong();
    private volatile boolean allCounted = true;
    private final AtomicReference<Backlog> backlog = new AtomicReference<>(Backlog.NONE);

    BacklogGauge(String topic, String group) {
        this.topic = topic;
        this.group = group;
    }

    /** A request record seen: its tokens, from the producer's header or estimated. */
    void count(ConsumerRecord<byte[], byte[]> r) {
        Header h = r.headers().lastHeader(BatchRunner.TOKENS_HEADER);
        String t = h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
        long tokens;
        if (t != null) {
            try {
                tokens = Long.parseLong(t.strip());
            } catch (NumberFormatException e) {
                tokens = estimate(r.value());
                allCounted = false;
            }
        } else {
            tokens = estimate(r.value());
            allCounted = false;
        }
        recordsSeen.incrementAndGet();
        tokensSeen.addAndGet(tokens);
    }

    /** Without a producer's count: about 4 bytes of body per prompt token, plus max_tokens when set. */
    static long estimate(byte[] value) {
        String v = new String(value, StandardCharsets.UTF_8);
        long prompt = Math.max(1, v.length() / 4);
        int i = v.indexOf("\"max_tokens\"");
        if (i < 0) i = v.indexOf("\"max_completion_tokens\"");
        long max = 0;
        if (i >= 0) {
            int c = v.indexOf(':', i);
            int j = c + 1;
            while (j < v.length() && Character.isWhitespace(v.charAt(j))) j++;
            int k = j;
            while (k < v.length() && Character.isDigit(v.charAt(k))) k++;
            if (k > j && k - j < 10) max = Long.parseLong(v.substring(j, k));
        }
        return prompt + max;
    }

    /** Reads the topic's end offsets and the group's committed ones; keeps the last figure when that fails. */
    void refresh(Admin admin) {
        try {
            Set<TopicPartition> parts = new HashSet<>();
            var desc = admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS);
            desc.get(topic).partitions().forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
            for (TopicPartition tp : parts) {
                latest.put(tp, OffsetSpec.latest());
                earliest.put(tp, OffsetSpec.earliest());
            }
            var ends = admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
            var starts = admin.listOffsets(earliest).all().get(10, TimeUnit.SECONDS);
            var committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
            long lag = 0;
            for (TopicPartition tp : parts) {
                OffsetAndMetadata c = committed.get(tp);
                long from = c != null ? c.offset() : starts.get(tp).offset();
                lag += Math.max(0, ends.get(tp).offset() - from);
            }
            backlog.set(Backlog.estimate(lag, recordsSeen.get(), tokensSeen.get(), allCounted));
        } catch (Exception e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            // the topic may not exist yet; keep the last figure
        }
    }

    /** As of the last refresh. */
    Backlog current() {
        return backlog.get();
    }
}
