package dev.shardline.worker.cuda;

import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.worker.cuda.DeviceSamplingRoute.Where;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which sequences the device samples (exactly the host's semantics) and which fall back to the host, and why. */
class DeviceSamplingRouteTest {
    private static final int VOCAB = 152_064;
    private static final SamplingParams PLAIN = SamplingParams.defaults();

    private static DeviceSamplingRoute route(SamplingParams p) {
        return DeviceSamplingRoute.of(p, VOCAB);
    }

    @Test
    void greedyAndQwqsRecommendedSettingsRunOnTheDevice() {
        assertEquals(Where.DEVICE_ARGMAX, route(SamplingParams.greedy()).where());
        assertEquals(Where.DEVICE_ARGMAX, route(SamplingParams.greedy().withMinP(0.1).withTopP(0.5)).where(),
                "greedy ignores min_p and top_p on the host too");
        assertEquals(Where.DEVICE_SAMPLE, route(SamplingParams.qwqRecommended()).where());
        assertEquals(Where.DEVICE_SAMPLE, route(PLAIN).where(), "temperature 1, nothing filtered");
        assertEquals(Where.DEVICE_SAMPLE, route(PLAIN.withTopK(1024).withTopP(0.9).withSeed(42L)).where());
        assertEquals(Where.DEVICE_SAMPLE, route(PLAIN.withTopK(VOCAB)).where(), "top_k >= vocab is off");
        assertTrue(route(PLAIN).onDevice());
        assertEquals(Where.DEVICE_ARGMAX, route(SamplingParams.greedy().withTopLogprobs(5)).where(),
                "greedy with top log-probs: argmax_top_kernel");
        assertEquals(Where.DEVICE_ARGMAX, route(SamplingParams.greedy().withTopLogprobs(20)).where());
    }

    @Test
    void minPAndTheSampledTokensLogprobRunOnTheDevice() {
        assertEquals(Where.DEVICE_SAMPLE, route(PLAIN.withMinP(0.05)).where(), "min_p without top-k");
        assertEquals(Where.DEVICE_SAMPLE, route(SamplingParams.qwqRecommended().withMinP(0.01)).where());
        assertEquals(Where.DEVICE_SAMPLE, route(PLAIN.withTopK(50).withMinP(1.0).withSeed(3L)).where());
        assertEquals(Where.DEVICE_SAMPLE, route(PLAIN.withTopLogprobs(0)).where(),
                "logprobs without top_logprobs: the sampled token's log-prob comes from the device");
        assertEquals(Where.DEVICE_SAMPLE, route(PLAIN.withTopLogprobs(20)).where(), "top log-probs beside a draw");
        assertEquals(Where.DEVICE_SAMPLE, route(SamplingParams.greedy().withPenalties(0, 0, 1.1).withTopLogprobs(3))
                .where(), "the edited argmax with top log-probs");
    }

    @Test
    void biasAndPenaltiesWithATemperatureAreDrawnOnTheDevice() {
        assertEquals(Where.DEVICE_SAMPLE, route(PLAIN.withPenalties(0.5, 0.2, 1.1)).where());
        assertEquals(Where.DEVICE_SAMPLE, route(SamplingParams.qwqRecommended().withLogitBias(Map.of(7, -100f))).where());
        assertEquals(Where.HOST, route(PLAIN.withPenalties(0.5, 0, 1).withTopP(0.9)).where(), "top_p without top_k");
        assertEquals(Where.DEVICE_SAMPLE, route(SamplingParams.greedy().withPenalties(0, 0, 1.1)).where(),
                "greedy with a penalty: the draw kernel's argmax of the edited logits");
    }

    @Test
    void whatTheDeviceDoesNotImplementGoesToTheHostNamingIt() {
        assertHost("top_p without top_k", PLAIN.withTopP(0.9).withMinP(0.05));
        assertHost("top_logprobs 21 > 20", PLAIN.withTopLogprobs(21));
        assertHost("top_logprobs 21 > 20", SamplingParams.greedy().withPenalties(0, 0, 1.1).withTopLogprobs(21));
        assertHost("top_k 1025 > 1024", PLAIN.withTopK(1025));
        assertHost("top_p without top_k", PLAIN.withTopP(0.9));
    }

    @Test
    void aLogitBiasTheHostIgnoresDoesNotForceTheHost() {
        // ids at or beyond the sampled vocabulary are ignored by the host sampler; a zero bias changes nothing
        assertEquals(Where.DEVICE_ARGMAX, DeviceSamplingRoute.of(SamplingParams.greedy()
                .withLogitBias(Map.of(VOCAB + 3, 5f, 11, 0f)), VOCAB).where());
        assertEquals(Where.DEVICE_SAMPLE, DeviceSamplingRoute.of(SamplingParams.greedy()
                .withLogitBias(Map.of(1000, 5f)), 2000).where(), "a bias that counts: the edited argmax");
        assertEquals(Where.DEVICE_ARGMAX, DeviceSamplingRoute.of(SamplingParams.greedy()
                .withLogitBias(Map.of(1000, 5f)), 1000).where());
    }

    private static void assertHost(String reason, SamplingParams p) {
        DeviceSamplingRoute r = route(p);
        assertFalse(r.onDevice(), p + " sampled on the device");
        assertEquals(reason, r.reason());
    }
}
