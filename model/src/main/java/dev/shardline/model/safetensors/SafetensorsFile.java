package dev.shardline.model.safetensors;

import dev.shardline.model.tensor.WeightTensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * A safetensors file mapped read-only into memory. The header is validated against the file size before any tensor
 * is handed out, so a truncated or corrupt file gives a {@link CheckpointException} instead of a SIGBUS or wrong
 * numbers. Tensors are slices of the mapping; the mapping lives in a shared arena (several threads read it) until
 * {@link #close()}, after which those tensors must not be used.
 */
public final class SafetensorsFile implements AutoCloseable {
    private static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path file;
    private final Arena arena;
    private final MemorySegment mapped;
    private final SafetensorsHeader header;
    private volatile boolean closed;

    private SafetensorsFile(Path file, Arena arena, MemorySegment mapped, SafetensorsHeader header) {
        this.file = file;
        this.arena = arena;
        this.mapped = mapped;
        this.header = header;
    }

    /** Maps the file and validates its header. */
    public static SafetensorsFile open(Path file) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            SafetensorsHeader.checkFileSize(file, size);
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long n = mapped.get(LONG_LE, 0);
            SafetensorsHeader.checkHeaderLength(file, size, n);
            byte[] headerBytes = mapped.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
            SafetensorsHeader header = SafetensorsHeader.parse(file, size, n, headerBytes);
            return new SafetensorsFile(file, arena, mapped, header);
        } catch (IOException e) {
            arena.close();
            throw new CheckpointException(file + ": cannot map safetensors file: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path file() {
        return file;
    }

    public SafetensorsHeader header() {
        return header;
    }

    /** All tensors of the file, in header order. */
    public Map<String, TensorEntry> tensors() {
        return header.tensors();
    }

    public boolean has(String name) {
        return header.tensors().containsKey(name);
    }

    /** Size of the mapping (the whole file) in bytes. */
    public long byteSize() {
        return mapped.byteSize();
    }

    /** The named tensor as a slice of the mapping. */
    public WeightTensor tensor(String name) {
        if (closed) {
            throw new CheckpointException(file + ": tensor \"" + name + "\" requested after the file was closed");
        }
        TensorEntry e = header.tensors().get(name);
        if (e == null) {
            throw new CheckpointException(file + ": tensor \"" + name + "\" is not in this file");
        }
        MemorySegment data = mapped.asSlice(header.dataStart() + e.begin(), e.byteSize());
        return new WeightTensor(name, e.dtype(), e.shape(), data);
    }

    /** Unmaps the file. Idempotent. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + file + ", " + header.tensors().size() + " tensors]";
    }
}
