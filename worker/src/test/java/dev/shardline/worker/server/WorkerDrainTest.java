package dev.shardline.worker.server;

import dev.shardline.proto.stage.v1.HeartbeatRequest;
import dev.shardline.proto.stage.v1.LayerAssignment;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.StageMessage;
import dev.shardline.proto.stage.v1.WorkerCommand;
import dev.shardline.proto.stage.v1.WorkerState;
import dev.shardline.worker.config.WorkerConfig;
import io.grpc.ManagedChannel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.shardline.proto.stage.v1.ActivationDtype.ACTIVATION_DTYPE_F32;
import static dev.shardline.worker.server.WorkerProcessTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Stopping politely: a drain request goes out at once and in every later heartbeat; the coordinator's DRAIN lets
 * in-flight micro-batches finish, then the worker stops; without an answer (unreachable, or not within
 * drain-timeout-ms) it stops anyway. As a process: SIGTERM asks for the drain and the process exits 0 after DRAIN;
 * a second SIGTERM stops it at once.
 */
class WorkerDrainTest {
    @TempDir
    static Path model;

    @BeforeAll
    static void write() throws Exception {
        TinyModel.write(model);
    }

    static WorkerConfig withDrainTimeout(WorkerConfig c, long ms) {
        return new WorkerConfig(c.workerId(), c.coordinator(), c.host(), c.port(), c.model(), c.backend(), c.threads(),
                c.memoryBudgetBytes(), c.weights(), ms);
    }

    static List<HeartbeatRequest> drainRequests(TestControlPlane cp, String id) {
        return cp.heartbeats.stream().filter(h -> h.getWorkerId().equals(id) && h.getDrainRequested()).toList();
    }

    @Test
    void aRequestedDrainGoesOutAtOnceAndTheWorkerStopsWhenTheCoordinatorAnswers() throws Exception {
        try (TestControlPlane cp = TestControlPlane.start(0, WorkerLifecycleTest.LONG_HEARTBEAT_MS)) {
            WorkerProcess w = WorkerProcess.start(TinyModel.worker(model, cp.address(), "polite"), s -> { });
            try {
                cp.drainOnRequest.add("polite");
                w.requestDrain();
                assertTrue(w.awaitStopped(Duration.ofSeconds(10)), "DRAIN stops the worker");
                assertEquals(1, drainRequests(cp, "polite").size(), "asked once, at once (the interval is a minute)");
            } finally {
                w.close();
            }
        }
    }

    @Test
    void aDrainFinishesTheMicroBatchInFlightBeforeTheWorkerStops() throws Exception {
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        try (TestControlPlane cp = TestControlPlane.start(0); HoldingStage next = HoldingStage.start()) {
            WorkerProcess w = WorkerProcess.start(TinyModel.worker(model, cp.address(), "busy"), log::add);
            ManagedChannel ch = Channels.open(w.address());
            try {
                StageGrpc.newBlockingStub(ch).assign(LayerAssignment.newBuilder().setPipelineId(3).setPlanEpoch(1)
                        .setStageCount(2).setLayerEnd(2).setHasEmbedding(true).setKvBlocks(16).setBlockSize(4)
                        .setActivationDtype(ACTIVATION_DTYPE_F32).setNextStageAddress(next.address())
                        .setCoordinatorAddress(cp.address()).build()).forEachRemaining(p -> { });
                try (PipelineClient client = PipelineClient.open(ch)) {
                    client.send(StageProtocolTest.header(1, 1, 0, true, 5, 6, 7).build());
                    client.send(StageProtocolTest.header(2, 1, 3, false, 8).build());
                    assertEquals(1, next.nextHeader(5000).getHeader().getStepId());
                    // step 2 is computed and waits for the next stage's credit when the drain comes
                    cp.command(WorkerCommand.WORKER_COMMAND_DRAIN);
                    await("the drain begun", () -> log.stream().anyMatch(l -> l.startsWith("draining")));
                    // still alive, still heartbeating, while step 2 waits for credit
                    int beats = cp.heartbeats.size();
                    await("heartbeats while draining", () -> cp.heartbeats.size() >= beats + 3
                            && cp.heartbeats.getLast().getState() == WorkerState.WORKER_STATE_DRAINING);
                    assertFalse(w.awaitStopped(Duration.ZERO), "not stopped with a micro-batch in flight");
                    next.auto(true);
                    next.ack(1);
                    assertTrue(w.awaitStopped(Duration.ofSeconds(10)), "drained");
                }
                List<Long> downstream = new ArrayList<>();
                for (StageMessage m : next.received) if (m.hasHeader()) downstream.add(m.getHeader().getStepId());
                assertEquals(List.of(2L), downstream, "step 2 went on before the worker stopped");
            } finally {
                Channels.close(ch);
                w.close();
            }
        }
    }

