package dev.shardline.model.safetensors;

import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsFileTest {

    @TempDir
    Path dir;

    /** A file with the given header text (unpadded) followed by dataBytes zero bytes. */
    private Path raw(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path f = dir.resolve("w.safetensors");
        Files.write(f, b.array());
        return f;
    }

    private CheckpointException fails(Path f) {
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(f).close());
        assertTrue(e.getMessage().contains(f.toString()), "message names the file: " + e.getMessage());
        return e;
    }

    private static void assertNames(CheckpointException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message should contain \"" + p + "\": " + e.getMessage());
        }
    }

    private Path twoTensors() {
        Path f = dir.resolve("two.safetensors");
        byte[] a = new byte[12];
        for (int i = 0; i < 6; i++) {
            a[2 * i + 1] = (byte) 0x3f;       // bf16 0x3f80 = 1.0 when low byte is 0x80
            a[2 * i] = (byte) 0x80;
        }
        ByteBuffer fb = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-2f);
        SafetensorsWriter.write(f, List.of(
                new SafetensorsWriter.Tensor("a", DType.BF16, new long[]{2, 3}, SafetensorsWriter.Filler.bytes(a)),
                new SafetensorsWriter.Tensor("b", DType.F32, new long[]{2}, SafetensorsWriter.Filler.bytes(fb.array()))),
                null);
        return f;
    }

    @Test
    void writesAndReadsTensors() throws IOException {
        Path f = twoTensors();
        long n = ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + n) % 8, "header padded to 8 bytes");
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(List.of("a", "b"), List.copyOf(sf.tensors().keySet()));
            assertEquals("pt", sf.header().metadata().get("format"));
            WeightTensor a = sf.tensor("a");
            assertEquals(DType.BF16, a.dtype());
            assertArrayEquals(new long[]{2, 3}, a.shape());
            assertEquals(1.0f, a.get(5));
            WeightTensor b = sf.tensor("b");
            assertEquals(1.5f, b.get(0));
            assertEquals(-2f, b.get(1));
            assertEquals(12, sf.tensors().get("b").begin());
        }
        assertFalse(Files.exists(dir.resolve("two.safetensors.partial")));
    }

    @Test
    void unknownTensorNamesFileAndTensor() {
        Path f = twoTensors();
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> sf.tensor("nope"));
            assertNames(e, f.toString(), "\"nope\"");
        }
    }

    @Test
    void tensorAfterCloseIsAnErrorNotACrash() {
        Path f = twoTensors();
        SafetensorsFile sf = SafetensorsFile.open(f);
        sf.close();
        sf.close(); // idempotent
        assertThrows(CheckpointException.class, () -> sf.tensor("a"));
    }

    @Test
    void garbageBytes() throws IOException {
        Path f = dir.resolve("garbage.safetensors");
        byte[] junk = new byte[4096];
        new Random(7).nextBytes(junk);
        Files.write(f, junk);
        assertNames(fails(f), "header");
    }

    @Test
    void garbageHeaderWithSaneLength() throws IOException {
        assertNames(fails(raw("\u00ff\u00fe not json at all", 0)), "must start with '{'");
    }

    @Test
    void badJson() throws IOException {
        assertNames(fails(raw("{\"a\": {\"dtype\": \"BF16\", \"shape\": [1], ", 2)), "not valid JSON");
    }

    @Test
    void headerMustBeAnObjectStartingWithBrace() throws IOException {
        assertNames(fails(raw("[1, 2]  ", 0)), "must start with '{'");
    }

    @Test
    void trailingSpacesAreAllowed() throws IOException {
        Path f = raw("{\"x\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [0, 4]}}      ", 4);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(DType.F16, sf.tensor("x").dtype());
        }
    }

    @Test
    void fileShorterThanLengthField() throws IOException {
        Path f = dir.resolve("short.safetensors");
        Files.write(f, new byte[]{1, 2, 3});
        assertNames(fails(f), "truncated");
    }

    @Test
    void headerLengthBeyondFile() throws IOException {
        Path f = dir.resolve("long.safetensors");
        ByteBuffer b = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).put("{}".getBytes());
        Files.write(f, b.array());
        assertNames(fails(f), "header length 1000");
        Files.write(f, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array());
        assertNames(fails(f), "header length 18446744073709551615");
    }

    @Test
    void truncatedFile() throws IOException {
        Path f = twoTensors();
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(r.length() - 3);   // cut into tensor "b"
        }
        assertNames(fails(f), "\"b\"", "truncated");
        // the header-only reader used for shards says the same
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsHeader.read(f));
        assertNames(e, f.toString(), "\"b\"");
    }

    @Test
    void offsetsOutOfRange() throws IOException {
        assertNames(fails(raw("{\"w\": {\"dtype\": \"BF16\", \"shape\": [4], \"data_offsets\": [8, 16]}}", 8)),
                "\"w\"", "[8, 16]");
    }

    @Test
    void offsetsBackwards() throws IOException {
        assertNames(fails(raw("{\"w\": {\"dtype\": \"BF16\", \"shape\": [0], \"data_offsets\": [6, 2]}}", 8)),
                "\"w\"", "backwards");
    }

    @Test
    void sizeDisagreesWithShape() throws IOException {
        assertNames(fails(raw("{\"w\": {\"dtype\": \"BF16\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8)),
                "\"w\"", "needs 6");
    }

    @Test
    void negativeOrHugeShape() throws IOException {
        assertNames(fails(raw("{\"w\": {\"dtype\": \"BF16\", \"shape\": [-2], \"data_offsets\": [0, 0]}}", 0)),
                "\"w\"", "non-negative");
        assertNames(fails(raw("{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], "
                + "\"data_offsets\": [0, 0]}}", 0)), "\"w\"", "too large");
    }

    @Test
    void unsupportedDtype() throws IOException {
        assertNames(fails(raw("{\"q\": {\"dtype\": \"I8\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 4)),
                "\"q\"", "\"I8\"");
    }

    @Test
    void overlappingTensors() throws IOException {
        assertNames(fails(raw("{\"a\": {\"dtype\": \"BF16\", \"shape\": [4], \"data_offsets\": [0, 8]},"
                + " \"b\": {\"dtype\": \"BF16\", \"shape\": [4], \"data_offsets\": [6, 14]}}", 16)), "\"a\"", "\"b\"", "overlap");
    }

    @Test
    void duplicateTensorName() throws IOException {
        assertNames(fails(raw("{\"a\": {\"dtype\": \"BF16\", \"shape\": [1], \"data_offsets\": [0, 2]},"
                + " \"a\": {\"dtype\": \"BF16\", \"shape\": [1], \"data_offsets\": [2, 4]}}", 4)), "\"a\"", "twice");
    }

    @Test
    void badMetadataAndEntries() throws IOException {
        assertNames(fails(raw("{\"__metadata__\": [1]}", 0)), "__metadata__");
        assertNames(fails(raw("{\"w\": {\"shape\": [1], \"data_offsets\": [0, 2]}}", 2)), "\"w\"", "dtype");
        assertNames(fails(raw("{\"w\": {\"dtype\": \"BF16\", \"shape\": [1], \"data_offsets\": [0]}}", 2)),
                "\"w\"", "data_offsets");
    }

    @Test
    void invalidUtf8() throws IOException {
        Path f = dir.resolve("utf.safetensors");
        byte[] h = {'{', '"', (byte) 0xc3, (byte) 0x28, '"', ':', '1', '}'};
        ByteBuffer b = ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h);
        Files.write(f, b.array());
        assertNames(fails(f), "UTF-8");
    }
}
