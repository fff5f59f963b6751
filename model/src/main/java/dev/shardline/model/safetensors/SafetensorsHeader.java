package dev.shardline.model.safetensors;

import dev.shardline.model.json.Json;
import dev.shardline.model.json.JsonException;
import dev.shardline.model.tensor.DType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The validated header of a safetensors file: every tensor's dtype, shape and byte range, checked against the file
 * size so that nothing is ever read outside the file. Layout: 8 bytes little-endian header length N, N bytes of UTF-8
 * JSON starting with '{' (trailing spaces allowed), then the data area that the tensors' data_offsets point into.
 */
public record SafetensorsHeader(Path file, long headerLength, long fileSize, Map<String, TensorEntry> tensors,
                                Map<String, String> metadata) {

    /** Headers above this size are treated as corrupt (real ones are well under 1 MB). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    public SafetensorsHeader {
        tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** Offset in the file of the data area. */
    public long dataStart() {
        return 8 + headerLength;
    }

    /** Bytes in the data area. */
    public long dataSize() {
        return fileSize - 8 - headerLength;
    }

    /** Reads and validates only the header, without mapping the file (used to scan the shards of an index). */
    public static SafetensorsHeader read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            checkFileSize(file, size);
            readFully(ch, lenBuf, 0);
            long n = lenBuf.getLong(0);
            checkHeaderLength(file, size, n);
            ByteBuffer headerBuf = ByteBuffer.allocate((int) n);
            readFully(ch, headerBuf, 8);
            return parse(file, size, n, headerBuf.array());
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read safetensors header: " + e.getMessage(), e);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            int r = ch.read(buf, position + buf.position());
            if (r < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    static void checkFileSize(Path file, long size) {
        if (size < 8) {
            throw new CheckpointException(file + ": not a safetensors file: " + size
                    + " bytes, shorter than the 8-byte header length (truncated?)");
        }
    }

    static void checkHeaderLength(Path file, long fileSize, long n) {
        if (n < 2 || n > fileSize - 8 || n > MAX_HEADER_BYTES) {
            throw new CheckpointException(file + ": corrupt safetensors header: header length " + Long.toUnsignedString(n)
                    + " does not fit a file of " + fileSize + " bytes (limit " + MAX_HEADER_BYTES
                    + "); the file is truncated or not a safetensors file");
        }
    }

    /** Parses and validates header bytes; fileSize and n are already known to be consistent. */
    static SafetensorsHeader parse(Path file, long fileSize, long n, byte[] headerBytes) {
        if (headerBytes.length == 0 || headerBytes[0] != '{') {
            throw new CheckpointException(file + ": corrupt safetensors header: it must start with '{'"
                    + (headerBytes.length > 0 ? String.format(", found byte 0x%02x", headerBytes[0] & 0xff) : ""));
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(headerBytes)).toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointException(file + ": corrupt safetensors header: not valid UTF-8", e);
        }
        Map<String, Object> json;
        try {
            json = Json.parseObject(text);
        } catch (JsonException e) {
            String msg = e.getMessage();
            if (msg.startsWith("duplicate key")) {
                throw new CheckpointException(file + ": corrupt safetensors header: a tensor is listed twice ("
                        + msg + ")", e);
            }
            throw new CheckpointException(file + ": corrupt safetensors header: not valid JSON: " + msg, e);
        }
        long dataSize = fileSize - 8 - n;
        Map<String, TensorEntry> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : json.entrySet()) {
            if (e.getKey().equals("__metadata__")) {
                readMetadata(file, e.getValue(), metadata);
            } else {
                tensors.put(e.getKey(), entry(file, e.getKey(), e.getValue(), dataSize));
            }
        }
        checkNoOverlap(file, tensors);
        return new SafetensorsHeader(file, n, fileSize, tensors, metadata);
    }

    private static void readMetadata(Path file, Object value, Map<String, String> out) {
        if (!(value instanceof Map<?, ?> m)) {
            throw new CheckpointException(file + ": corrupt safetensors header: \"__metadata__\" must be an object, found "
                    + Json.typeName(value));
        }
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!(e.getValue() instanceof String s)) {
                throw new CheckpointException(file + ": corrupt safetensors header: \"__metadata__\" field \""
                        + e.getKey() + "\" must be a string");
            }
            out.put((String) e.getKey(), s);
        }
    }

    private static TensorEntry entry(Path file, String name, Object value, long dataSize) {
        String where = file + ": tensor \"" + name + "\": ";
        if (!(value instanceof Map<?, ?> m)) {
            throw new CheckpointException(where + "header entry must be an object, found " + Json.typeName(value));
        }
        if (!(m.get("dtype") instanceof String dtypeName)) {
            throw new CheckpointException(where + "header entry has no string \"dtype\"");
        }
        DType dtype = DType.fromSafetensors(dtypeName);
        if (dtype == null) {
            throw new CheckpointException(where + "dtype \"" + dtypeName + "\" is not supported (Shardline reads BF16, F16, F32)");
        }
        long[] shape = longs(where, "shape", m.get("shape"), -1);
        long[] offsets = longs(where, "data_offsets", m.get("data_offsets"), 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end) {
            throw new CheckpointException(where + "data_offsets [" + begin + ", " + end + "] run backwards");
        }
        if (end > dataSize) {
            throw new CheckpointException(where + "data_offsets [" + begin + ", " + end + "] end beyond the data area of "
                    + dataSize + " bytes (the file is truncated or the header is corrupt)");
        }
        long expected;
        try {
            expected = dtype.bytes();
            for (long d : shape) {
                expected = Math.multiplyExact(expected, d);
            }
        } catch (ArithmeticException overflow) {
            throw new CheckpointException(where + "shape " + java.util.Arrays.toString(shape) + " is too large");
        }
        if (end - begin != expected) {
            throw new CheckpointException(where + "data_offsets [" + begin + ", " + end + "] hold " + (end - begin)
                    + " bytes but shape " + java.util.Arrays.toString(shape) + " " + dtype + " needs " + expected);
        }
        return new TensorEntry(name, dtype, shape, begin, end);
    }

    private static long[] longs(String where, String field, Object value, int requiredLength) {
        if (!(value instanceof List<?> list)) {
            throw new CheckpointException(where + "header entry has no array \"" + field + "\"");
        }
        if (requiredLength >= 0 && list.size() != requiredLength) {
            throw new CheckpointException(where + "\"" + field + "\" must have " + requiredLength + " elements, found "
                    + list.size());
        }
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(list.get(i) instanceof Long l) || l < 0) {
                throw new CheckpointException(where + "\"" + field + "\" must hold non-negative integers, found "
                        + Json.write(value));
            }
            out[i] = l;
        }
        return out;
    }

    private static void checkNoOverlap(Path file, Map<String, TensorEntry> tensors) {
        List<TensorEntry> sorted = new ArrayList<>();
        for (TensorEntry t : tensors.values()) {
            if (t.byteSize() > 0) {
                sorted.add(t);
            }
        }
        sorted.sort(Comparator.comparingLong(TensorEntry::begin));
        for (int i = 1; i < sorted.size(); i++) {
            TensorEntry prev = sorted.get(i - 1);
            TensorEntry cur = sorted.get(i);
            if (cur.begin() < prev.end()) {
                throw new CheckpointException(file + ": tensor \"" + cur.name() + "\": data_offsets [" + cur.begin()
                        + ", " + cur.end() + "] overlap tensor \"" + prev.name() + "\" [" + prev.begin() + ", "
                        + prev.end() + "]");
            }
        }
    }
}
