package dev.shardline.cli;

import dev.shardline.model.checkpoint.ModelDirectory;
import dev.shardline.model.json.Json;
import dev.shardline.model.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code ./shardline tokenize --model DIR TEXT}: prints the token ids of TEXT. */
@Command(name = "tokenize", mixinStandardHelpOptions = true, description = "Print the token ids of a text.")
final class TokenizeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "checkpoint directory (its tokenizer.json is used)")
    Path model;

    @Parameters(index = "0", paramLabel = "TEXT")
    String text;

    @Option(names = "--json", description = "print {\"ids\": [...], \"tokens\": [...]} as JSON")
    boolean json;

    @Override
    public Integer call() {
        Tokenizer tokenizer = Tokenizer.load(ModelDirectory.of(model).tokenizerJson());
        int[] ids = tokenizer.encode(text);
        if (json) {
            List<Object> idList = new ArrayList<>();
            List<Object> pieces = new ArrayList<>();
            for (int id : ids) {
                idList.add((long) id);
                pieces.add(tokenizer.decode(new int[]{id}));
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("ids", idList);
            m.put("tokens", pieces);
            System.out.println(Json.write(m));
        } else {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < ids.length; i++) {
                if (i > 0) sb.append(' ');
                sb.append(ids[i]);
            }
            System.out.println(sb);
        }
        return 0;
    }
}
