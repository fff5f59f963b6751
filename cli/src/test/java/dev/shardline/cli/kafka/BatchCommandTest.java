package dev.shardline.cli.kafka;

import dev.shardline.cli.CliRun;
import dev.shardline.cli.cluster.ShardlineProcess;
import dev.shardline.cli.cluster.TestModels;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.model.json.Json;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ./shardline batch submit FILE --wait} end to end against {@code ./shardline up --kafka embedded} (a real
 * process with its own broker under the cache directory), then status, results and cancel; and after the process
 * is restarted on the same cache directory, the broker's data (and so the batch) is still there.
 */
class BatchCommandTest {
    private static final Pattern HTTP = Pattern.compile("OpenAI HTTP API on (http://[0-9.]+:[0-9]+)/v1");

    @Test
    void submitWaitStatusResultsAndTheEmbeddedBrokerKeepsItsData() throws Exception {
        Path cache = Files.createTempDirectory("shardline-cache");
        Path work = Files.createTempDirectory("shardline-batch-cli");
        Path model = TestModels.get(DemoPreset.TINY);
        ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();
        try {
            Path in = work.resolve("requests.jsonl");
            Files.writeString(in, BatchRequests.many("q", 12, 6).stream().filter(l -> l[1].contains("/v1/completions"))
                    .map(l -> l[1]).collect(Collectors.joining("\n")) + "\n");
            Path out = work.resolve("results.jsonl");
            String id;
            try (ShardlineProcess up = up(model, cache, log)) {
                String url = awaitUrl(log, 0);
                CliRun submit = CliRun.of("batch", "submit", in.toString(), "--wait", "--server", url, "--out", out.toString());
                assertEquals(0, submit.code(), submit.err() + tail(log));
                id = submit.out().strip();
                assertTrue(id.startsWith("batch_"), submit.out());
                assertTrue(submit.err().contains("9 / 9"), "the progress shows done / total: " + submit.err());
                List<String> lines = Files.readAllLines(out);
                assertEquals(9, lines.size());
                for (String l : lines) assertEquals(200, ((Number) ((Map<?, ?>) Json.parseObject(l).get("response")).get("status_code")).intValue());

                CliRun status = CliRun.of("batch", "status", id, "--server", url);
                assertEquals(0, status.code(), status.err());
                assertEquals("completed", Json.parseObject(status.out()).get("status"));
                Path again = work.resolve("again.jsonl");
                CliRun results = CliRun.of("batch", "results", id, "--server", url, "--out", again.toString());
                assertEquals(0, results.code(), results.err());
                assertEquals(Files.readAllLines(out), Files.readAllLines(again));
                assertNotEquals(0, CliRun.of("batch", "cancel", id, "--server", url).code(), "a completed batch cannot be cancelled");
                up.terminate();
                up.awaitExit(60, java.util.concurrent.TimeUnit.SECONDS);
            }
            int before = log.size();
            try (ShardlineProcess up = up(model, cache, log)) {
                String url = awaitUrl(log, before);
                CliRun status = CliRun.of("batch", "status", id, "--server", url);
                assertEquals(0, status.code(), status.err() + tail(log));
                assertEquals("completed", Json.parseObject(status.out()).get("status"), "the batch outlived the restart");
                up.terminate();
                up.awaitExit(60, java.util.concurrent.TimeUnit.SECONDS);
            }
        } finally {
            TestKafka.delete(cache);
            TestKafka.delete(work);
        }
    }

    private static ShardlineProcess up(Path model, Path cache, ConcurrentLinkedQueue<String> log) {
        return ShardlineProcess.start("up", List.of("up", "--model", model.toString(), "--workers", "1", "--http-port", "0",
                "--kafka", "embedded", "--threads-per-worker", "1"), Map.of("SHARDLINE_CACHE", cache.toString()), log::add);
    }

    private static String awaitUrl(ConcurrentLinkedQueue<String> log, int from) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 180_000;
        while (System.currentTimeMillis() < deadline) {
            List<String> lines = new ArrayList<>(log);
            for (String l : lines.subList(Math.min(from, lines.size()), lines.size())) {
                Matcher m = HTTP.matcher(l);
                if (m.find() && l.contains("shardline cluster up")) return m.group(1);
            }
            Thread.sleep(200);
        }
        throw new AssertionError("up did not start" + tail(log));
    }

    private static String tail(ConcurrentLinkedQueue<String> log) {
        List<String> l = new ArrayList<>(log);
        return "\n" + String.join("\n", l.subList(Math.max(0, l.size() - 80), l.size()));
    }
}
