package dev.shardline.cli;

import dev.shardline.model.json.Json;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The commands run in-process against a tiny demo model written by {@code model create}. */
class CommandsTest {
    @TempDir
    static Path tmp;
    static Path model;

    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @BeforeAll
    static void createTinyModel() {
        model = tmp.resolve("tiny");
        CliRun r = run("model", "create", "--preset", "tiny", "--out", model.toString(), "--shards", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("RANDOM"), "the command says the weights are random: " + r.err());
        assertTrue(Files.exists(model.resolve("model.safetensors.index.json")));
        assertTrue(Files.exists(model.resolve("tokenizer.json")));
    }

    @Test
    void tokenizePrintsIds() {
        CliRun r = run("tokenize", "--model", model.toString(), "Hello world");
        assertEquals(0, r.code(), r.err());
        assertEquals("9707 1879", r.out().trim());
        CliRun j = run("tokenize", "--model", model.toString(), "--json", "<think>\n");
        assertEquals(List.of(151667L, 198L), ((Map<?, ?>) Json.parse(j.out())).get("ids"));
    }

    @Test
    void generateJsonIsReproducibleAndComplete() {
        String[] args = {"generate", "--model", model.toString(), "--prompt", "Hello", "--max-tokens", "6",
                "--seed", "7", "--json", "--ignore-eos"};
        CliRun a = run(args);
        CliRun b = run(args);
        assertEquals(0, a.code(), a.err());
        Map<?, ?> ja = (Map<?, ?>) Json.parse(a.out());
        Map<?, ?> jb = (Map<?, ?>) Json.parse(b.out());
        assertEquals(List.of(9707L), ja.get("prompt_token_ids"));
        assertEquals(6, ((List<?>) ja.get("generated_token_ids")).size());
        assertEquals(ja.get("generated_token_ids"), jb.get("generated_token_ids"), "same seed, same tokens");
        assertEquals("length", ja.get("finish_reason"));
        Map<?, ?> timings = (Map<?, ?>) ja.get("timings");
        assertTrue(((Number) timings.get("decode_tokens_per_second")).doubleValue() > 0);
    }

    @Test
    void greedyOnBothBackendsGivesTheSameTokens() {
        CliRun cpu = run("generate", "--model", model.toString(), "--token-ids", "1,2,3", "--max-tokens", "8",
                "--temperature", "0", "--ignore-eos", "--json", "--backend", "cpu");
        CliRun ref = run("generate", "--model", model.toString(), "--token-ids", "1,2,3", "--max-tokens", "8",
                "--temperature", "0", "--ignore-eos", "--json", "--backend", "reference");
        assertEquals(0, cpu.code(), cpu.err());
        assertEquals(((Map<?, ?>) Json.parse(ref.out())).get("generated_token_ids"),
                ((Map<?, ?>) Json.parse(cpu.out())).get("generated_token_ids"));
    }

