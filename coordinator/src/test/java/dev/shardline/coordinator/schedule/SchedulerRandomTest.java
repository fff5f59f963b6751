package dev.shardline.coordinator.schedule;

import dev.shardline.model.engine.FinishReason;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seeded random workloads (interactive and batch arrivals, prompt lengths, max tokens, priorities, stop ids, cancels, result orders)
 * against a fake executor that keeps a shadow KV cache: every slot records (sequence, position, token), and every
 * entry re-reads its whole history through its block table. Invariants are checked after every step.
 */
class SchedulerRandomTest {
    static final int VOCAB = 1000;

    static int pseudoToken(long seq, int position) {
        long h = seq * 0x9E3779B97F4A7C15L + position * 0xC2B2AE3D27D4EB4FL;
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        h ^= h >>> 32;
        return Math.floorMod(h, VOCAB);
    }

    @Test
    void randomWorkloadsKeepEveryInvariant() {
        long preemptions = 0;
        long cancels = 0;
        long stops = 0;
        for (int seed = 0; seed < 300; seed++) {
            Run run = new Run(new SplittableRandom(seed), seed);
            run.go();
            preemptions += run.sched.preemptionCount();
            cancels += run.reasons.values().stream().filter(r -> r == FinishReason.CANCELLED).count();
            stops += run.reasons.values().stream().filter(r -> r == FinishReason.STOP).count();
        }
        assertTrue(preemptions > 100 && cancels > 50 && stops > 50,
                "the workloads should exercise preemption, cancels and stops: " + preemptions + ", " + cancels + ", " + stops);
    }

    static final class Run implements SchedulerListener {
        final SplittableRandom r;
        final String tag;
        final SchedulerConfig cfg;
        final Scheduler sched;
        final boolean fifo;
        final Map<Long, List<Integer>> known = new HashMap<>();       // prompt + generated tokens
        final Map<Long, Integer> promptLength = new HashMap<>();
        final Map<Long, Integer> maxTokens = new HashMap<>();
        final Map<Long, Set<Integer>> stopIds = new HashMap<>();
        final Map<Long, Integer> fed = new HashMap<>();               // positions sent, per the entries seen
        final Map<Long, Boolean> expectParams = new HashMap<>();
        final Map<Long, FinishReason> reasons = new HashMap<>();
        final List<MicroBatch> flying = new ArrayList<>();
        final long[] slotSeq;
        final int[] slotPos;
        final int[] slotTok;
        int toSubmit;

        Run(SplittableRandom r, int seed) {
            this.r = r;
            int blockSize = 1 + r.nextInt(16);
            int blocks = Math.max(2, (24 + r.nextInt(400)) / blockSize);
            cfg = new SchedulerConfig(1 + r.nextInt(4), 1 + r.nextInt(48), 1 + r.nextInt(12), blocks, blockSize,
                    32 + r.nextInt(400));
            tag = "seed " + seed + " " + cfg;
            sched = new Scheduler(cfg, this, (id, token) -> token % 97 == 0 && r.nextInt(3) == 0);
            fifo = r.nextBoolean();
            slotSeq = new long[blocks * blockSize];
            slotPos = new int[blocks * blockSize];
            slotTok = new int[blocks * blockSize];
            toSubmit = 3 + r.nextInt(30);
        }

