package dev.shardline.model.gguf;

import dev.shardline.model.checkpoint.LoadProgress;
import dev.shardline.model.checkpoint.Qwen2Tensors;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.safetensors.CheckpointException;
import dev.shardline.model.sampling.GenerationDefaults;
import dev.shardline.model.source.ModelSource;
import dev.shardline.model.source.WeightSizes;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.tokenizer.Tokenizer;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.LayerWeights;
import dev.shardline.model.weights.ModelWeights;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A Qwen2 model in GGUF: one file, split files ({@code name-00001-of-00003.gguf}, all parts found from any one), or
 * a directory holding exactly one of those. {@link #open} reads every part's header (checking that the split parts
 * agree and hold every tensor the config implies, with the right shapes) and unmaps them again; {@link #load}
 * maps only the parts that hold a range's tensors.
 */
public final class GgufModel implements ModelSource {
    private static final Pattern SPLIT = Pattern.compile("(.*)-(\\d{5})-of-(\\d{5})\\.gguf");

    private final Path path;
    private final List<Path> parts;
    private final GgufMetadata metadata;          // the first part's
    private final Map<String, Path> tensorFile;   // GGUF name -> part
    private final Map<String, GgufTensorInfo> infos;
    private final ModelConfig config;
    private Optional<Tokenizer> tokenizer;   // built on first use
    private final GenerationDefaults defaults;

    private GgufModel(Path path, List<Path> parts, GgufMetadata metadata, Map<String, Path> tensorFile,
                      Map<String, GgufTensorInfo> infos, ModelConfig config, Optional<Tokenizer> tokenizer,
                      GenerationDefaults defaults) {
        this.path = path;
        this.parts = List.copyOf(parts);
        this.metadata = metadata;
        this.tensorFile = tensorFile;
        this.infos = infos;
        this.config = config;
        this.tokenizer = tokenizer;
        this.defaults = defaults;
    }

    /** True when {@code p} is a .gguf file or a directory with .gguf files and no config.json. */
    public static boolean isGguf(Path p) {
        if (Files.isRegularFile(p)) {
            return p.getFileName().toString().endsWith(".gguf");
        }
        return Files.isDirectory(p) && !Files.exists(p.resolve("config.json")) && !ggufFiles(p).isEmpty();
    }

    /** Opens the model at {@code path} (a .gguf file, a split part, or a directory holding one model). */
    public static GgufModel open(Path path) {
        List<Path> parts = parts(path);
        Map<String, Path> tensorFile = new LinkedHashMap<>();
        Map<String, GgufTensorInfo> infos = new LinkedHashMap<>();
        GgufMetadata first = null;
        for (int i = 0; i < parts.size(); i++) {
            Path part = parts.get(i);
            try (GgufFile f = GgufFile.open(part)) {
                GgufMetadata md = new GgufMetadata(part, f.metadata());
                if (parts.size() > 1) {
                    checkSplit(md, i, parts.size());
                }
                if (first == null) {
                    first = md;
                }
                for (GgufTensorInfo t : f.tensors().values()) {
                    Path other = tensorFile.putIfAbsent(t.name(), part);
                    if (other != null) {
                        throw new CheckpointException(part + ": tensor \"" + t.name() + "\" is also in " + other);
                    }
                    infos.put(t.name(), t);
                }
            }
        }
        GgufTensorInfo embd = infos.get("token_embd.weight");
        if (embd == null) {
            throw new CheckpointException(path + ": tensor \"token_embd.weight\" is missing (is this a model, or a "
                    + "vocabulary-only GGUF?)");
        }
        boolean tied = !infos.containsKey("output.weight");
        ModelConfig config = first.qwen2Config((int) embd.shape()[0], tied);
        for (Qwen2Tensors.Spec s : Qwen2Tensors.all(config)) {
            check(path, s, infos, tensorFile);
        }
        Optional<Tokenizer> tokenizer = null;
        if (!first.optString("tokenizer.ggml.model", "none").equals("none")) {
            GgufVocabulary.check(first);   // an unsupported vocabulary fails at open, naming the key
        }
        Path generationConfig = (Files.isDirectory(path) ? path : path.toAbsolutePath().getParent())
                .resolve("generation_config.json");
        GenerationDefaults defaults = GgufSampling.defaults(generationConfig, first);
        return new GgufModel(path, parts, first, tensorFile, infos, config, tokenizer, defaults);
    }

    private static void checkSplit(GgufMetadata md, int index, int count) {
        if (md.has("split.count") && md.int32("split.count") != count) {
            throw new CheckpointException(md.file() + ": metadata \"split.count\" is " + md.int32("split.count")
                    + " but " + count + " parts were found");
        }
        if (md.has("split.no") && md.int32("split.no") != index) {
            throw new CheckpointException(md.file() + ": metadata \"split.no\" is " + md.int32("split.no")
                    + " but the file name says part " + (index + 1));
        }
    }

    private static void check(Path path, Qwen2Tensors.Spec s, Map<String, GgufTensorInfo> infos,
                              Map<String, Path> files) {
        String name = GgufNames.toGguf(s.name());
        GgufTensorInfo t = infos.get(name);
        if (t == null) {
            throw new CheckpointException(path + ": tensor \"" + name + "\" (" + s.name()
                    + ") is missing; the file's qwen2 metadata requires it");
        }
        if (!Arrays.equals(t.shape(), s.shape())) {
            throw new CheckpointException(files.get(name) + ": tensor \"" + name + "\" has shape "
                    + Arrays.toString(t.shape()) + " but the metadata implies " + Arrays.toString(s.shape()));
        }
    }

    private static List<Path> parts(Path path) {
        if (Files.isDirectory(path)) {
            List<Path> found = ggufFiles(path);
            if (found.isEmpty()) {
                throw new CheckpointException(path + ": no .gguf file in this directory");
            }
            Path firstPart = found.getFirst();
            List<Path> parts = parts(firstPart);
            if (parts.size() != found.size()) {
                throw new CheckpointException(path + ": holds " + found.size() + " .gguf files that are not the parts "
                        + "of one model (" + found.stream().map(p -> p.getFileName().toString()).toList()
                        + "); give the file with --model");
            }
            return parts;
        }
        if (!Files.isRegularFile(path)) {
            throw new CheckpointException(path + ": model file does not exist");
        }
        Matcher m = SPLIT.matcher(path.getFileName().toString());
        if (!m.matches()) {
            return List.of(path);
        }
        int count = Integer.parseInt(m.group(3));
        List<Path> parts = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            Path p = path.resolveSibling(String.format("%s-%05d-of-%05d.gguf", m.group(1), i, count));
            if (!Files.isRegularFile(p)) {
                throw new CheckpointException(p + ": split part " + i + " of " + count + " is missing");
            }
            parts.add(p);
        }
        return parts;
    }

    private static List<Path> ggufFiles(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".gguf") && Files.isRegularFile(p)).sorted().toList();
        } catch (IOException e) {
            throw new CheckpointException(dir + ": cannot list: " + e.getMessage(), e);
        }
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public String format() {
        return "gguf";
    }

    public List<Path> parts() {
        return parts;
    }

    public GgufMetadata metadata() {
        return metadata;
    }

    /** The header entry of a tensor by its Hugging Face name. */
    public GgufTensorInfo info(String hfName) {
        GgufTensorInfo t = infos.get(GgufNames.toGguf(hfName));
        if (t == null) {
            throw new CheckpointException(path + ": tensor \"" + GgufNames.toGguf(hfName) + "\" is missing");
        }
        return t;
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public GenerationDefaults generationDefaults() {
        return defaults;
    }

    @Override
    public synchronized Optional<Tokenizer> tokenizer() {
        if (tokenizer == null) {
            tokenizer = GgufVocabulary.tokenizer(metadata);
        }
        return tokenizer;
    }

    @Override
    public Optional<String> chatTemplateSource() {
        return Optional.ofNullable(metadata.optString("tokenizer.chat_template", null));
    }

    @Override
    public WeightSizes weightSizes() {
        List<Long> layers = new ArrayList<>();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            long b = 0;
            for (Qwen2Tensors.Spec s : Qwen2Tensors.layer(config, i)) {
                b += info(s.name()).byteSize();
            }
            layers.add(b);
        }
        long head = info(Qwen2Tensors.lmHead(config).name()).byteSize();
        return new WeightSizes(layers, info(Qwen2Tensors.EMBEDDING).byteSize(),
                info(Qwen2Tensors.FINAL_NORM).byteSize(), head, config.tieWordEmbeddings());
    }

    /** SHA-256 over "gguf", the config and one line per tensor ({@code name type [shape]}) in name order. */
    @Override
    public String fingerprint() {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        sha.update(("gguf\n" + new TreeMap<>(config.toJsonMap()) + "\n").getBytes(StandardCharsets.UTF_8));
        for (GgufTensorInfo t : new TreeMap<>(infos).values()) {
            sha.update((t.name() + " " + t.type() + " " + Arrays.toString(t.shape()) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** The weight types and how many tensors of each, e.g. "Q4_K x 98, Q6_K x 14, F32 x 57". */
    public String typeSummary() {
        Map<GgmlType, Integer> counts = new TreeMap<>();
        for (GgufTensorInfo t : infos.values()) {
            counts.merge(t.type(), 1, Integer::sum);
        }
        StringBuilder sb = new StringBuilder();
        counts.forEach((t, n) -> sb.append(sb.isEmpty() ? "" : ", ").append(t).append(" x ").append(n));
        return sb.toString();
    }

    @Override
    public String describe() {
        return String.format("GGUF %s (%d part%s; %s; %.2f GB of weights)", path.getFileName(), parts.size(),
                parts.size() == 1 ? "" : "s", typeSummary(), weightSizes().total() / 1e9);
    }

    @Override
    public ModelWeights load(LayerRange range, Consumer<LoadProgress> progress) {
        if (range.end() > config.numHiddenLayers()) {
            throw new CheckpointException(path + ": " + range + " is beyond the model's " + config.numHiddenLayers()
                    + " layers");
        }
        List<Qwen2Tensors.Spec> all = new ArrayList<>();
        if (range.embedding()) all.add(Qwen2Tensors.embedding(config));
        for (int i = range.start(); i < range.end(); i++) all.addAll(Qwen2Tensors.layer(config, i));
        if (range.head()) {
            all.add(Qwen2Tensors.finalNorm(config));
            if (!config.tieWordEmbeddings() || !range.embedding()) all.add(Qwen2Tensors.lmHead(config));
        }
        long bytesTotal = 0;
        for (Qwen2Tensors.Spec s : all) {
            GgufTensorInfo t = info(s.name());
            GgufFile.requireSupported(tensorFile.get(t.name()), t);   // unsupported types fail before mapping
            bytesTotal += t.byteSize();
        }
        Map<Path, GgufFile> opened = new LinkedHashMap<>();
        AutoCloseable mapping = () -> {
            for (GgufFile f : opened.values()) f.close();
        };
        long[] mapped = {0};
        try {
            java.util.function.Function<Qwen2Tensors.Spec, WeightTensor> tensor = s -> {
                String name = GgufNames.toGguf(s.name());
                GgufFile f = opened.computeIfAbsent(tensorFile.get(name), GgufFile::open);
                WeightTensor w = f.tensor(name, s.name());
                mapped[0] += w.byteSize();
                return w;
            };
            WeightTensor embedding = range.embedding() ? tensor.apply(Qwen2Tensors.embedding(config)) : null;
            List<LayerWeights> layers = new ArrayList<>();
            for (int i = range.start(); i < range.end(); i++) {
                List<WeightTensor> t = Qwen2Tensors.layer(config, i).stream().map(tensor).toList();
                layers.add(new LayerWeights(i, t.get(0), t.get(1), t.get(2), t.get(3), t.get(4), t.get(5), t.get(6),
                        t.get(7), t.get(8), t.get(9), t.get(10), t.get(11)));
                if (progress != null) {
                    progress.accept(new LoadProgress(i - range.start() + 1, range.count(), mapped[0], bytesTotal,
                            t.getLast().name()));
                }
            }
            WeightTensor norm = null;
            WeightTensor head = null;
            if (range.head()) {
                norm = tensor.apply(Qwen2Tensors.finalNorm(config));
                head = config.tieWordEmbeddings() && embedding != null ? embedding : tensor.apply(Qwen2Tensors.lmHead(config));
                if (progress != null) {
                    progress.accept(new LoadProgress(range.count(), range.count(), mapped[0], bytesTotal, head.name()));
                }
            }
            return new ModelWeights(config, range, embedding, layers, norm, head, mapping);
        } catch (RuntimeException e) {
            try {
                mapping.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }
}
