package dev.shardline.coordinator.schedule;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.opentest4j.AssertionFailedError;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Interactive first, also over running batch work: when the running slots or the KV blocks are all held by batch
 * sequences, an arriving interactive request is admitted at the next step and exactly one batch sequence (the
 * lowest-ranked idle one) is preempted; it recomputes prompt + generated tokens later and loses or repeats none.
 * Deterministic: steps are driven by hand, no threads, no clocks.
 */
class SchedulerBatchPreemptionTest {

    /** Slots full: 4 running batch sequences of 4. Blocks full: 4 blocks of 4 tokens, one per batch sequence. */
    static Scheduler full(String what, SchedulerTest.Events ev) {
        SchedulerConfig cfg = what.equals("slots") ? new SchedulerConfig(1, 32, 4, 64, 4, 64)
                : new SchedulerConfig(1, 32, 16, 4, 4, 64);
        return new Scheduler(cfg, ev, StopPolicy.NONE);
    }

    static Request batch(int first) {
        return Request.ofLength(new int[]{first, first + 1, first + 2}, 6).withPriorityClass(PriorityClass.BATCH);
    }

    /** Fills the scheduler with 4 batch sequences that have each generated one token; returns their ids. */
    static List<Long> fill(Scheduler s) {
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < 4; i++) ids.add(s.submit(batch(10 * (i + 1))));
        MicroBatch prefill = s.nextMicroBatch().orElseThrow();
        assertEquals(ids, prefill.entries().stream().map(BatchEntry::sequenceId).toList());
        s.onResult(prefill.stepId(), SchedulerTest.tokens(prefill, 7));
        return ids;
    }

    /** The property, with the scheduler's batch preemption on or off. */
    static void interactiveAdmittedAtTheNextStep(String what, boolean preemption) {
        SchedulerTest.Events ev = new SchedulerTest.Events();
        Scheduler s = full(what, ev);
        s.preemptBatchForInteractive(preemption);
        List<Long> batch = fill(s);
        long interactive = s.submit(Request.ofLength(new int[]{1, 2, 3}, 2));

        MicroBatch next = s.nextMicroBatch().orElseThrow();
        List<Long> entries = next.entries().stream().map(BatchEntry::sequenceId).toList();
        assertTrue(entries.contains(interactive), "the interactive request is admitted at the next step: " + entries);
        assertEquals(1, s.preemptionCount(), "exactly one batch sequence preempted");
        long victim = batch.getLast();
        assertEquals(List.of("preempted " + victim), ev.log.stream().filter(l -> l.startsWith("preempted")).toList(),
                "the batch sequence admitted last is the one preempted");
        assertEquals(List.of(victim), next.finishedSequenceIds(), "the stages free the victim's KV blocks");
        assertEquals(SequenceStatus.WAITING, s.state(victim).orElseThrow().status());
        assertEquals(0, s.state(victim).orElseThrow().blocks().length);
        assertEquals(List.of(victim), s.waitingSequenceIds(), "the victim waits at the head of the batch queue");

        // to the end: every sequence generates its tokens once, in order; the victim recomputes prompt + token
        Map<Long, List<Integer>> indices = new HashMap<>();
        List<Integer> victimPositions = new ArrayList<>();
        s.onResult(next.stepId(), SchedulerTest.tokens(next, 8));
        int token = 9;
        while (s.hasWork()) {
            MicroBatch mb = s.nextMicroBatch().orElseThrow();
            for (BatchEntry e : mb.entries()) {
                if (e.sequenceId() == victim && victimPositions.size() < 4) {
                    for (int i = 0; i < e.rows(); i++) victimPositions.add(e.firstPosition() + i);
                    assertEquals(victimPositions.size() == 4, e.wantLogits());
                }
            }
            s.onResult(mb.stepId(), SchedulerTest.tokens(mb, token++));
        }
        for (String l : ev.log) {
            if (!l.startsWith("token ")) continue;
            String[] p = l.split(" ");
            indices.computeIfAbsent(Long.parseLong(p[1]), k -> new ArrayList<>()).add(Integer.parseInt(p[2].substring(1, p[2].indexOf('='))));
        }
        assertEquals(List.of(0, 1, 2, 3, 4, 5), indices.get(victim), "no token lost or repeated");
        assertEquals(List.of(0, 1), indices.get(interactive));
        assertEquals(List.of(0, 1, 2, 3), victimPositions, "the victim re-prefills prompt + its generated token");
        assertEquals(0, s.usedBlocks());
    }

    @ParameterizedTest
    @ValueSource(strings = {"slots", "blocks"})
    void anInteractiveRequestPreemptsExactlyOneBatchSequence(String what) {
        interactiveAdmittedAtTheNextStep(what, true);
    }

    /** The check can fail: without batch preemption the interactive request waits for a slot. */
    @ParameterizedTest
    @ValueSource(strings = {"slots", "blocks"})
    void withoutPreemptionTheCheckFails(String what) {
        AssertionFailedError e = assertThrows(AssertionFailedError.class, () -> interactiveAdmittedAtTheNextStep(what, false));
        assertTrue(e.getMessage().startsWith("the interactive request is admitted at the next step"), e.getMessage());
    }

    /**
     * Two stages, long batch prompts chunked by the token budget: both slots hold batch sequences mid-prompt when an
     * interactive request with a long prompt arrives; it is admitted at the next step after its victim is out.
     */
    @Test
    void batchPromptsMidPrefillDoNotDeferTheInteractiveRequest() {
        SchedulerTest.Events ev = new SchedulerTest.Events();
        Scheduler s = new Scheduler(new SchedulerConfig(2, 128, 2, 256, 16, 2048), ev, StopPolicy.NONE);
        long a = s.submit(Request.ofLength(SchedulerTest.prompt(300), 4).withPriorityClass(PriorityClass.BATCH));
        long b = s.submit(Request.ofLength(SchedulerTest.prompt(300), 4).withPriorityClass(PriorityClass.BATCH));
        MicroBatch first = s.nextMicroBatch().orElseThrow();
        MicroBatch second = s.nextMicroBatch().orElseThrow();
        assertEquals(List.of(a), first.entries().stream().map(BatchEntry::sequenceId).toList(), "one chunk each");
        assertEquals(List.of(b), second.entries().stream().map(BatchEntry::sequenceId).toList());
        s.onResult(first.stepId(), List.of());
        s.onResult(second.stepId(), List.of());
        long interactive = s.submit(Request.ofLength(SchedulerTest.prompt(200), 2));

        MicroBatch next = s.nextMicroBatch().orElseThrow();
        assertTrue(next.entries().stream().anyMatch(e -> e.sequenceId() == interactive),
                "the interactive request is admitted at the next step: " + next.entries().stream().map(BatchEntry::sequenceId).toList());
        assertEquals(List.of("preempted " + b), ev.log);
    }

    @Test
    void batchWorkNeverPreemptsBatchWorkForASlot() {
        SchedulerTest.Events ev = new SchedulerTest.Events();
        Scheduler s = full("slots", ev);
        fill(s);
        long late = s.submit(batch(90).withPriority(5));
        MicroBatch next = s.nextMicroBatch().orElseThrow();
        assertTrue(next.entries().stream().noneMatch(e -> e.sequenceId() == late));
        assertEquals(0, s.preemptionCount());
    }
}
