package dev.shardline.worker.cuda;

/**
 * A CUDA call failed: names the op, carries the CUDA error code and its string and, for a kernel fault found later
 * than its launch, the op launched last before it ({@link CudaErrors#describe}). A {@link #fatal()} error (sticky)
 * raised by a CUDA call marks this process's CUDA context unusable ({@link CudaRuntime#fatalError()}).
 */
public final class CudaException extends RuntimeException {
    private final String op;
    private final int code;

    public CudaException(String op, int code, String cudaMessage) {
        this(op, code, cudaMessage, null, false);
    }

    CudaException(String op, int code, String cudaMessage, String lastLaunch, boolean syncEachLaunch) {
        super(CudaErrors.describe(op, code, cudaMessage, lastLaunch, syncEachLaunch));
        this.op = op;
        this.code = code;
    }

    /**
     * Throws a CudaException for {@code op} when {@code code} is not cudaSuccess; a sticky code also marks this
     * process's CUDA context unusable ({@link CudaRuntime#fatalError()}).
     */
    static void check(String op, int code) {
        if (code != 0) {
            throw CudaRuntime.seen(new CudaException(op, code, CudaNative.errorString(code)));
        }
    }

    public String op() {
        return op;
    }

    public int code() {
        return code;
    }

    /** Sticky: the CUDA context is corrupted, nothing on this GPU works again in this process. */
    public boolean fatal() {
        return CudaErrors.sticky(code);
    }

    /** The fatal CudaException in {@code t}'s cause chain, or null. */
    public static CudaException fatalIn(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof CudaException e && e.fatal()) return e;
        }
        return null;
    }
}
