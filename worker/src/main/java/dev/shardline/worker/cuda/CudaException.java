package dev.shardline.worker.cuda;

/** A CUDA call failed: names the op and carries the CUDA error code and its string. */
public final class CudaException extends RuntimeException {
    private final String op;
    private final int code;

    public CudaException(String op, int code, String cudaMessage) {
        super("CUDA " + op + " failed: " + cudaMessage + " (cudaError " + code + ")");
        this.op = op;
        this.code = code;
    }

    /** Throws a CudaException for {@code op} when {@code code} is not cudaSuccess. */
    static void check(String op, int code) {
        if (code != 0) {
            throw new CudaException(op, code, CudaNative.errorString(code));
        }
    }

    public String op() {
        return op;
    }

    public int code() {
        return code;
    }
}
