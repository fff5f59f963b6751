package dev.shardline.model.sampling;

import dev.shardline.model.json.JsonException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplingParamsTest {
    @TempDir
    Path dir;

    private static void assertInvalid(String field, String range, Supplier<SamplingParams> params) {
        InvalidSamplingException e = assertThrows(InvalidSamplingException.class, () -> params.get().validate());
        assertEquals(field, e.field());
        assertTrue(e.getMessage().startsWith(field + " "), e.getMessage());
        assertTrue(e.getMessage().contains(range), e.getMessage());
    }

    @Test
    void validationNamesTheFieldAndTheRange() {
        SamplingParams d = SamplingParams.defaults();
        assertInvalid("temperature", ">= 0", () -> d.withTemperature(-0.1));
        assertInvalid("temperature", ">= 0", () -> d.withTemperature(Double.NaN));
        assertInvalid("top_k", ">= 1", () -> d.withTopK(-2));
        assertInvalid("top_p", "(0, 1]", () -> d.withTopP(0.0));
        assertInvalid("top_p", "(0, 1]", () -> d.withTopP(1.01));
        assertInvalid("min_p", "[0, 1]", () -> d.withMinP(-0.5));
        assertInvalid("presence_penalty", "[-2, 2]", () -> d.withPenalties(2.5, 0, 1));
        assertInvalid("frequency_penalty", "[-2, 2]", () -> d.withPenalties(0, -3, 1));
        assertInvalid("repetition_penalty", "> 0", () -> d.withPenalties(0, 0, 0));
        assertInvalid("max_tokens", ">= 1", () -> d.withMaxTokens(0));
        assertInvalid("stop", "non-empty", () -> d.withStop(List.of("ok", "")));
        assertInvalid("stop_token_ids", ">= 0", () -> d.withStopTokenIds(Set.of(-1)));
        assertThrows(InvalidSamplingException.class, () -> new Sampler(d.withTopP(0)));
        assertInvalid("top_logprobs", "[0, 20]", () -> d.withTopLogprobs(21));
        assertInvalid("top_logprobs", "[0, 20]", () -> d.withTopLogprobs(-1));
        assertEquals(20, d.withTopLogprobs(20).validate().topLogprobs());
    }

    @Test
    void logitBiasValuesMustLieWithinPlusMinus100() {
        SamplingParams d = SamplingParams.defaults();
        for (float bad : new float[] {100.5f, -101f, Float.NaN, Float.POSITIVE_INFINITY}) {
            InvalidSamplingException e = assertThrows(InvalidSamplingException.class,
                    () -> d.withLogitBias(Map.of(3, 1f, 151643, bad)).validate());
            assertEquals("logit_bias", e.field());
            assertTrue(e.getMessage().startsWith("logit_bias[151643] must be in [-100, 100], got "), e.getMessage());
        }
        InvalidSamplingException negative = assertThrows(InvalidSamplingException.class,
                () -> new Sampler(d.withLogitBias(Map.of(-1, 5f))));
        assertEquals("logit_bias", negative.field());
        assertEquals(Map.of(7, -100f, 9, 100f), d.withLogitBias(Map.of(9, 100f, 7, -100f)).validate().logitBias());
    }

    @Test
    void factoriesAndOffValues() {
        SamplingParams g = SamplingParams.greedy();
        assertTrue(g.isGreedy());
        assertSame(g, g.validate());
        assertFalse(SamplingParams.defaults().isGreedy());
        assertFalse(SamplingParams.defaults().withTopK(0).validate().topKEnabled());
        assertFalse(SamplingParams.defaults().withTopK(-1).topKEnabled());
        assertTrue(SamplingParams.qwqRecommended().topKEnabled());
        SamplingParams p = SamplingParams.defaults().withStopTokenIds(Set.of(7)).withIgnoreEos(true);
        assertTrue(p.stopsOn(7, List.of(151645)));
        assertFalse(p.stopsOn(151645, List.of(151645)));
        assertTrue(SamplingParams.defaults().stopsOn(151645, List.of(151645, 151643)));
    }

    @Test
    void generationConfigWithEosList() throws IOException {
        Path file = dir.resolve("generation_config.json");
        Files.writeString(file, """
                {"bos_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643], "pad_token_id": 151643,
                 "repetition_penalty": 1.0, "temperature": 0.6, "top_k": 40, "top_p": 0.95,
                 "transformers_version": "4.45.2"}
                """);
        GenerationDefaults g = GenerationDefaults.read(file);
        assertEquals(0.6, g.temperature());
        assertEquals(0.95, g.topP());
        assertEquals(40, g.topK());
        assertEquals(1.0, g.repetitionPenalty());
        assertEquals(List.of(151645, 151643), g.eosTokenIds());
        assertNull(g.maxNewTokens());

        SamplingParams merged = g.merge(SamplingOverrides.none());
        assertEquals(0.6, merged.temperature());
        assertEquals(40, merged.topK());
        assertEquals(0.95, merged.topP());
        assertNull(merged.seed());
        assertEquals(Integer.MAX_VALUE, merged.maxTokens());

        SamplingParams user = g.merge(new SamplingOverrides(0.0, -1, null, 0.05, 1.0, null, null, 5L, 100,
                List.of("###"), null, null));
        assertTrue(user.isGreedy());
        assertFalse(user.topKEnabled());
        assertEquals(0.95, user.topP());
        assertEquals(0.05, user.minP());
        assertEquals(1.0, user.presencePenalty());
        assertEquals(5L, user.seed());
        assertEquals(100, user.maxTokens());
        assertEquals(List.of("###"), user.stop());

        InvalidSamplingException e = assertThrows(InvalidSamplingException.class, () -> g.merge(
                new SamplingOverrides(null, null, 2.0, null, null, null, null, null, null, null, null, null)));
        assertEquals("top_p", e.field());

        assertEquals(0, merged.topLogprobs());
        assertEquals(Map.of(), merged.logitBias());
        SamplingParams withLogprobs = g.merge(new SamplingOverrides(null, null, null, null, null, null, null, null,
                null, null, null, null, 5, Map.of(42, -100f)));
        assertEquals(5, withLogprobs.topLogprobs());
        assertEquals(Map.of(42, -100f), withLogprobs.logitBias());
        assertEquals("logit_bias", assertThrows(InvalidSamplingException.class, () -> g.merge(new SamplingOverrides(
                null, null, null, null, null, null, null, null, null, null, null, null, null, Map.of(1, 200f)))).field());
    }

    @Test
    void generationConfigWithSingleEosAndTopKZero() throws IOException {
        Path file = dir.resolve("generation_config.json");
        Files.writeString(file, "{\"eos_token_id\": 2, \"top_k\": 0, \"max_new_tokens\": 64}");
        GenerationDefaults g = GenerationDefaults.read(file);
        assertEquals(List.of(2), g.eosTokenIds());
        assertEquals(-1, g.topK());
        assertEquals(1.0, g.temperature());
        assertEquals(64, g.merge(SamplingOverrides.none()).maxTokens());
    }

    @Test
    void absentFileGivesBuiltInDefaults() {
        GenerationDefaults g = GenerationDefaults.read(dir.resolve("generation_config.json"));
        assertEquals(GenerationDefaults.builtIn(), g);
        assertEquals(1.0, g.temperature());
        assertEquals(1.0, g.topP());
        assertEquals(-1, g.topK());
        assertTrue(g.eosTokenIds().isEmpty());
    }

    @Test
    void badFieldsNameFileAndField() throws IOException {
        Path file = dir.resolve("generation_config.json");
        Files.writeString(file, "{\"eos_token_id\": [151645, \"x\"]}");
        JsonException e = assertThrows(JsonException.class, () -> GenerationDefaults.read(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("eos_token_id"), e.getMessage());
        Files.writeString(file, "{\"temperature\": \"hot\"}");
        JsonException t = assertThrows(JsonException.class, () -> GenerationDefaults.read(file));
        assertTrue(t.getMessage().contains("temperature"), t.getMessage());
        Files.writeString(file, "{\"temperature\": ");
        JsonException bad = assertThrows(JsonException.class, () -> GenerationDefaults.read(file));
        assertTrue(bad.getMessage().startsWith(file.toString()), bad.getMessage());
    }
}
