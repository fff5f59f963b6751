package dev.shardline.coordinator.schedule;

import dev.shardline.coordinator.plan.PipelinePlan;
import dev.shardline.coordinator.plan.StagePlan;
import dev.shardline.model.engine.FinishReason;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.weights.LayerRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SchedulerTest {

    /** Records the listener's events as strings. */
    static final class Events implements SchedulerListener {
        final List<String> log = new ArrayList<>();

        @Override
        public void onToken(long id, int token, float logprob, int index) {
            log.add("token " + id + " #" + index + "=" + token);
        }

        @Override
        public void onFinished(long id, FinishReason reason, int generated) {
            log.add("finished " + id + " " + reason + " after " + generated);
        }

        @Override
        public void onPreempted(long id) {
            log.add("preempted " + id);
        }
    }

    static int[] prompt(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = 10 + i;
        return p;
    }

    static List<SampledTokenResult> tokens(MicroBatch mb, int token) {
        return mb.logitEntries().stream().map(e -> new SampledTokenResult(e.sequenceId(), token, 0f)).toList();
    }

    @Test
    void rejectsBadRequestsNamingTheField() {
        Scheduler s = new Scheduler(new SchedulerConfig(2, 16, 4, 8, 4, 40));   // KV holds 32 tokens
        assertEquals("prompt", assertThrows(InvalidRequestException.class, () -> s.submit(Request.ofLength(new int[0], 4))).field());
        assertEquals("max_tokens", assertThrows(InvalidRequestException.class, () -> s.submit(Request.ofLength(prompt(3), 0))).field());
        InvalidRequestException kv = assertThrows(InvalidRequestException.class, () -> s.submit(Request.ofLength(prompt(30), 5)));
        assertEquals("max_tokens", kv.field());
        assertTrue(kv.getMessage().contains("KV cache capacity of 32 tokens"), kv.getMessage());
        assertEquals("prompt", assertThrows(InvalidRequestException.class, () -> s.submit(Request.ofLength(prompt(33), 1))).field());
        Scheduler wide = new Scheduler(new SchedulerConfig(2, 16, 4, 100, 4, 40));
        InvalidRequestException ctx = assertThrows(InvalidRequestException.class, () -> wide.submit(Request.ofLength(prompt(30), 11)));
        assertTrue(ctx.getMessage().contains("context of 40 tokens"), ctx.getMessage());
        assertEquals("prompt", assertThrows(InvalidRequestException.class, () -> wide.submit(Request.ofLength(prompt(40), 1))).field());
        // "no limit" runs to the end of the context
        long id = wide.submit(Request.of(prompt(30), SamplingParams.greedy(), List.of(2), 0));
        assertEquals(0, wide.state(id).orElseThrow().generated().length);
        assertFalse(wide.hasWork() && wide.runningCount() > 0);
    }

    @Test
    void chunkedPrefillThenDecodeThenLength() {
        Events ev = new Events();
        Scheduler s = new Scheduler(new SchedulerConfig(2, 3, 4, 8, 2, 64), ev, StopPolicy.NONE);
        long id = s.submit(Request.ofLength(prompt(5), 2));
        MicroBatch a = s.nextMicroBatch().orElseThrow();
        BatchEntry e = a.entries().getFirst();
        assertArrayEquals(new int[]{10, 11, 12}, e.tokens());
        assertEquals(0, e.firstPosition());
        assertFalse(e.wantLogits());
        assertTrue(e.includeSamplingParams());
        assertEquals(2, e.blockTable().length);
        assertTrue(s.nextMicroBatch().isEmpty(), "the sequence is in flight: nothing else to send");
        s.onResult(a.stepId(), List.of());
        MicroBatch b = s.nextMicroBatch().orElseThrow();
        e = b.entries().getFirst();
        assertArrayEquals(new int[]{13, 14}, e.tokens());
        assertEquals(3, e.firstPosition());
        assertTrue(e.wantLogits());
        assertFalse(e.includeSamplingParams());
        assertEquals(3, e.blockTable().length);
        s.onResult(b.stepId(), List.of(new SampledTokenResult(id, 77, -0.5f)));
        MicroBatch c = s.nextMicroBatch().orElseThrow();
        e = c.entries().getFirst();
        assertArrayEquals(new int[]{77}, e.tokens());
        assertEquals(5, e.firstPosition());
        assertEquals(1, e.generatedCount());
        s.onResult(c.stepId(), List.of(new SampledTokenResult(id, 78, -0.1f)));
        assertEquals(List.of("token 1 #0=77", "token 1 #1=78", "finished 1 LENGTH after 2"), ev.log);
        assertEquals(0, s.usedBlocks());
        MicroBatch forget = s.nextMicroBatch().orElseThrow();
        assertEquals(List.of(id), forget.finishedSequenceIds());
        assertTrue(forget.entries().isEmpty());
        s.onResult(forget.stepId(), List.of());
        assertTrue(s.nextMicroBatch().isEmpty());
        assertThrows(IllegalStateException.class, () -> s.onResult(forget.stepId(), List.of()));
    }

    @Test
    void stopIdsEosIgnoreEosAndStopPolicy() {
        Events ev = new Events();
        Scheduler s = new Scheduler(new SchedulerConfig(4, 64, 8, 64, 4, 64), ev, (id, token) -> token == 55);
        long stop = s.submit(new Request(prompt(2), 10, 0, Set.of(9), Set.of(2), false));
        long eos = s.submit(new Request(prompt(2), 10, 0, Set.of(), Set.of(2), false));
        long ignore = s.submit(new Request(prompt(2), 10, 0, Set.of(), Set.of(2), true));
        long policy = s.submit(Request.ofLength(prompt(2), 10));
        MicroBatch mb = s.nextMicroBatch().orElseThrow();
        s.onResult(mb.stepId(), List.of(new SampledTokenResult(stop, 9, 0), new SampledTokenResult(eos, 2, 0),
                new SampledTokenResult(ignore, 2, 0), new SampledTokenResult(policy, 55, 0)));
        assertTrue(ev.log.contains("finished " + stop + " STOP after 1"));
        assertTrue(ev.log.contains("finished " + eos + " STOP after 1"));
        assertTrue(ev.log.contains("finished " + policy + " STOP after 1"));
        assertEquals(List.of(ignore), s.liveSequenceIds());
        assertEquals(List.of(stop, eos, policy), s.nextMicroBatch().orElseThrow().finishedSequenceIds());
    }

    @Test
    void higherPriorityFirstThenFirstComeFirstServed() {
        Scheduler s = new Scheduler(new SchedulerConfig(4, 4, 8, 64, 4, 64));
        long low = s.submit(Request.ofLength(prompt(2), 3));
        long high1 = s.submit(Request.ofLength(prompt(2), 3).withPriority(5));
        long high2 = s.submit(Request.ofLength(prompt(2), 3).withPriority(5));
        MicroBatch mb = s.nextMicroBatch().orElseThrow();
        assertEquals(List.of(high1, high2), mb.entries().stream().map(BatchEntry::sequenceId).toList());
        assertEquals(SequenceStatus.WAITING, s.state(low).orElseThrow().status());
        assertEquals(low, s.nextMicroBatch().orElseThrow().entries().getFirst().sequenceId());
    }

    @Test
    void neverMoreMicroBatchesInFlightThanStages() {
        Scheduler s = new Scheduler(new SchedulerConfig(3, 2, 8, 64, 4, 64));
        for (int i = 0; i < 6; i++) s.submit(Request.ofLength(prompt(2), 3));
        List<MicroBatch> sent = new ArrayList<>();
        for (int i = 0; i < 3; i++) sent.add(s.nextMicroBatch().orElseThrow());
        assertTrue(s.nextMicroBatch().isEmpty());
        assertEquals(3, s.inFlightCount());
        s.onResult(sent.getFirst().stepId(), tokens(sent.getFirst(), 1));
        MicroBatch next = s.nextMicroBatch().orElseThrow();
        assertEquals(sent.getFirst().entries().getFirst().sequenceId(), next.entries().getFirst().sequenceId(),
                "the returned sequence decodes first");
        assertEquals(1, next.entries().getFirst().rows());
    }

    @Test
    void cancelFreesAtOnceOrWhenTheResultArrives() {
        Events ev = new Events();
        Scheduler s = new Scheduler(new SchedulerConfig(2, 64, 8, 64, 4, 64), ev, StopPolicy.NONE);
        long flying = s.submit(Request.ofLength(prompt(5), 4));
        MicroBatch mb = s.nextMicroBatch().orElseThrow();
        long queued = s.submit(Request.ofLength(prompt(5), 4));
        assertTrue(s.cancel(queued));
        assertEquals(List.of("finished " + queued + " CANCELLED after 0"), ev.log);
        assertTrue(s.cancel(flying));
        assertEquals(2, s.usedBlocks(), "blocks of a sequence in flight stay until its result");
        s.onResult(mb.stepId(), tokens(mb, 7));
        assertEquals(0, s.usedBlocks());
        assertEquals("finished " + flying + " CANCELLED after 0", ev.log.getLast());
        assertFalse(s.cancel(flying));
        assertEquals(List.of(flying), s.nextMicroBatch().orElseThrow().finishedSequenceIds(),
                "only sequences the stages have seen are forgotten");
    }

    @Test
    void preemptsTheLowestRankedIdleSequenceAndRecomputesIt() {
        Events ev = new Events();
        // 4 blocks of 2 tokens: two prompts of 4 tokens fill them; the first decode needs a fifth block
        Scheduler s = new Scheduler(new SchedulerConfig(1, 16, 8, 4, 2, 64), ev, StopPolicy.NONE);
        long old = s.submit(Request.ofLength(new int[]{1, 2, 3, 4}, 3));
        long young = s.submit(Request.ofLength(new int[]{4, 5, 6, 7}, 3));
        MicroBatch a = s.nextMicroBatch().orElseThrow();
        assertEquals(2, a.entries().size());
        s.onResult(a.stepId(), List.of(new SampledTokenResult(old, 40, 0), new SampledTokenResult(young, 60, 0)));
        assertEquals(0, s.freeBlocks());
        MicroBatch b = s.nextMicroBatch().orElseThrow();          // old decodes at position 4: needs a third block
        assertEquals(List.of(old), b.entries().stream().map(BatchEntry::sequenceId).toList(),
                "the preempted sequence does not come back in the batch that evicted it");
        assertEquals(List.of(young), b.finishedSequenceIds(), "the last stage drops the preempted sampler state");
        assertTrue(ev.log.contains("preempted " + young));
        SequenceState y = s.state(young).orElseThrow();
        assertEquals(SequenceStatus.WAITING, y.status());
        assertEquals(0, y.blocks().length);
        assertArrayEquals(new int[]{60}, y.generated());
        s.onResult(b.stepId(), List.of(new SampledTokenResult(old, 41, 0)));
        List<Integer> recomputed = new ArrayList<>();
        boolean first = true;
        while (s.hasWork()) {
            MicroBatch mb = s.nextMicroBatch().orElseThrow();
            for (BatchEntry e : mb.entries()) {
                if (e.sequenceId() != young || recomputed.size() == 5) continue;
                assertEquals(first, e.includeSamplingParams());
                assertEquals(recomputed.size(), e.firstPosition());
                assertEquals(1, e.generatedCount());
                for (int t : e.tokens()) recomputed.add(t);
                assertEquals(recomputed.size() == 5, e.wantLogits());
                first = false;
            }
            s.onResult(mb.stepId(), tokens(mb, 42));
        }
        assertEquals(List.of(4, 5, 6, 7, 60), recomputed, "recompute prompt + generated");
        assertTrue(ev.log.contains("finished " + young + " LENGTH after 3"));
        assertEquals(1, s.preemptionCount());
        assertEquals(0, s.usedBlocks());
    }

    @Test
    void sizedFromAPlannedPipeline() {
        PipelinePlan p = new PipelinePlan(0, List.of(
                new StagePlan("a", new LayerRange(0, 2, true, false), 100, 5000, 2),
                new StagePlan("b", new LayerRange(2, 4, false, true), 100, 4100, 2.5)));
        SchedulerConfig cfg = SchedulerConfig.forPipeline(p, 16, 256, 32, 4096);
        assertEquals(2, cfg.stages());
        assertEquals(256, cfg.kvBlocks());
    }
}
