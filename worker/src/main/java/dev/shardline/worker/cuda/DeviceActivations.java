package dev.shardline.worker.cuda;

import dev.shardline.model.kernels.Activations;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link Activations} in device memory: {@code length} floats (or, for a bf16 KV cache, {@code length} bf16
 * elements: {@link #bf16()}) from one cudaMalloc, zeroed at allocation, owned by the {@link CudaKernels} that
 * allocated them. Offsets and lengths count elements either way. {@link #close()} frees them once; an instance the caller forgets is
 * freed when it becomes unreachable (a Cleaner) or when its kernels close, whichever comes first.
 */
public final class DeviceActivations implements Activations {
    private static final Cleaner CLEANER = Cleaner.create();

    private final long length;
    private final boolean bf16;
    private final Memory memory;
    private final Cleaner.Cleanable cleanable;

    /** The allocation itself, shared with the Cleaner (it must not reach the DeviceActivations). */
    static final class Memory implements Runnable {
        private final AtomicLong ptr;
        private final CudaKernels owner;

        Memory(long ptr, CudaKernels owner) {
            this.ptr = new AtomicLong(ptr);
            this.owner = owner;
        }

        long ptr() {
            return ptr.get();
        }

        /** Frees once, from close, the Cleaner or the kernels' close. */
        @Override
        public void run() {
            long p = ptr.getAndSet(0);
            if (p != 0) {
                owner.forget(this);
                CudaException.check("cudaFree (activations)", CudaNative.free(p));
            }
        }
    }

    DeviceActivations(long length, Memory memory) {
        this(length, false, memory);
    }

    DeviceActivations(long length, boolean bf16, Memory memory) {
        this.length = length;
        this.bf16 = bf16;
        this.memory = memory;
        this.cleanable = CLEANER.register(this, memory);
    }

    @Override
    public long length() {
        return length;
    }

    /** The device pointer; fails once freed (0 only for a zero-length buffer). */
    long ptr() {
        long p = memory.ptr();
        if (p == 0 && length > 0) {
            throw new IllegalStateException(this + " already freed");
        }
        return p;
    }

    /** Whether the elements are bf16 (a KV cache of {@link KvDtype#BF16}), else f32. */
    boolean bf16() {
        return bf16;
    }

    /** Bytes per element: 2 (bf16) or 4. */
    int elementBytes() {
        return bf16 ? 2 : 4;
    }

    /** The element at {@code offset} as a device address, bounds-checked for {@code count} elements. */
    long at(long offset, long count, String op) {
        if (offset < 0 || count < 0 || offset + count > length) {
            throw new IndexOutOfBoundsException(op + ": elements [" + offset + ", " + (offset + count)
                    + ") outside device activations of " + length);
        }
        return ptr() + (long) elementBytes() * offset;
    }

    @Override
    public void close() {
        cleanable.clean();
    }

    @Override
    public String toString() {
        return "DeviceActivations[" + length + (bf16 ? " bf16]" : " floats]");
    }
}