        void go() {
            int steps = 0;
            while (toSubmit > 0 || sched.hasWork() || !flying.isEmpty()) {
                assertTrue(++steps < 200_000, tag + ": no progress");
                int a = r.nextInt(10);
                if (a < 2 && toSubmit > 0) {
                    submit();
                } else if (a < 6) {
                    send();
                } else if (a < 9 || (a == 9 && r.nextInt(4) != 0)) {
                    complete();
                } else {
                    List<Long> ids = sched.liveSequenceIds();
                    if (!ids.isEmpty()) assertTrue(sched.cancel(ids.get(r.nextInt(ids.size()))));
                }
                check();
            }
            assertEquals(0, sched.usedBlocks(), tag);
            assertEquals(sched.totalBlocks(), sched.freeBlocks(), tag);
            for (long id : known.keySet()) {
                FinishReason why = reasons.get(id);
                assertNotNull(why, tag + ": sequence " + id + " never finished");
                List<Integer> out = known.get(id).subList(promptLength.get(id), known.get(id).size());
                for (int i = 0; i < out.size(); i++) {
                    assertEquals(pseudoToken(id, promptLength.get(id) + i), out.get(i), tag + ": token " + i + " of " + id);
                }
                if (why == FinishReason.LENGTH) assertEquals(maxTokens.get(id), out.size(), tag);
                if (why != FinishReason.CANCELLED) assertTrue(out.size() <= maxTokens.get(id), tag);
            }
        }

        void submit() {
            toSubmit--;
            int limit = (int) Math.min(cfg.maxContext(), cfg.kvCapacityTokens());
            int prompt = 1 + r.nextInt(Math.max(1, Math.min(limit - 1, 1 + r.nextInt(120))));
            int max = 1 + r.nextInt(Math.max(1, Math.min(limit - prompt, 40)));
            int[] tokens = new int[prompt];
            for (int i = 0; i < prompt; i++) tokens[i] = r.nextInt(VOCAB);
            Set<Integer> stops = r.nextInt(4) == 0 ? new HashSet<>(List.of(r.nextInt(VOCAB), r.nextInt(VOCAB))) : Set.of();
            long id = sched.submit(new Request(tokens, max, r.nextInt(3), stops, Set.of(), false)
                    .withPriorityClass(toSubmit % 3 == 0 ? PriorityClass.BATCH : PriorityClass.INTERACTIVE));
            List<Integer> k = new ArrayList<>();
            for (int t : tokens) k.add(t);
            known.put(id, k);
            promptLength.put(id, prompt);
            maxTokens.put(id, max);
            stopIds.put(id, stops);
            fed.put(id, 0);
            expectParams.put(id, true);
        }

        void send() {
            int before = sched.inFlightCount();
            Optional<MicroBatch> next = sched.nextMicroBatch();
            if (before >= cfg.stages()) {
                assertFalse(next.isPresent(), tag + ": more than " + cfg.stages() + " micro-batches in flight");
                return;
            }
            if (before == 0 && sched.hasWork()) {
                assertTrue(next.isPresent(), tag + ": live sequences but nothing to send with nothing in flight");
            }
            if (next.isEmpty()) return;
            MicroBatch mb = next.get();
            assertTrue(mb.totalRows() <= cfg.tokenBudget(), tag);
            Set<Long> flyingIds = new HashSet<>();
            for (MicroBatch f : flying) for (BatchEntry e : f.entries()) flyingIds.add(e.sequenceId());
            Set<Long> here = new HashSet<>();
            for (long gone : mb.finishedSequenceIds()) {
                assertFalse(flyingIds.contains(gone), tag + ": forgetting a sequence in flight");
            }
            for (BatchEntry e : mb.entries()) {
                long id = e.sequenceId();
                assertTrue(here.add(id), tag + ": sequence twice in one micro-batch");
                assertFalse(flyingIds.contains(id), tag + ": sequence " + id + " in two micro-batches in flight");
                List<Integer> k = known.get(id);
                assertEquals(fed.get(id), e.firstPosition(), tag + ": entries continue where the last one ended");
                for (int i = 0; i < e.rows(); i++) assertEquals(k.get(e.firstPosition() + i), e.tokens()[i], tag);
                assertEquals(e.firstPosition() + e.rows() == k.size(), e.wantLogits(), tag);
                assertEquals(expectParams.get(id), e.includeSamplingParams(), tag + ": sampling params on first entries only");
                assertEquals(k.size() - promptLength.get(id), e.generatedCount(), tag);
                assertTrue((long) e.blockTable().length * cfg.blockSize() >= e.firstPosition() + e.rows(), tag);
                fed.put(id, e.firstPosition() + e.rows());
                expectParams.put(id, false);
            }
            flying.add(mb);
        }

