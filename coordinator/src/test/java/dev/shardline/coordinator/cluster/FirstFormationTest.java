package dev.shardline.coordinator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shardline.coordinator.desired.PipelineState;
import dev.shardline.coordinator.desired.PlanInputs;
import dev.shardline.coordinator.plan.CostModel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The first plan waits for the expected workers to be ready, not merely registered: a worker that registered and then
 * went silent past the timeout (a loaded host) is waited for, so the first pipeline spans every expected worker
 * instead of leaving one idle for its whole life.
 */
class FirstFormationTest {
    private final AtomicLong clock = new AtomicLong(1_000_000_000L);
    private final FakeWorkers fake = new FakeWorkers();
    private final ClusterReconciler cluster;
    private final long budget;

    FirstFormationTest() {
        var model = ReconcilerPropertyTest.MODEL;
        CostModel cm = CostModel.of(model, 2, ReconcilerPropertyTest.OPTIONS);
        budget = cm.memoryNeed(model.numHiddenLayers(), true, true) * 2;   // either worker could hold the model alone
        ClusterSettings settings = new ClusterSettings(new PlanInputs(model, 2, ReconcilerPropertyTest.OPTIONS),
                Path.of("/model"), "fp", model.vocabSize(), 4, 32, 8, 64, ActivationFormat.F32, 1 << 20,
                2, 60_000, 1, 3_600_000, 2_000, 1_000, 5_000, 500, 4096);
        WorkerRegistry registry = new WorkerRegistry("fp", 1000, clock::get);
        cluster = new ClusterReconciler(settings, registry, fake, clock::get, line -> { }, false);
        fake.cluster = cluster;
        cluster.start("coordinator:1");
    }

    @Test
    void aWorkerLostBeforeTheFirstPlanIsWaitedFor() {
        FakeWorkers.Worker a = fake.add("a", budget);
        a.alive = false;                                   // silent: its host is busy
        for (int i = 0; i < 15; i++) step();               // 1.5 s: a is lost
        assertTrue(cluster.status().workers().stream().anyMatch(w -> w.id().equals("a") && w.lost()), "a is lost");
        fake.add("b", budget);                             // two registered, one of them lost
        for (int i = 0; i < 3; i++) step();
        assertEquals(List.of(), cluster.status().pipelines(), "nothing forms while an expected worker is lost");

        a.alive = true;                                    // a is heard from again (and registers again)
        for (int i = 0; i < 3; i++) step();
        fake.load(new java.util.SplittableRandom(1), true);
        step();
        List<ClusterStatus.Pipeline> ps = cluster.status().pipelines();
        assertEquals(1, ps.size(), ps.toString());
        assertEquals(PipelineState.SERVING, ps.getFirst().state());
        assertEquals(2, ps.getFirst().stages().size(), "the first pipeline spans both expected workers: " + ps);
    }

    private void step() {
        clock.addAndGet(100_000_000L);
        fake.beat();
        cluster.tick();
        cluster.runPending();
    }
}
