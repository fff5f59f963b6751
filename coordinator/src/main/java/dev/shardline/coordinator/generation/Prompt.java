package dev.shardline.coordinator.generation;

import dev.shardline.model.chat.ChatMessage;

import java.util.List;

/** What a request generates from: raw text, token ids, or a conversation rendered by the model's chat template. */
public sealed interface Prompt {

    /** Text tokenized by the model's tokenizer (special-token strings become their ids). */
    record Text(String text) implements Prompt {
    }

    /** Token ids used as they are. */
    record Tokens(int[] ids) implements Prompt {
        public Tokens {
            ids = ids.clone();
        }

        @Override
        public int[] ids() {
            return ids.clone();
        }
    }

    /**
     * A conversation (oldest first) and the tools the model may call (each an OpenAI function schema, parsed JSON),
     * rendered with a generation prompt; {@code assistantPrefix} (may be empty) is appended after it, so the model
     * continues that text (e.g. a forced {@code <tool_call>} opening).
     */
    record Chat(List<ChatMessage> messages, List<Object> tools, String assistantPrefix) implements Prompt {
        public Chat {
            messages = List.copyOf(messages);
            tools = List.copyOf(tools);
            assistantPrefix = assistantPrefix == null ? "" : assistantPrefix;
        }

        public Chat(List<ChatMessage> messages) {
            this(messages, List.of(), "");
        }
    }
}
