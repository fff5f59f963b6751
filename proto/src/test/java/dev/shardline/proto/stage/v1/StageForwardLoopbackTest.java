package dev.shardline.proto.stage.v1;

import dev.shardline.proto.stage.v1.codec.ActivationAssembler;
import dev.shardline.proto.stage.v1.codec.ActivationCodec;
import dev.shardline.proto.stage.v1.codec.ActivationFormatException;
import dev.shardline.proto.stage.v1.codec.EncodedActivations;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

import static dev.shardline.proto.stage.v1.ActivationDtype.ACTIVATION_DTYPE_BF16;
import static dev.shardline.proto.stage.v1.ActivationDtype.ACTIVATION_DTYPE_F32;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The generated Stage stubs end to end: a grpc-netty-shaded server on 127.0.0.1 (port 0) whose Forward
 * implementation reassembles micro-batches with {@link ActivationAssembler} and acknowledges them with credit, and a
 * client that sends under that credit, with activations chunked below the server's inbound message limit.
 */
class StageForwardLoopbackTest {
    private static final int LIMIT = 1024 * 1024; // the server's max inbound message size
    private static final int CREDIT = 2;
    private static final long WAIT_S = 20;

    private final Map<Long, float[]> received = new ConcurrentHashMap<>();
    private final Map<Long, MicroBatchHeader> headers = new ConcurrentHashMap<>();
    private Server server;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .maxInboundMessageSize(LIMIT)
                .addService(new EchoStage())
                .build()
                .start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
                .usePlaintext()
                .maxInboundMessageSize(LIMIT)
                .build();
    }

    @AfterEach
    void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Test
    void microBatchesTravelUnderCreditAndMessageLimit() throws Exception {
        int cols = 5120;
        float[] prefill = random(512 * cols, 11); // 5 MiB in bf16: 6 chunks below 1 MiB
        float[] decode = random(3 * cols, 12);
        List<Step> steps = List.of(
                new Step(1, 0, null, ACTIVATION_DTYPE_BF16), // into stage 0: token ids only
                new Step(2, 512, prefill, ACTIVATION_DTYPE_BF16),
                new Step(3, 3, decode, ACTIVATION_DTYPE_F32),
                new Step(4, 3, decode, ACTIVATION_DTYPE_BF16),
                new Step(5, 512, prefill, ACTIVATION_DTYPE_F32));

        BlockingQueue<StageAck> acks = new LinkedBlockingQueue<>();
        CompletableFuture<Void> done = new CompletableFuture<>();
        StreamObserver<StageMessage> out = StageGrpc.newStub(channel).forward(collect(acks, done));

        StageAck grant = poll(acks);
        assertEquals(0, grant.getStepId(), "the first message grants the initial credit");
        int credit = grant.getCredit();
        assertEquals(CREDIT, credit);

        List<Long> ackOrder = new ArrayList<>();
        int unacked = 0;
        int maxUnacked = 0;
        int messages = 0;
        for (Step step : steps) {
            while (unacked >= credit) { // never more than `credit` unacknowledged micro-batches
                StageAck ack = poll(acks);
                assertTrue(ack.getAccepted(), ack.getError());
                ackOrder.add(ack.getStepId());
                credit = ack.getCredit();
                unacked--;
            }
            for (StageMessage message : step.messages(cols)) {
                assertTrue(message.getSerializedSize() <= LIMIT);
                out.onNext(message);
                messages++;
            }
            unacked++;
            maxUnacked = Math.max(maxUnacked, unacked);
        }
        while (unacked > 0) {
            StageAck ack = poll(acks);
            ackOrder.add(ack.getStepId());
            unacked--;
        }
        out.onCompleted();
        done.get(WAIT_S, TimeUnit.SECONDS);

        assertEquals(List.of(1L, 2L, 3L, 4L, 5L), ackOrder, "one ack per micro-batch, in order");
        assertEquals(CREDIT, maxUnacked);
        assertTrue(messages > steps.size() + 10, "the large steps must have been chunked, sent " + messages);
        assertEquals(0, received.get(1L).length);
        assertEquals(7, headers.get(1L).getEntries(0).getTokenIds(1));
        assertArrayEquals(bf16(prefill), received.get(2L));
        assertArrayEquals(decode, received.get(3L));
        assertArrayEquals(bf16(decode), received.get(4L));
        assertArrayEquals(prefill, received.get(5L));
        assertEquals(List.of(9L), headers.get(5L).getFinishedSequenceIdsList());
    }

    @Test
    void anUnchunkedMessageOverTheLimitIsRefusedByTransport() throws Exception {
        Logger deframe = Logger.getLogger("io.grpc.netty.shaded.io.grpc.netty.NettyServerStream");
        Level level = deframe.getLevel();
        deframe.setLevel(Level.OFF); // the expected "message exceeds maximum size" warning
        try {
            sendOversize();
        } finally {
            deframe.setLevel(level);
        }
    }

    private void sendOversize() throws Exception {
        // a 1.5 MiB hidden state in one chunk: exactly what the chunking contract exists to avoid
        float[] big = random(384 * 1024, 13);
        EncodedActivations enc = ActivationCodec.encode(1, big, 384, 1024, ACTIVATION_DTYPE_F32, 2 * LIMIT);
        assertEquals(1, enc.chunks().size());
        BlockingQueue<StageAck> acks = new LinkedBlockingQueue<>();
        CompletableFuture<Void> done = new CompletableFuture<>();
        StreamObserver<StageMessage> out = StageGrpc.newStub(channel).forward(collect(acks, done));
        poll(acks);
        out.onNext(StageMessage.newBuilder()
                .setHeader(enc.describe(MicroBatchHeader.newBuilder().setStepId(1))).build());
        out.onNext(StageMessage.newBuilder().setChunk(enc.chunks().get(0)).build());
        Throwable error = null;
        try {
            done.get(WAIT_S, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            error = e.getCause();
        }
        assertNotNull(error, "the call must fail");
        // the server fails the stream with RESOURCE_EXHAUSTED; grpc-java delivers that to the client of a
        // streaming call as a reset stream (CANCELLED)
        Status.Code code = Status.fromThrowable(error).getCode();
        assertTrue(code == Status.Code.RESOURCE_EXHAUSTED || code == Status.Code.CANCELLED, String.valueOf(error));
        assertTrue(received.isEmpty(), "the oversize micro-batch must not have been delivered");
    }

    /** One micro-batch to send: an entry per 1 or more rows, activations unless rows is 0. */
    private record Step(long id, int rows, float[] hidden, ActivationDtype dtype) {
        List<StageMessage> messages(int cols) {
            MicroBatchHeader.Builder header = MicroBatchHeader.newBuilder()
                    .setPipelineId(0)
                    .setPlanEpoch(1)
                    .setStepId(id)
                    .addEntries(BatchEntry.newBuilder()
                            .setSequenceId(100 + id)
                            .addAllTokenIds(List.of(3, 7, 11))
                            .setFirstPosition(0)
                            .setRows(rows == 0 ? 3 : rows)
                            .addAllBlockTable(List.of(0, 1))
                            .setWantLogits(true)
                            .setSampling(SamplerParams.newBuilder().setTemperature(0).setTopP(1).setSeed(42)));
            if (id == 5) {
                header.addFinishedSequenceIds(9);
            }
            List<StageMessage> messages = new ArrayList<>();
            if (rows == 0) {
                messages.add(StageMessage.newBuilder().setHeader(header).build());
                return messages;
            }
            EncodedActivations enc = ActivationCodec.encode(id, hidden, rows, cols, dtype, LIMIT);
            messages.add(StageMessage.newBuilder().setHeader(enc.describe(header)).build());
            for (ActivationChunk chunk : enc.chunks()) {
                messages.add(StageMessage.newBuilder().setChunk(chunk).build());
            }
            return messages;
        }
    }

    /** Reassembles each micro-batch and acknowledges it with constant credit once it is complete. */
    private final class EchoStage extends StageGrpc.StageImplBase {
        @Override
        public StreamObserver<StageMessage> forward(StreamObserver<StageAck> acks) {
            acks.onNext(StageAck.newBuilder().setStepId(0).setAccepted(true).setCredit(CREDIT).build());
            return new StreamObserver<>() {
                private ActivationAssembler current;
                private MicroBatchHeader header;
                private boolean failed;

                @Override
                public void onNext(StageMessage message) {
                    if (failed) {
                        return;
                    }
                    try {
                        switch (message.getKindCase()) {
                            case HEADER -> {
                                if (current != null) {
                                    throw new ActivationFormatException(message.getHeader().getStepId(),
                                            "header before step " + current.stepId() + " was complete");
                                }
                                header = message.getHeader();
                                current = ActivationAssembler.forHeader(header);
                            }
                            case CHUNK -> {
                                if (current == null) {
                                    throw new ActivationFormatException(message.getChunk().getStepId(),
                                            "chunk without a header");
                                }
                                current.accept(message.getChunk());
                            }
                            default -> throw new ActivationFormatException(0, "empty StageMessage");
                        }
                        if (current.isComplete()) {
                            received.put(header.getStepId(), current.finish());
                            headers.put(header.getStepId(), header);
                            acks.onNext(StageAck.newBuilder().setStepId(header.getStepId()).setAccepted(true)
                                    .setCredit(CREDIT).build());
                            current = null;
                        }
                    } catch (ActivationFormatException e) {
                        failed = true;
                        acks.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
                    }
                }

                @Override
                public void onError(Throwable t) {
                    failed = true;
                }

                @Override
                public void onCompleted() {
                    if (!failed) {
                        acks.onCompleted();
                    }
                }
            };
        }
    }

    private static StreamObserver<StageAck> collect(BlockingQueue<StageAck> acks, CompletableFuture<Void> done) {
        return new StreamObserver<>() {
            @Override
            public void onNext(StageAck ack) {
                acks.add(ack);
            }

            @Override
            public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                done.complete(null);
            }
        };
    }

    private static StageAck poll(BlockingQueue<StageAck> acks) throws InterruptedException {
        StageAck ack = acks.poll(WAIT_S, TimeUnit.SECONDS);
        assertNotNull(ack, "no StageAck within " + WAIT_S + " s");
        return ack;
    }

    private static float[] bf16(float[] v) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = ActivationCodec.bf16ToFloat(ActivationCodec.floatToBf16(v[i]));
        }
        return r;
    }

    private static float[] random(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextDouble(-4, 4);
        }
        return v;
    }
}
