package dev.shardline.cli.cluster;

import dev.shardline.cli.client.AdminClient;
import dev.shardline.coordinator.config.CoordinatorConfig;
import dev.shardline.coordinator.server.CoordinatorProcess;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.proto.v1.PlanPipelineResponse;
import dev.shardline.proto.v1.PlannedStage;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code Admin.PlanPipeline} on a real coordinator (tiny model, no workers) over gRPC on loopback: the fewest
 * workers of a budget that hold the model, their layers, a clear FAILED_PRECONDITION when none can, and the admin
 * token.
 */
class PlanPipelineTest {
    static final String TOKEN = "plan-token";
    static Path model;
    static CoordinatorProcess coordinator;
    static int layers;

    @BeforeAll
    static void start() {
        model = TestModels.get(DemoPreset.TINY);
        layers = ModelConfig.read(model.resolve("config.json")).numHiddenLayers();
        coordinator = CoordinatorProcess.start(CoordinatorConfig.parse(Map.of(), Map.of("model", model.toString(),
                "model-id", "tiny-test", "port", "0", "http-port", "0", "kv-reserve-tokens", "64",
                "admin-token", TOKEN)), line -> { });
    }

    @AfterAll
    static void stop() {
        coordinator.close();
    }

    @Test
    void aBudgetThatHoldsTheModelNeedsOneStage() {
        try (AdminClient admin = new AdminClient(coordinator.address(), TOKEN)) {
            PlanPipelineResponse r = admin.planPipeline(4L << 30, 0);
            assertEquals("tiny-test", r.getModelId());
            assertEquals(1, r.getStages());
            assertEquals(1, r.getStagePlansCount());
            assertEquals(0, r.getStagePlans(0).getLayerStart());
            assertEquals(layers, r.getStagePlans(0).getLayerEnd());
            assertTrue(r.getModelBytes() > r.getStagePlans(0).getWeightBytes(), "model bytes include the KV reserve");
        }
    }

    @Test
    void halfTheModelPerWorkerNeedsTwoContiguousStagesWithinTheBudget() {
        long budget = TestModels.halfModelBudget(model);
        try (AdminClient admin = new AdminClient(coordinator.address(), TOKEN)) {
            PlanPipelineResponse r = admin.planPipeline(budget, 0);
            assertEquals(2, r.getStages());
            assertTrue(r.getModelBytes() > budget, "one such worker cannot hold the model");
            int next = 0;
            for (PlannedStage s : r.getStagePlansList()) {
                assertEquals(next, s.getLayerStart());
                assertTrue(s.getLayerEnd() > s.getLayerStart());
                assertTrue(s.getWeightBytes() < budget);
                assertTrue(s.getKvCapacityTokens() >= 64);
                next = s.getLayerEnd();
            }
            assertEquals(layers, next);

            StatusRuntimeException capped = assertThrows(StatusRuntimeException.class, () -> admin.planPipeline(budget, 1));
            assertEquals(Status.Code.FAILED_PRECONDITION, capped.getStatus().getCode());
        }
    }

    @Test
    void aBudgetNoNumberOfWorkersCanUseIsAFailedPreconditionNamingBudgetAndModel() {
        try (AdminClient admin = new AdminClient(coordinator.address(), TOKEN)) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> admin.planPipeline(1000, 0));
            assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
            String m = e.getStatus().getDescription();
            assertTrue(m.contains("(1000 bytes)") && m.contains("tiny-test") && m.contains("whole model needs"), m);

            StatusRuntimeException zero = assertThrows(StatusRuntimeException.class, () -> admin.planPipeline(0, 0));
            assertEquals(Status.Code.INVALID_ARGUMENT, zero.getStatus().getCode());
            assertTrue(zero.getStatus().getDescription().contains("worker_memory_budget_bytes"));
        }
    }

    @Test
    void planningNeedsTheAdminToken() {
        try (AdminClient none = new AdminClient(coordinator.address(), null);
             AdminClient wrong = new AdminClient(coordinator.address(), "guess")) {
            assertEquals(Status.Code.UNAUTHENTICATED, assertThrows(StatusRuntimeException.class,
                    () -> none.planPipeline(4L << 30, 0)).getStatus().getCode());
            assertEquals(Status.Code.PERMISSION_DENIED, assertThrows(StatusRuntimeException.class,
                    () -> wrong.planPipeline(4L << 30, 0)).getStatus().getCode());
        }
    }
}
