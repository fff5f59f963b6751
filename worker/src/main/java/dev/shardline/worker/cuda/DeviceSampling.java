package dev.shardline.worker.cuda;

import dev.shardline.model.forward.DeviceSampler;
import dev.shardline.model.kernels.Activations;
import dev.shardline.model.sampling.SampledToken;

/**
 * Worker key {@code cuda-sampling}: which tokens backend cuda chooses on the device. {@code device} (default):
 * every sequence {@link DeviceSamplingRoute} sends there, greedy and drawn; {@code greedy}: only greedy rows without
 * edits (a bias or penalty), everything drawn is sampled on the host from full logits; {@code host}: every token on
 * the host. The narrower modes are for a first GPU run that finds the draw kernel, or the argmax, at fault: the
 * worker keeps serving with the host's sampler while the kernel is fixed.
 */
public enum DeviceSampling {
    DEVICE, GREEDY, HOST;

    /** The value of the key: device, greedy or host; anything else is null. */
    public static DeviceSampling parse(String value) {
        return switch (value) {
            case "device" -> DEVICE;
            case "greedy" -> GREEDY;
            case "host" -> HOST;
            default -> null;
        };
    }

    /** The sampler a stage gets from {@code kernels} in this mode (null: the host samples every token). */
    public DeviceSampler apply(DeviceSampler kernels) {
        if (kernels == null || this == HOST) return null;
        return this == DEVICE ? kernels : new GreedyOnly(kernels);
    }

    /** The device's argmax and top log-probs, without draws. */
    private record GreedyOnly(DeviceSampler inner) implements DeviceSampler {
        @Override
        public void argmaxLogprob(Activations logits, int rows, int stride, int n, int[] ids, float[] logprobs) {
            inner.argmaxLogprob(logits, rows, stride, n, ids, logprobs);
        }

        @Override
        public int maxTopLogprobs() {
            return inner.maxTopLogprobs();
        }

        @Override
        public SampledToken[] argmaxTop(Activations logits, int rows, int stride, int n, int[] top) {
            return inner.argmaxTop(logits, rows, stride, n, top);
        }
    }
}
