package dev.shardline.coordinator.generation;

import dev.shardline.coordinator.cluster.ActivationFormat;
import dev.shardline.coordinator.cluster.ClusterReconciler;
import dev.shardline.coordinator.cluster.ClusterSettings;
import dev.shardline.coordinator.cluster.FakeWorkers;
import dev.shardline.coordinator.cluster.WorkerRegistry;
import dev.shardline.coordinator.desired.PlanInputs;
import dev.shardline.coordinator.plan.CostModel;
import dev.shardline.coordinator.plan.PlanOptions;
import dev.shardline.model.chat.ChatMessage;
import dev.shardline.model.chat.ChatTemplate;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.engine.FinishReason;
import dev.shardline.model.sampling.GenerationDefaults;
import dev.shardline.model.sampling.SamplingOverrides;
import dev.shardline.model.tokenizer.QwenTokenizerSource;
import dev.shardline.model.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The generation service over the real reconciler and in-memory workers (the real Qwen tokenizer, a model of Qwen's
 * vocabulary with tiny shapes): every request field is validated by name, text comes out split into reasoning and
 * answer and cut at stop strings with the numbers front ends report, and the service's own ends (overloaded,
 * unavailable with its cause, deadline) free what the request held.
 */
class GenerationServiceTest {
    static final ModelConfig MODEL = new ModelConfig("qwen2", 64, 128, 4, 4, 2, 151936, 1e-6, 1e6, 256, false, null,
            "silu", "bfloat16", 151643, List.of(151645, 151643));
    static final PlanOptions OPTIONS = PlanOptions.defaults().withMinKvReserveTokens(64);
    static ServedModel model;

    @BeforeAll
    static void loadTokenizer() {
        Tokenizer tokenizer = Tokenizer.load(QwenTokenizerSource.defaults().tokenizerJson(null));
        model = new ServedModel("tiny", MODEL, tokenizer, ChatTemplate.qwq(), GenerationDefaults.builtIn(),
                List.of(151645, 151643));
    }

    /** A coordinator without sockets: service, reconciler, in-memory workers, a hand-driven clock. */
    static final class Harness {
        final AtomicLong clock = new AtomicLong(1_000_000_000L);
        final FakeWorkers workers = new FakeWorkers();
        final ClusterReconciler cluster;
        final GenerationService service;
        final SplittableRandom r = new SplittableRandom(1);

        Harness(boolean testHooks, int maxWaiting, int workerCount) {
            ClusterSettings settings = new ClusterSettings(new PlanInputs(MODEL, 2, OPTIONS), Path.of("/m"), "fp",
                    MODEL.vocabSize(), 4, 64, 8, 64, ActivationFormat.F32, 1 << 20, 1, 0, 1, 500, 1000, 1000, 5000,
                    100, maxWaiting);
            cluster = new ClusterReconciler(settings, new WorkerRegistry("fp", 1000, clock::get), workers, clock::get,
                    line -> { }, false);
            workers.cluster = cluster;
            cluster.start("coordinator:1");
            service = new GenerationService(model, cluster, new GenerationSettings(64, testHooks, Duration.ofMillis(1500)),
                    clock::get, line -> { });
            long budget = CostModel.of(MODEL, 2, OPTIONS).memoryNeed(4, true, true) * 2;
            for (int i = 0; i < workerCount; i++) workers.add("w" + i, budget);
            settle();
        }

        void settle() {
            cluster.runPending();
            workers.load(r, true);
            cluster.runPending();
        }

        /** Runs micro-batches until nothing is in flight. */
        void drive() {
            for (int i = 0; i < 10_000; i++) {
                cluster.runPending();
                if (!workers.completeOne(r)) return;
            }
        }
    }

    static GenerationRequest.Builder tokens(int... ids) {
        return GenerationRequest.builder(new Prompt.Tokens(ids));
    }

    static SamplingOverrides overrides(Consumer<Object[]> set) {
        Object[] v = new Object[12];
        set.accept(v);
        return new SamplingOverrides((Double) v[0], (Integer) v[1], (Double) v[2], (Double) v[3], (Double) v[4],
                (Double) v[5], (Double) v[6], (Long) v[7], (Integer) v[8], (List<String>) v[9], (Set<Integer>) v[10],
                (Boolean) v[11]);
    }

    static String fieldOf(Harness h, GenerationRequest r) {
        GenerationException.InvalidRequest e = assertThrows(GenerationException.InvalidRequest.class,
                () -> h.service.submit(r, new Collector()));
        return e.field();
    }

