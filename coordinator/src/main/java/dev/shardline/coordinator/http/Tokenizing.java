package dev.shardline.coordinator.http;

import dev.shardline.coordinator.generation.GenerationException;
import dev.shardline.coordinator.generation.ServedModel;
import dev.shardline.model.chat.ChatTemplateException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * vLLM's {@code POST /tokenize} ({@code prompt}, or {@code messages} rendered by the chat template) and
 * {@code POST /detokenize} ({@code tokens}), with the served model's tokenizer.
 */
final class Tokenizing {

    static Map<String, Object> tokenize(Body body, ServedModel model) {
        body.allowOnly(Set.of("model", "prompt", "messages", "tools", "add_generation_prompt", "add_special_tokens"), Map.of());
        checkModel(body, model);
        body.optBool("add_special_tokens", true);          // Qwen adds none either way
        String text;
        if (body.has("messages")) {
            List<Object> tools = body.has("tools") ? body.list("tools") : List.of();
            try {
                text = model.chatTemplate().render(ChatRequests.messages(body), tools, body.optBool("add_generation_prompt", true));
            } catch (ChatTemplateException e) {
                throw ApiError.invalid("messages", e.getMessage()).exception();
            }
        } else {
            text = body.string("prompt");
        }
        int[] ids = model.tokenizer().encode(text);
        List<Integer> tokens = new ArrayList<>(ids.length);
        for (int id : ids) tokens.add(id);
        return Shapes.obj("count", ids.length, "max_model_len", model.config().maxPositionEmbeddings(), "tokens", tokens,
                "token_strs", null);
    }

    static Map<String, Object> detokenize(Body body, ServedModel model) {
        body.allowOnly(Set.of("model", "tokens"), Map.of());
        checkModel(body, model);
        List<Integer> ids = body.ids("tokens");
        int vocab = model.config().vocabSize();
        int[] a = new int[ids.size()];
        for (int i = 0; i < a.length; i++) {
            if (ids.get(i) >= vocab) {
                throw ApiError.invalid("tokens[" + i + "]", "token id " + ids.get(i) + " is outside the vocabulary [0, "
                        + vocab + ")").exception();
            }
            a[i] = ids.get(i);
        }
        return Shapes.obj("prompt", model.tokenizer().decode(a));
    }

    private static void checkModel(Body body, ServedModel model) {
        String m = body.optString("model", "");
        if (!m.isEmpty() && !m.equals(model.id())) {
            throw new GenerationException.ModelNotFound("the model \"" + m + "\" does not exist; this cluster serves \""
                    + model.id() + "\"");
        }
    }

    private Tokenizing() {
    }
}
