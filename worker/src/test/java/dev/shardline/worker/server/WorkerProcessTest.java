package dev.shardline.worker.server;

import dev.shardline.model.checkpoint.ModelFingerprint;

import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.json.Json;
import dev.shardline.proto.stage.v1.LayerAssignment;
import dev.shardline.proto.stage.v1.RegisterRequest;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.WorkerCommand;
import dev.shardline.proto.stage.v1.WorkerState;
import io.grpc.ManagedChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The worker's life cycle with its coordinator: registration (late coordinator), commands, outages, the main. */
class WorkerProcessTest {
    @TempDir
    static Path model;

    @BeforeAll
    static void write() throws IOException {
        TinyModel.write(model);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!condition.getAsBoolean()) {
            assertTrue(System.currentTimeMillis() < deadline, "timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    static long registrationsOf(TestControlPlane cp, String id) {
        return cp.registrations.stream().map(RegisterRequest::getWorkerId).filter(id::equals).count();
    }

    @Test
    void registrationWaitsForACoordinatorThatStartsLate() throws Exception {
        int port = freePort();
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<TestControlPlane> late = CompletableFuture.supplyAsync(() -> {
            try {
                Thread.sleep(700);
                return TestControlPlane.start(port);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        try (WorkerProcess w = WorkerProcess.start(TinyModel.worker(model, "127.0.0.1:" + port, "late"), log::add);
             TestControlPlane cp = late.get(5, TimeUnit.SECONDS)) {
            assertEquals(1, registrationsOf(cp, w.workerId()));
            assertTrue(log.stream().anyMatch(l -> l.startsWith("coordinator at 127.0.0.1:" + port
                    + " not reachable yet (UNAVAILABLE), attempt 1; retrying in 0.3 s")), String.join("\n", log));
            assertTrue(log.stream().anyMatch(l -> l.startsWith("registered with the coordinator at 127.0.0.1:" + port
                    + " as " + w.workerId())), String.join("\n", log));
        }
    }

    @Test
    void aCoordinatorThatNeverComesUpFailsTheStart() throws Exception {
        int port = freePort();
        WorkerStartException e = assertThrows(WorkerStartException.class, () -> WorkerProcess.start(
                TinyModel.worker(model, "127.0.0.1:" + port, "never"), s -> { }, Duration.ofMillis(600)));
        assertTrue(e.getMessage().contains("127.0.0.1:" + port + " stayed unreachable"), e.getMessage());
    }

    @Test
    void heartbeatsCarryOutCommandsAndSurviveAnOutage() throws Exception {
        int port = freePort();
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        TestControlPlane cp = TestControlPlane.start(port);
        WorkerProcess w = WorkerProcess.start(TinyModel.worker(model, cp.address(), "outage"), log::add);
        ManagedChannel channel = Channels.open(w.address());
        try {
            cp.command(WorkerCommand.WORKER_COMMAND_REGISTER);
            await("a second registration", () -> registrationsOf(cp, w.workerId()) == 2);

            StageGrpc.newBlockingStub(channel).assign(LayerAssignment.newBuilder().setStageCount(1).setLayerEnd(3)
                    .setHasEmbedding(true).setHasHead(true).setKvBlocks(4).setBlockSize(4)
                    .setNextStageAddress("coordinator").setCoordinatorAddress(cp.address()).build())
                    .forEachRemaining(p -> { });
            assertEquals(WorkerState.WORKER_STATE_READY, w.state());
            cp.command(WorkerCommand.WORKER_COMMAND_RELOAD);
            await("the assignment dropped", () -> w.state() == WorkerState.WORKER_STATE_IDLE);

            cp.close();
            await("the outage logged", () -> log.stream().anyMatch(l -> l.contains("is unreachable")));
            Thread.sleep(350); // several more failed heartbeats
            assertEquals(1, log.stream().filter(l -> l.contains("is unreachable")).count(), "logged once per change");
            try (TestControlPlane back = TestControlPlane.start(port)) {
                await("the coordinator back", () -> log.stream().anyMatch(l -> l.contains("is reachable again")));
                back.command(WorkerCommand.WORKER_COMMAND_DRAIN);
                assertTrue(w.awaitStopped(Duration.ofSeconds(10)), "a drain ends the worker");
            }
        } finally {
            Channels.close(channel);
            w.close();
        }
    }

    @Test
    void mainRunsAWorkerUntilItIsDrained() throws Exception {
        try (TestControlPlane cp = TestControlPlane.start(0)) {
            CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> WorkerMain.run(Map.of(
                    "SHARDLINE_WORKER_BACKEND", "reference", "SHARDLINE_WORKER_MODEL", model.toString()),
                    new String[]{"--coordinator", cp.address(), "--worker-id=main-1", "--threads=1",
                            "--stop-on-stdin-close=false"}));
            await("main's registration", () -> registrationsOf(cp, "main-1") == 1);
            cp.command(WorkerCommand.WORKER_COMMAND_DRAIN);
            assertEquals(0, exit.get(10, TimeUnit.SECONDS));
        }
        assertEquals(2, WorkerMain.run(Map.of(), new String[]{"--coordinator=h:1", "--model", "/m", "--colour=red"}));
        assertEquals(2, WorkerMain.run(Map.of(), new String[]{"--model", "/m"}), "coordinator is required");
    }

    @Test
    void flagsParseInBothForms() {
        assertEquals(Map.of("model", "/m", "port", "7001", "threads", "2", "verbose", "true"),
                WorkerMain.parseFlags(new String[]{"--model", "/m", "--port=7001", "--threads", "2", "--verbose"}));
        assertThrows(IllegalArgumentException.class, () -> WorkerMain.parseFlags(new String[]{"model"}));
    }

    @Test
    void fingerprintFollowsConfigAndTensorsNotTheShardLayout(@TempDir Path other) throws IOException {
        String fp = ModelFingerprint.of(model);
        assertTrue(fp.matches("[0-9a-f]{64}"), fp);
        assertEquals(fp, ModelFingerprint.of(model));
        DemoCheckpointWriter.writeWeights(TinyModel.CONFIG, other, 2, 99, null);
        Files.writeString(other.resolve("config.json"), Json.writePretty(TinyModel.CONFIG.toJsonMap()));
        assertEquals(fp, ModelFingerprint.of(other), "same config, tensor names, dtypes and shapes");
        Files.writeString(other.resolve("config.json"), Files.readString(other.resolve("config.json")) + "\n");
        assertNotEquals(fp, ModelFingerprint.of(other), "config.json bytes count");
    }
}