    @Test
    void chatStreamsReasoningThenAnswerHeadings() {
        CliRun r = run("generate", "--model", model.toString(), "--chat", "Hi", "--max-tokens", "12", "--seed", "1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("--- reasoning ---\n"), r.out());
        assertTrue(r.err().contains("decode"), r.err());
    }

    @Test
    void benchLocalInterleavesRoundsOverWorkerProcessesAndPrintsTheMedianRatios() {
        CliRun r = run("bench", "--local", "--model", model.toString(), "--workers", "1,2", "--concurrency", "1,16",
                "--rounds", "2", "--prompt-tokens", "4", "--gen-tokens", "3", "--threads", "2");
        assertEquals(0, r.code(), r.err() + r.out());
        String out = r.out();
        assertTrue(out.contains("round 1 of 2") && out.contains("round 2 of 2"), out);
        for (String setup : List.of("1 process, 2 thr", "1 worker(s) x 2 thr", "2 worker(s) x 1 thr")) {
            assertEquals(4, out.lines().filter(l -> l.startsWith(setup)).count(), setup + " once per C and round:\n" + out);
        }
        assertTrue(out.contains("decode step"), "clusters break their decode step down:\n" + out);
        String median = out.substring(out.indexOf("median of 2 rounds:"));
        assertTrue(median.contains("2-stage pipeline at C=1 vs one process") && median.contains("(goal >= 5x)"), median);
        assertEquals(2, run("bench", "--local", "--model", model.toString(), "--rounds", "0").code(), "--rounds 0 is refused");
    }

    @Test
    void benchReportsEfficiency() {
        CliRun r = run("bench", "--model", model.toString(), "--prompt-tokens", "16", "--gen-tokens", "4", "--threads", "1", "--json");
        assertEquals(0, r.code(), r.err());
        Map<?, ?> m = (Map<?, ?>) Json.parse(r.out());
        assertTrue(((Number) m.get("read_bandwidth_gbps_before")).doubleValue() > 0.1);
        assertTrue(((Number) m.get("decode_efficiency")).doubleValue() > 0);
        assertTrue(((Number) m.get("weight_bytes_per_token")).longValue() > 1_000_000);
        List<?> prefills = (List<?>) m.get("prefill_tokens_per_second_runs");
        assertEquals(3, prefills.size(), "three timed prefills by default: " + prefills);
        double[] sorted = prefills.stream().mapToDouble(v -> ((Number) v).doubleValue()).sorted().toArray();
        assertEquals(sorted[1], ((Number) m.get("prefill_tokens_per_second")).doubleValue(), "the median is reported");
        List<?> decodes = (List<?>) m.get("decode_tokens_per_second_runs");
        List<?> efficiencies = (List<?>) m.get("decode_efficiency_runs");
        List<?> probes = (List<?>) m.get("read_bandwidth_gbps_probes");
        assertEquals(3, decodes.size(), "three timed decodes by default: " + decodes);
        assertEquals(4, probes.size(), "a probe before, between and after the decodes: " + probes);
        double[] d = decodes.stream().mapToDouble(v -> ((Number) v).doubleValue()).sorted().toArray();
        assertEquals(d[1], ((Number) m.get("decode_tokens_per_second")).doubleValue(), "the median decode is reported");
        double[] e = efficiencies.stream().mapToDouble(v -> ((Number) v).doubleValue()).sorted().toArray();
        assertEquals(e[1], ((Number) m.get("decode_efficiency")).doubleValue(), "the median efficiency is reported");
        double bytes = ((Number) m.get("weight_bytes_per_token")).doubleValue();
        for (int i = 0; i < 3; i++) {   // each run against the better of the probes on either side of it
            double best = Math.max(((Number) probes.get(i)).doubleValue(), ((Number) probes.get(i + 1)).doubleValue());
            double rate = ((Number) decodes.get(i)).doubleValue();
            assertEquals(bytes * rate / (best * 1e9), ((Number) efficiencies.get(i)).doubleValue(), 1e-12, "run " + i);
        }
        CliRun zero = run("bench", "--model", model.toString(), "--prefill-runs", "0");
        assertEquals(2, zero.code());
        assertTrue(zero.err().contains("--prefill-runs"), zero.err());
        CliRun noDecode = run("bench", "--model", model.toString(), "--decode-runs", "0");
        assertEquals(2, noDecode.code());
        assertTrue(noDecode.err().contains("--decode-runs"), noDecode.err());
    }

    @Test
    void badInputGivesAClearErrorAndExitCode2() {
        CliRun missing = run("generate", "--model", tmp.resolve("nope").toString(), "--prompt", "x");
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("nope") && missing.err().contains("does not exist"), missing.err());

        CliRun cuda = run("generate", "--model", model.toString(), "--prompt", "x", "--backend", "cuda");
        assertEquals(2, cuda.code());
        assertTrue(cuda.err().contains("backend cuda: no usable GPU"), cuda.err());

        CliRun topP = run("generate", "--model", model.toString(), "--prompt", "x", "--top-p", "1.5");
        assertEquals(2, topP.code());
        assertTrue(topP.err().contains("top_p"), topP.err());

        CliRun preset = run("model", "create", "--preset", "huge", "--out", tmp.resolve("x").toString());
        assertEquals(2, preset.code());
        assertTrue(preset.err().contains("huge"), preset.err());

        CliRun badId = run("generate", "--model", model.toString(), "--token-ids", "1,999999");
        assertEquals(2, badId.code());
        assertTrue(badId.err().contains("999999"), badId.err());
    }
}
