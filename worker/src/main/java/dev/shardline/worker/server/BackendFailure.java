package dev.shardline.worker.server;

import dev.shardline.worker.cuda.CudaException;
import dev.shardline.worker.cuda.CudaRuntime;

/** Tells a step's ordinary failure (bad input: reported, the stage keeps serving) from a backend that is gone. */
final class BackendFailure {

    private BackendFailure() {
    }

    /**
     * The message of a failure the backend cannot recover from (a sticky CUDA error anywhere in {@code e}'s causes,
     * or one this process saw before), or null for an ordinary step failure.
     */
    static String of(RuntimeException e, String backend) {
        CudaException fatal = CudaException.fatalIn(e);
        if (fatal != null) return fatal.getMessage();
        if (backend.equals("cuda")) return CudaRuntime.fatalError();
        return null;
    }
}
