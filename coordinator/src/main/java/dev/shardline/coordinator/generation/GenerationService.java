package dev.shardline.coordinator.generation;

import dev.shardline.coordinator.cluster.ClusterReconciler;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The one way to generate, for every front end: {@link #submit} validates a {@link GenerationRequest} (the one
 * place that does), resolves it against the model, and hands it to the cluster, which runs it on a pipeline (and
 * moves it to another if that pipeline fails or drains). Output flows to the caller's {@link TokenSink} through
 * the request's bounded buffer, on the request's own virtual thread, never on a pipeline's.
 */
public final class GenerationService implements AutoCloseable {
    private final ServedModel model;
    private final ClusterReconciler cluster;
    private final GenerationSettings settings;
    private final RequestValidator validator;
    private final LongSupplier clock;
    private final Consumer<String> log;
    private final Executor deliveries = Executors.newVirtualThreadPerTaskExecutor();
    private final ScheduledExecutorService deadlines = Executors.newSingleThreadScheduledExecutor(r ->
            Thread.ofPlatform().name("generation-deadlines").daemon().unstarted(r));
    private final AtomicLong keys = new AtomicLong();
    private final List<GenerationObserver> observers = new CopyOnWriteArrayList<>();
    private final GenerationObserver fanOut = new FanOut(observers);

    public GenerationService(ServedModel model, ClusterReconciler cluster, GenerationSettings settings, LongSupplier clock,
                             Consumer<String> log) {
        this.model = model;
        this.cluster = cluster;
        this.settings = settings;
        this.validator = new RequestValidator(model, settings.testHooks(), settings.maxPromptTokens());
        this.clock = clock;
        this.log = log;
    }

    public ServedModel model() {
        return model;
    }

    /** Adds an observer of every request from now on (metrics); call before serving. */
    public void observe(GenerationObserver observer) {
        observers.add(observer);
    }

    /**
     * Starts a generation; its output goes to {@code sink}.
     *
     * @throws GenerationException.InvalidRequest    (or a subtype) naming the field
     * @throws GenerationException.Overloaded        when too many requests wait already
     */
    public GenerationHandle submit(GenerationRequest request, TokenSink sink) {
        ValidatedRequest resolved = validator.validate(request, cluster.maxKvTokens());
        int waiting = cluster.waitingCount();
        if (waiting >= cluster.maxWaiting()) {
            throw new GenerationException.Overloaded(waiting + " requests are waiting already (the limit is "
                    + cluster.maxWaiting() + "); retry later", settings.retryAfter());
        }
        Generation[] self = new Generation[1];
        Delivery delivery = new Delivery(sink, settings.sinkBufferTokens(), deliveries,
                request.forcedTokenIds().isEmpty(), failure -> {
            log.accept(self[0] + ": its consumer failed (" + failure + "); cancelling");
            self[0].cancel(new GenerationException.Cancelled("the consumer failed: " + failure.getMessage()));
        });
        GenerationAccumulator acc = new GenerationAccumulator(model.tokenizer(), resolved.params().stop(),
                resolved.reasoningOpen(), request.logprobs(), resolved.promptIds().length);
        Generation g = new Generation(keys.incrementAndGet(), request, resolved, acc, delivery, new Generation.Cancel() {
            @Override
            public void cancel(Generation x) {
                cluster.cancel(x);
            }

            @Override
            public void slowConsumer(Generation x) {
                cluster.countSlowConsumer();
                log.accept(x + ": its consumer fell behind by more than " + settings.sinkBufferTokens()
                        + " tokens; cancelled and its KV blocks freed");
            }
        }, clock, fanOut);
        self[0] = g;
        if (request.deadline() != null) {
            var timer = deadlines.schedule(() -> g.cancel(new GenerationException.DeadlineExceeded("the request's deadline of "
                    + request.deadline().toMillis() + " ms passed")), request.deadline().toNanos(), TimeUnit.NANOSECONDS);
            g.completion().whenComplete((c, e) -> timer.cancel(false));
        }
        cluster.submit(g);
        return g;
    }

    /** Tokenizes text with the served model's tokenizer (no special tokens added). */
    public int[] tokenize(String text) {
        return model.tokenizer().encode(text);
    }

    @Override
    public void close() {
        deadlines.shutdownNow();
    }

    /** Calls every registered observer. */
    private record FanOut(List<GenerationObserver> all) implements GenerationObserver {
        @Override
        public void onScheduled(GenerationHandle r, long queueNanos) {
            for (GenerationObserver o : all) o.onScheduled(r, queueNanos);
        }

        @Override
        public void onToken(GenerationHandle r, int index, long gapNanos) {
            for (GenerationObserver o : all) o.onToken(r, index, gapNanos);
        }

        @Override
        public void onPreempted(GenerationHandle r) {
            for (GenerationObserver o : all) o.onPreempted(r);
        }

        @Override
        public void onCompleted(GenerationHandle r, Completion c) {
            for (GenerationObserver o : all) o.onCompleted(r, c);
        }

        @Override
        public void onFailed(GenerationHandle r, GenerationException e, int generatedTokens) {
            for (GenerationObserver o : all) o.onFailed(r, e, generatedTokens);
        }
    }
}
