package dev.shardline.worker.cuda;

import dev.shardline.model.sampling.SampledToken;
import dev.shardline.model.sampling.Sampler;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.sampling.TokenLogprob;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The greedy-with-top-log-probs contract without a GPU: the kernel's output as {@link ArgmaxTopSimulation} computes
 * it, decoded by {@link DeviceTopLogprobs}, equals the host {@code Sampler.score} (ids exactly, log-probs within
 * 1e-6 x max(1, |log-prob|): the device sums exps in double, the host in float) on rows with ties, infinities and
 * single zeros; the rows where the key order and the host's heap part ways (a NaN, both zeros at the last place)
 * are declined, and on each of them the undeclined answer would indeed be wrong.
 */
class DeviceTopLogprobsTest {

    private static SampledToken host(float[] row, int n, int top) {
        SamplingParams p = SamplingParams.greedy().withTopLogprobs(top);
        int id = new Sampler(SamplingParams.greedy()).choose(row, 0, n,
                dev.shardline.model.sampling.TokenHistory.ofPrompt(new int[] {0})).id();
        return new Sampler(p).score(id, row, 0, n);
    }

    private static SampledToken device(float[] row, int stride, int n, int top, int want) {
        return DeviceTopLogprobs.decode(ArgmaxTopSimulation.run(row, 1, stride, n, top), 0, top, want);
    }

    private static void assertSame(SampledToken want, SampledToken got, String what) {
        assertNotNull(got, what + ": declined");
        assertEquals(want.id(), got.id(), what + ": id");
        assertClose(want.logprob(), got.logprob(), what + ": log-prob");
        assertEquals(want.topLogprobs().size(), got.topLogprobs().size(), what + ": top size");
        for (int j = 0; j < want.topLogprobs().size(); j++) {
            TokenLogprob a = want.topLogprobs().get(j);
            TokenLogprob b = got.topLogprobs().get(j);
            assertEquals(a.id(), b.id(), what + ": top " + j + " id");
            assertClose(a.logprob(), b.logprob(), what + ": top " + j + " log-prob");
        }
    }

    private static void assertClose(float want, float got, String what) {
        if (Float.isInfinite(want) || want == 0f) {
            assertEquals(want, got, what);
        } else {
            assertEquals(want, got, 1e-6 * Math.max(1, Math.abs(want)), what);
        }
    }

    @Test
    void randomRowsWithTiesAndInfinitiesGiveTheHostSamplersAnswer() {
        Random random = new Random(14);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + random.nextInt(400);
            int stride = n + random.nextInt(5);
            float[] row = new float[stride];
            for (int i = 0; i < stride; i++) row[i] = (float) Math.round(random.nextGaussian() * 6) / 2;  // ties
            if (trial % 7 == 0) row[random.nextInt(n)] = Float.NEGATIVE_INFINITY;
            if (trial % 11 == 0) row[random.nextInt(n)] = Float.POSITIVE_INFINITY;
            if (trial % 13 == 0) java.util.Arrays.fill(row, 0, n, Float.NEGATIVE_INFINITY);
            if (stride > n) row[n] = 1e9f;                                   // beyond n: never chosen
            for (int i = 0; i < n; i++) if (row[i] == 0f) row[i] = 0f;       // one sign of zero (+0)
            int top = 1 + random.nextInt(Math.min(20, n));
            int want = random.nextInt(top + 1);
            assertSame(host(row, n, want), device(row, stride, n, top, want), "trial " + trial + " (n " + n
                    + ", top " + top + ", want " + want + ")");
        }
    }

    @Test
    void aNanRowIsDeclinedWhereTheHostsHeapWouldDiffer() {
        float[] row = {1f, 2f, 3f, 0.5f, 0.25f, Float.NaN, 4f};
        // the host's heap of 3 fills with ids 0..2, skips the later NaN: [6, 2, 1], every log-prob -inf
        SampledToken h = host(row, 7, 3);
        assertEquals(List.of(6, 2, 1), h.topLogprobs().stream().map(TokenLogprob::id).toList());
        int[] raw = ArgmaxTopSimulation.run(row, 1, 7, 7, 3);
        assertEquals(5, raw[DeviceTopLogprobs.HEADER], "the key order puts the NaN first: it cannot be used");
        assertNull(DeviceTopLogprobs.decode(raw, 0, 3, 3));
        SampledToken plain = DeviceTopLogprobs.decode(raw, 0, 3, 0);
        assertEquals(h.id(), plain.id(), "without alternatives the NaN row stays on the device");
        assertEquals(Float.NEGATIVE_INFINITY, plain.logprob());
    }

    @Test
    void bothZerosAtTheLastPlaceAreDeclinedWhereTheHostsHeapWouldDiffer() {
        float[] row = {-0.0f, 0.0f, -1f, 2f};
        SampledToken h = host(row, 4, 2);                  // heap: [-0 (0), +0 (1)] -> 2 evicts -0 (0): [3, 1]
        assertEquals(List.of(3, 1), h.topLogprobs().stream().map(TokenLogprob::id).toList());
        float[] tie = {-0.0f, 0.0f, -1f, -2f};
        SampledToken ht = host(tie, 4, 1);                 // heap of 1 keeps -0 (0): +0 is not greater
        int[] raw = ArgmaxTopSimulation.run(tie, 1, 4, 4, 1);
        assertNotEquals(ht.topLogprobs().get(0).id(), raw[DeviceTopLogprobs.HEADER], "the key order takes +0 (1)");
        assertNull(DeviceTopLogprobs.decode(raw, 0, 1, 1));
        assertNull(device(row, 4, 4, 2, 2), "both signs with a zero at the last place: declined even where equal");
        float[] plus = {0.0f, 0.0f, -1f, 2f};
        assertSame(host(plus, 4, 2), device(plus, 4, 4, 2, 2), "a zero at the last place, one sign only");
        float[] far = {-0.0f, 0.0f, 5f, 7f};
        assertSame(host(far, 4, 2), device(far, 4, 4, 2, 2), "zeros below the last place");
        assertTrue(device(far, 4, 4, 3, 3) == null, "a zero at the last place with both signs present");
    }
}