    @Test
    void everyFieldIsValidatedByName() {
        Harness h = new Harness(false, 100, 1);
        assertEquals("model", fieldOf(h, tokens(1).model("gpt-5").build()));
        assertInstanceOf(GenerationException.ModelNotFound.class, assertThrows(GenerationException.class,
                () -> h.service.submit(tokens(1).model("gpt-5").build(), new Collector())));
        assertEquals("prompt", fieldOf(h, tokens().build()));
        assertEquals("prompt[1]", fieldOf(h, tokens(1, 999_999).build()));
        assertEquals("messages", fieldOf(h, GenerationRequest.builder(new Prompt.Chat(List.of())).build()));
        assertEquals("messages[0].role", fieldOf(h, GenerationRequest.builder(new Prompt.Chat(List.of(
                new ChatMessage("wizard", "x")))).build()));
        assertEquals("top_p", fieldOf(h, tokens(1).sampling(overrides(v -> v[2] = 1.5)).build()));
        assertEquals("temperature", fieldOf(h, tokens(1).sampling(overrides(v -> v[0] = -1.0)).build()));
        assertEquals("max_tokens", fieldOf(h, tokens(1).sampling(overrides(v -> v[8] = 0)).build()));
        GenerationException.InvalidRequest tooLong = assertThrows(GenerationException.ContextLengthExceeded.class,
                () -> h.service.submit(tokens(1, 2).sampling(overrides(v -> v[8] = 300)).build(), new Collector()));
        assertEquals("max_tokens", tooLong.field());
        assertTrue(tooLong.getMessage().contains("256"), tooLong.getMessage());
        int[] huge = new int[300];
        assertEquals("prompt", assertThrows(GenerationException.ContextLengthExceeded.class,
                () -> h.service.submit(tokens(huge).build(), new Collector())).field());
        assertEquals("top_logprobs", fieldOf(h, tokens(1).logprobs(true, 21).build()));
        assertEquals("top_logprobs", fieldOf(h, tokens(1).logprobs(false, 3).build()));
        assertEquals("logit_bias", fieldOf(h, tokens(1).logitBias(Map.of(1, 101f)).build()));
        assertEquals("logit_bias", fieldOf(h, tokens(1).logitBias(Map.of(-4, 1f)).build()));
        assertEquals("stop_token_ids", fieldOf(h, tokens(1).sampling(overrides(v -> v[10] = Set.of(999_999))).build()));
        assertEquals("forced_token_ids", fieldOf(h, tokens(1).forcedTokenIds(List.of(5)).build()));
        assertEquals("stop", fieldOf(h, tokens(1).sampling(overrides(v -> v[9] = List.of(""))).build()));
    }

    @Test
    void textIsSplitIntoReasoningAndAnswerAndCutAtTheStopString() throws Exception {
        Harness h = new Harness(true, 100, 1);
        String said = "Let me think.</think>The answer is 4. STOP and more";
        List<Integer> forced = Arrays.stream(model.tokenizer().encode(said)).boxed().toList();
        Collector out = new Collector();
        GenerationHandle handle = h.service.submit(GenerationRequest.builder(new Prompt.Chat(List.of(
                        ChatMessage.user("2+2?")))).forcedTokenIds(forced)
                .sampling(overrides(v -> v[9] = List.of("STOP"))).build(), out);
        h.drive();
        Completion c = handle.completion().get(10, TimeUnit.SECONDS);
        assertEquals(FinishReason.STOP, c.finishReason());
        assertEquals("STOP", c.matchedStop());
        assertEquals("Let me think.", c.reasoning());
        assertEquals("The answer is 4. ", c.answer());
        String reasoningPart = "Let me think.</think>";
        int reasoningTokens = model.tokenizer().encode(reasoningPart).length;
        assertEquals(reasoningTokens, c.usage().reasoningTokens(), "tokens up to and including </think>");
        assertEquals(c.tokenIds().size(), c.usage().completionTokens());
        assertEquals(forced.subList(0, c.tokenIds().size()), c.tokenIds());
        assertEquals(handle.promptTokens(), c.usage().promptTokens());
        out.done.get(10, TimeUnit.SECONDS);
        assertEquals(c.reasoning(), out.reasoning.toString(), "the streamed deltas add up to the completion");
        assertEquals(c.answer(), out.answer.toString());
        assertEquals(c.tokenIds(), out.tokens);
        assertEquals(1, out.starts, "the sink heard once that the request reached a pipeline");
        assertEquals(0, out.startedAfterTokens, "before its first token");
    }

    @Test
    void tooManyWaitingRequestsAreRefusedWithARetryDelay() {
        Harness h = new Harness(false, 2, 0);
        h.service.submit(tokens(1).build(), new Collector());
        h.service.submit(tokens(2).build(), new Collector());
        h.cluster.runPending();
        GenerationException.Overloaded e = assertThrows(GenerationException.Overloaded.class,
                () -> h.service.submit(tokens(3).build(), new Collector()));
        assertEquals(Duration.ofMillis(1500), e.retryAfter());
    }

