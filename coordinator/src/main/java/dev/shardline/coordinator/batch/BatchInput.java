package dev.shardline.coordinator.batch;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A batch input file checked as OpenAI's validation does, a pure function: every line must be a readable request
 * for the batch's endpoint with a custom_id of its own; a file with any bad line (or none at all) fails the batch
 * with an error per line (the first 100 are kept).
 *
 * @param lines  the good lines, each as {custom_id, line}
 * @param errors OpenAI batch errors ({@code code}, {@code message}, {@code param}, {@code line}); empty when valid
 */
record BatchInput(List<String[]> lines, List<Object> errors) {

    static BatchInput check(String text, String endpoint) {
        List<String[]> lines = new ArrayList<>();
        List<Object> errors = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        int lineNo = 0;
        for (String line : text.split("\n")) {
            lineNo++;
            if (line.isBlank()) continue;
            String problem = null;
            String customId = null;
            switch (BatchLine.read(line.getBytes(StandardCharsets.UTF_8))) {
                case BatchLine.Unreadable u -> problem = u.reason();
                case BatchLine.Readable r -> {
                    customId = r.customId();
                    if (r.problem() != null) problem = r.problem();
                    else if (!r.url().equals(endpoint)) problem = "url: " + r.url() + " differs from the batch's endpoint " + endpoint;
                    else if (!ids.add(customId)) problem = "custom_id: \"" + customId + "\" is used by another line";
                }
            }
            if (problem != null) {
                errors.add(Map.of("code", "invalid_request", "message", problem, "param", problem.split(":")[0], "line", lineNo));
            } else {
                lines.add(new String[]{customId, line});
            }
        }
        if (lines.isEmpty() && errors.isEmpty()) {
            errors.add(Map.of("code", "empty_file", "message", "the input file has no request lines", "param", "input_file_id",
                    "line", 0));
        }
        return new BatchInput(lines, errors.size() > 100 ? List.copyOf(errors.subList(0, 100)) : errors);
    }

    boolean valid() {
        return errors.isEmpty();
    }
}