        void complete() {
            if (flying.isEmpty()) return;
            MicroBatch mb = flying.remove(fifo ? 0 : r.nextInt(flying.size()));
            int bs = cfg.blockSize();
            List<SampledTokenResult> results = new ArrayList<>();
            for (BatchEntry e : mb.entries()) {
                int[] table = e.blockTable();
                int[] toks = e.tokens();
                for (int i = 0; i < e.rows(); i++) {                       // write this entry's KV
                    int p = e.firstPosition() + i;
                    int slot = table[p / bs] * bs + p % bs;
                    slotSeq[slot] = e.sequenceId();
                    slotPos[slot] = p;
                    slotTok[slot] = toks[i];
                }
                List<Integer> k = known.get(e.sequenceId());
                for (int p = 0; p < e.firstPosition() + e.rows(); p++) {  // attention reads the whole history
                    int slot = table[p / bs] * bs + p % bs;
                    assertEquals(e.sequenceId(), slotSeq[slot], tag + ": KV slot of " + e.sequenceId() + " overwritten");
                    assertEquals(p, slotPos[slot], tag);
                    assertEquals(k.get(p), slotTok[slot], tag);
                }
                if (e.wantLogits()) {
                    results.add(new SampledTokenResult(e.sequenceId(), pseudoToken(e.sequenceId(), e.firstPosition() + e.rows()), -1f));
                }
            }
            sched.onResult(mb.stepId(), results);
        }

        void check() {
            assertEquals(flying.size(), sched.inFlightCount(), tag);
            assertTrue(sched.inFlightCount() <= cfg.stages(), tag);
            Set<Integer> owned = new HashSet<>();
            int sum = 0;
            for (long id : sched.liveSequenceIds()) {
                SequenceState s = sched.state(id).orElseThrow();
                for (int b : s.blocks()) {
                    assertTrue(owned.add(b), tag + ": block " + b + " owned twice");
                    assertTrue(b >= 0 && b < cfg.kvBlocks(), tag);
                }
                sum += s.blocks().length;
                if (s.status() == SequenceStatus.WAITING) assertEquals(0, s.blocks().length, tag);
            }
            assertEquals(sum, sched.usedBlocks(), tag + ": blocks leaked");
            assertEquals(cfg.kvBlocks(), sched.usedBlocks() + sched.freeBlocks(), tag);
            assertTrue(sched.runningCount() <= cfg.maxRunningSequences(), tag);
            assertEquals(sched.liveSequenceIds().size(), sched.runningCount() + sched.waitingCount(), tag);
            if (!sched.hasWork()) assertEquals(0, sched.usedBlocks(), tag);
        }

        @Override
        public void onToken(long sequenceId, int tokenId, float logprob, int index) {
            List<Integer> k = known.get(sequenceId);
            assertEquals(k.size() - promptLength.get(sequenceId), index, tag);
            k.add(tokenId);
        }

        @Override
        public void onFinished(long sequenceId, FinishReason reason, int generatedCount) {
            assertEquals(null, reasons.put(sequenceId, reason), tag + ": finished twice");
            assertEquals(known.get(sequenceId).size() - promptLength.get(sequenceId), generatedCount, tag);
            if (reason == FinishReason.STOP && stopIds.get(sequenceId).contains(known.get(sequenceId).getLast())) {
                return;
            }
            if (reason == FinishReason.STOP) assertEquals(0, known.get(sequenceId).getLast() % 97, tag + ": stop policy");
        }

        @Override
        public void onPreempted(long sequenceId) {
            fed.put(sequenceId, 0);
            expectParams.put(sequenceId, true);
        }
    }
}