    @Test
    void aServerPromptLimitBelowTheContextNamesThePrompt() {
        RequestValidator limited = new RequestValidator(model, false, 3);
        assertEquals(3, limited.validate(tokens(1, 2, 3).build(), 0).promptIds().length);
        GenerationException.ContextLengthExceeded e = assertThrows(GenerationException.ContextLengthExceeded.class,
                () -> limited.validate(tokens(1, 2, 3, 4).build(), 0));
        assertEquals("prompt", e.field());
        assertTrue(e.getMessage().contains("at most 3 tokens") && e.getMessage().contains("has 4"), e.getMessage());
        assertEquals(4, new RequestValidator(model, false, 0).validate(tokens(1, 2, 3, 4).build(), 0).promptIds().length);
    }

    @Test
    void theRequestLogNamesWhoAskedAndWhatItCostButNoText() throws Exception {
        Harness h = new Harness(false, 100, 1);
        List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        h.service.observe(new dev.shardline.coordinator.requestlog.RequestLog(lines::add));
        Collector out = new Collector();
        GenerationHandle handle = h.service.submit(tokens(5, 6, 7).tenant("team-a").endUser("user \"42\"")
                .requestId("r-1").sampling(overrides(v -> { v[8] = 4; v[11] = true; })).build(), out);
        h.drive();
        handle.completion().get(5, TimeUnit.SECONDS);
        assertEquals(1, lines.size(), lines.toString());
        String line = lines.getFirst();
        for (String part : List.of("\"request_id\":\"r-1\"", "\"tenant\":\"team-a\"", "\"user\":\"user \\\"42\\\"\"",
                "\"priority\":\"interactive\"", "\"prompt_tokens\":3", "\"completion_tokens\":4", "\"finish\":\"length\"",
                "\"migrations\":0", "\"ttft_ms\":")) {
            assertTrue(line.contains(part), part + " in " + line);
        }
        assertTrue(!line.contains(out.answer.toString()) || out.answer.isEmpty(), "no output text in the log");
    }

    @Test
    void withoutAPipelineARequestWaitsThenFailsNamingTheCause() throws Exception {
        Harness h = new Harness(false, 100, 0);
        Collector out = new Collector();
        GenerationHandle handle = h.service.submit(tokens(1, 2, 3).build(), out);
        h.cluster.runPending();
        assertEquals(1, h.cluster.status().waitingRequests(), "it waits, and counts as demand");
        h.clock.addAndGet(600_000_000L);
        h.cluster.tick();
        ExecutionException e = assertThrows(ExecutionException.class, () -> handle.completion().get(5, TimeUnit.SECONDS));
        GenerationException.Unavailable u = assertInstanceOf(GenerationException.Unavailable.class, e.getCause());
        assertTrue(u.getMessage().contains("no pipeline is serving") && u.getMessage().contains("0 worker(s) in the pool"),
                u.getMessage());
        assertEquals(1, h.cluster.status().counters().requestsTimedOutWaiting());
        assertEquals(0, out.starts, "a request that never reached a pipeline is never started (it keeps its 503)");
    }

    @Test
    void aDeadlineCancelsTheRequestAndFreesItsBlocks() throws Exception {
        Harness h = new Harness(false, 100, 1);
        GenerationHandle handle = h.service.submit(tokens(1, 2, 3).deadline(Duration.ofMillis(50)).build(), new Collector());
        h.cluster.runPending();
        assertTrue(h.cluster.status().pipelines().getFirst().runner().snapshot().blocksUsed() > 0);
        dev.shardline.coordinator.cluster.ClusterSequence sequence = (dev.shardline.coordinator.cluster.ClusterSequence) handle;
        while (!sequence.cancelled()) Thread.sleep(5);          // nothing runs until the deadline fired
        h.drive();                                              // the step in flight returns, the sequence ends
        ExecutionException e = assertThrows(ExecutionException.class, () -> handle.completion().get(5, TimeUnit.SECONDS));
        assertInstanceOf(GenerationException.DeadlineExceeded.class, e.getCause());
        h.drive();
        h.cluster.tick();
        assertEquals(0, h.cluster.status().pipelines().getFirst().runner().snapshot().blocksUsed());
    }

    /** Collects what a sink gets. */
    static final class Collector implements TokenSink {
        final List<Integer> tokens = new ArrayList<>();
        final StringBuilder reasoning = new StringBuilder();
        final StringBuilder answer = new StringBuilder();
        final java.util.concurrent.CompletableFuture<Completion> done = new java.util.concurrent.CompletableFuture<>();
        int startedAfterTokens = -1;                  // tokens seen when onStarted came; -1: it never came
        int starts;

        @Override
        public synchronized void onStarted() {
            starts++;
            startedAfterTokens = tokens.size();
        }

        @Override
        public synchronized void onDelta(GenerationDelta d) {
            tokens.addAll(d.tokenIds());
            reasoning.append(d.reasoning());
            answer.append(d.answer());
        }

        @Override
        public void onComplete(Completion c) {
            done.complete(c);
        }

        @Override
        public void onError(GenerationException e) {
            done.completeExceptionally(e);
        }
    }
}
