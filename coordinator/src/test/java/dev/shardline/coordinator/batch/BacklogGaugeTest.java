package dev.shardline.coordinator.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class BacklogGaugeTest {

    @Test
    void estimatesPromptFromBodyBytesPlusMaxTokens() {
        String body = "{\"custom_id\":\"a\",\"body\":{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],\"max_tokens\": 250}}";
        assertEquals(body.length() / 4 + 250, BacklogGauge.estimate(body.getBytes(StandardCharsets.UTF_8)));
        String completion = "{\"body\":{\"prompt\":\"x\",\"max_completion_tokens\":7}}";
        assertEquals(completion.length() / 4 + 7, BacklogGauge.estimate(completion.getBytes(StandardCharsets.UTF_8)));
        assertEquals(1, BacklogGauge.estimate("{}".getBytes(StandardCharsets.UTF_8)), "at least one prompt token");
        String huge = "{\"max_tokens\":99999999999}";
        assertEquals(huge.length() / 4, BacklogGauge.estimate(huge.getBytes(StandardCharsets.UTF_8)),
                "an absurd max_tokens is not counted");
    }
}