    @Test
    void withoutAnAnswerTheWorkerStopsAfterTheDrainTimeoutAskingAllAlong() throws Exception {
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        try (TestControlPlane cp = TestControlPlane.start(0)) {
            WorkerProcess w = WorkerProcess.start(withDrainTimeout(TinyModel.worker(model, cp.address(), "ignored"), 600),
                    log::add);
            try {
                w.requestDrain();
                assertTrue(w.awaitStopped(Duration.ofSeconds(10)), "stops anyway");
                assertTrue(drainRequests(cp, "ignored").size() >= 2, "every heartbeat asks");
                assertTrue(log.stream().anyMatch(l -> l.equals("the drain did not finish within drain-timeout-ms 600: stopping")),
                        String.join("\n", log));
            } finally {
                w.close();
            }
        }
    }

    @Test
    void anUnreachableCoordinatorCannotDrainTheWorkerSoItStops() throws Exception {
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        TestControlPlane cp = TestControlPlane.start(0, WorkerLifecycleTest.LONG_HEARTBEAT_MS);
        String address = cp.address();
        WorkerProcess w = WorkerProcess.start(TinyModel.worker(model, address, "orphan"), log::add);
        try {
            cp.close();
            w.requestDrain();
            assertTrue(w.awaitStopped(Duration.ofSeconds(10)), "stops without a drain");
            assertTrue(log.stream().anyMatch(l -> l.startsWith("cannot ask the coordinator at " + address
                    + " for a drain: stopping")), String.join("\n", log));
        } finally {
            w.close();
        }
    }

    /** A worker in its own JVM, as `./shardline worker` runs it; its output lines are collected. */
    record WorkerJvm(Process process, List<String> output) {
        static WorkerJvm start(String id, TestControlPlane cp) throws IOException {
            String java = ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
            List<String> cmd = List.of(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                    "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                    WorkerMain.class.getName(), "--coordinator=" + cp.address(), "--model=" + model, "--worker-id=" + id,
                    "--backend=reference", "--threads=1", "--memory-budget=1G", "--weights=mmap");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            List<String> out = Collections.synchronizedList(new ArrayList<>());
            Thread.ofPlatform().daemon().name(id + "-output").start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) out.add(line);
                } catch (IOException ignored) {
                    // the process ended
                }
            });
            return new WorkerJvm(p, out);
        }

        void awaitListening(String id) throws InterruptedException {
            await(id + " listening", () -> output.stream().anyMatch(l -> l.startsWith("worker " + id + " listening on "))
                    || !process.isAlive());
            assertTrue(process.isAlive(), "the worker process died:\n" + String.join("\n", output));
        }

        /**
         * SIGTERM, and nothing else: Process.destroy() also closes the pipes, and the end of its stdin stops a
         * worker by itself.
         */
        void sigterm() {
            process.toHandle().destroy();
        }

        int awaitExit() throws InterruptedException {
            assertTrue(process.waitFor(20, TimeUnit.SECONDS), "the worker process did not stop:\n" + String.join("\n", output));
            return process.exitValue();
        }
    }

    @Test
    void sigtermDrainsAWorkerProcessWhichExits0AndASecondSigtermStopsItAtOnce() throws Exception {
        try (TestControlPlane cp = TestControlPlane.start(0, WorkerLifecycleTest.LONG_HEARTBEAT_MS)) {
            cp.drainOnRequest.add("drained");
            WorkerJvm drained = WorkerJvm.start("drained", cp);
            WorkerJvm impatient = WorkerJvm.start("impatient", cp);   // its drain is never answered (timeout 120 s)
            try {
                drained.awaitListening("drained");
                impatient.awaitListening("impatient");

                drained.sigterm();
                await("drained's drain request", () -> !drainRequests(cp, "drained").isEmpty());
                assertEquals(0, drained.awaitExit(), String.join("\n", drained.output()));
                assertTrue(drained.output().stream().anyMatch(l -> l.startsWith("SIGTERM: draining")));
                assertTrue(drained.output().stream().anyMatch(l -> l.startsWith("drained: no micro-batches left")),
                        String.join("\n", drained.output()));

                impatient.sigterm();                                          // asks, nobody answers
                await("impatient's drain request", () -> !drainRequests(cp, "impatient").isEmpty());
                impatient.sigterm();                                          // again: stops now
                assertEquals(0, impatient.awaitExit(), String.join("\n", impatient.output()));
                assertTrue(impatient.output().stream().anyMatch(l -> l.equals("SIGTERM again: stopping now")),
                        String.join("\n", impatient.output()));
            } finally {
                drained.process().destroyForcibly();
                impatient.process().destroyForcibly();
            }
        }
    }
}
