package dev.shardline.model.kernels;

/** {@link Activations} in a heap float array: what {@link HostKernels} (reference and CPU backends) compute on. */
public record HostActivations(float[] data) implements Activations {

    public HostActivations {
        if (data == null) throw new IllegalArgumentException("data is null");
    }

    @Override
    public long length() {
        return data.length;
    }

    /** The array behind {@code a}; fails clearly when a device buffer reaches a host backend. */
    public static float[] of(Activations a) {
        if (a instanceof HostActivations h) return h.data;
        throw new IllegalArgumentException("a host backend was given " + a.getClass().getSimpleName()
                + " activations; allocate them with the same backend's Kernels.allocate");
    }
}
