package dev.shardline.coordinator.grpc.stage;

import dev.shardline.proto.stage.v1.RegisterRequest;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A registration's KV element size reaches the planner's record; a worker that does not send it counts as f32. */
class StageProtosTest {

    static RegisterRequest.Builder request() {
        return RegisterRequest.newBuilder().setWorkerId("w").setAddress("h:1").setBackend("cuda").setThreads(4)
                .setMemoryBudgetBytes(1L << 30).setModelFingerprint("fp");
    }

    @Test
    void kvBytesPerElementIsReportedOrF32() {
        assertEquals(2, StageProtos.worker(request().setKvBytesPerElement(2).build()).kvBytesPerElement());
        assertEquals(4, StageProtos.worker(request().setKvBytesPerElement(4).build()).kvBytesPerElement());
        assertEquals(4, StageProtos.worker(request().build()).kvBytesPerElement(), "an older worker: f32");
    }
}
