package dev.shardline.coordinator.generation;

import dev.shardline.coordinator.cluster.ClusterSequence;
import dev.shardline.coordinator.cluster.SamplerSpec;
import dev.shardline.coordinator.schedule.Request;
import dev.shardline.coordinator.schedule.SampledTokenResult;
import dev.shardline.model.engine.FinishReason;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;

/**
 * One request's life: its journal (the tokens generated so far, which is what lets it resume on another pipeline
 * with nothing lost or repeated), its accumulator and its delivery. The cluster calls the {@link ClusterSequence}
 * side on pipeline threads (one at a time); the client holds the {@link GenerationHandle} side.
 */
final class Generation implements ClusterSequence, GenerationHandle {
    private final long key;
    private final GenerationRequest request;
    private final ValidatedRequest resolved;
    private final GenerationAccumulator accumulator;
    private final Delivery delivery;
    private final Cancel canceller;
    private final LongSupplier clock;
    private final GenerationObserver observer;
    private final long arrivalNanos;
    private final CompletableFuture<Completion> done = new CompletableFuture<>();
    private final List<Migration> migrations = new ArrayList<>();
    private int[] journal = new int[16];
    private int generated;
    private long scheduledNanos;
    private long firstTokenNanos;
    private long lastTokenNanos;
    private volatile boolean cancelled;
    private volatile GenerationException cancelReason;
    private boolean finished;

    /** What a request tells the service: stop it; its consumer fell behind. */
    interface Cancel {
        void cancel(Generation g);

        void slowConsumer(Generation g);
    }

    Generation(long key, GenerationRequest request, ValidatedRequest resolved, GenerationAccumulator accumulator,
               Delivery delivery, Cancel canceller, LongSupplier clock) {
        this(key, request, resolved, accumulator, delivery, canceller, clock, GenerationObserver.NONE);
    }

    Generation(long key, GenerationRequest request, ValidatedRequest resolved, GenerationAccumulator accumulator,
               Delivery delivery, Cancel canceller, LongSupplier clock, GenerationObserver observer) {
        this.observer = observer;
        this.key = key;
        this.request = request;
        this.resolved = resolved;
        this.accumulator = accumulator;
        this.delivery = delivery;
        this.canceller = canceller;
        this.clock = clock;
        this.arrivalNanos = clock.getAsLong();
    }

    // ---- GenerationHandle ----

    @Override
    public long id() {
        return key;
    }

    @Override
    public GenerationRequest submitted() {
        return request;
    }

    @Override
    public String requestId() {
        return request.requestId();
    }

    @Override
    public int promptTokens() {
        return resolved.promptIds().length;
    }

    @Override
    public void cancel() {
        cancel(new GenerationException.Cancelled("the request was cancelled"));
    }

    /** Stops the request with the error its sink will get (cancelled, deadline, consumer gone). */
    void cancel(GenerationException why) {
        if (cancelled) return;
        cancelReason = why;
        cancelled = true;
        canceller.cancel(this);
    }

    @Override
    public CompletableFuture<Completion> completion() {
        return done;
    }

    GenerationRequest request0() {
        return request;
    }

    @Override
    public synchronized List<Migration> migrations() {
        return List.copyOf(migrations);
    }

    // ---- ClusterSequence ----

    @Override
    public long key() {
        return key;
    }

    @Override
    public Request request() {
        return resolved.scheduling();
    }

    @Override
    public SamplerSpec sampler() {
        return resolved.sampler();
    }

    @Override
    public synchronized int[] generated() {
        return Arrays.copyOf(journal, generated);
    }

    @Override
    public boolean cancelled() {
        return cancelled;
    }

    @Override
    public synchronized void onScheduled(int pipelineId) {
        if (scheduledNanos == 0) {
            scheduledNanos = clock.getAsLong();
            observer.onScheduled(this, scheduledNanos - arrivalNanos);
            delivery.started();
        }
    }

    @Override
    public synchronized boolean onToken(SampledTokenResult token, int rowsBefore) {
        if (finished) return true;
        if (generated == journal.length) journal = Arrays.copyOf(journal, generated * 2);
        journal[generated++] = token.tokenId();
        long now = clock.getAsLong();
        if (firstTokenNanos == 0) firstTokenNanos = now;
        observer.onToken(this, generated - 1, now - (generated == 1 ? arrivalNanos : lastTokenNanos));
        lastTokenNanos = now;
        if (!migrations.isEmpty() && migrations.getLast().reprefilledRows() < 0) {
            Migration m = migrations.removeLast();
            migrations.add(new Migration(m.fromPipeline(), m.cause(), m.generatedBefore(), m.promptTokens(), rowsBefore));
        }
        GenerationDelta d = accumulator.push(token);
        if (!delivery.offer(d)) {
            return true;                                        // the consumer fell behind: stop now
        }
        return accumulator.stopped();
    }

    @Override
    public void onPreempted() {
        observer.onPreempted(this);
    }

    @Override
    public synchronized void onMigrating(int pipelineId, MigrationCause cause) {
        migrations.add(new Migration(pipelineId, cause == MigrationCause.FAILURE ? Migration.Cause.FAILURE
                : Migration.Cause.DRAIN, generated, resolved.promptIds().length, -1));
    }

    @Override
    public void onFinished(FinishReason reason) {
        GenerationDelta last;
        Completion c;
        synchronized (this) {
            if (finished) return;
            finished = true;
            last = accumulator.flush();
            c = accumulator.completion(reason, timings(), migrations.size());
        }
        if (delivery.overflowed()) {
            canceller.slowConsumer(this);
            end(new GenerationException.ConsumerTooSlow("the consumer fell behind by more than "
                    + "the request's buffer; generation stopped after " + c.usage().completionTokens() + " tokens"));
        } else if (cancelled) {
            end(cancelReason);
        } else {
            observer.onCompleted(this, c);
            delivery.complete(last, c);
            done.complete(c);
        }
    }

    @Override
    public void onFailed(Failure kind, String reason) {
        synchronized (this) {
            if (finished) return;
            finished = true;
        }
        end(switch (kind) {
            case UNAVAILABLE -> new GenerationException.Unavailable(reason);
            case STEP_FAILED -> new GenerationException.Failed(reason);
        });
    }

    private void end(GenerationException e) {
        int tokens;
        synchronized (this) {
            tokens = generated;
        }
        observer.onFailed(this, e, tokens);
        delivery.fail(e);
        done.completeExceptionally(e);
    }

    private Timings timings() {
        long now = clock.getAsLong();
        double queue = scheduledNanos == 0 ? (now - arrivalNanos) / 1e6 : (scheduledNanos - arrivalNanos) / 1e6;
        double ttft = firstTokenNanos == 0 ? 0 : (firstTokenNanos - arrivalNanos) / 1e6;
        return new Timings(queue, ttft, (now - arrivalNanos) / 1e6);
    }

    @Override
    public String toString() {
        return "request " + key + (request.requestId().isEmpty() ? "" : " (" + request.requestId() + ")");
    }
}
