package dev.shardline.model.chat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

/**
 * Turns a conversation into the prompt text the model was trained on. This is the QwQ-32B Jinja chat template
 * (resource {@code qwq-chat-template.jinja}, a verbatim copy) rewritten as plain Java, so no template engine is
 * needed; the output must equal transformers' {@code apply_chat_template(..., tokenize=False)} byte for byte.
 *
 * <p>What the template does (and therefore this class):
 * <ul>
 *   <li>No default system prompt. With tools, one system turn holds the first system message (or nothing) followed
 *       by the "# Tools" block with one {@code tool | tojson} line per tool.</li>
 *   <li>Every assistant message except the last one keeps only the text after its last {@code </think>}, with
 *       leading newlines removed (thinking is not kept in history).</li>
 *   <li>Tool calls render as {@code <tool_call>} blocks with {@code arguments | tojson}.</li>
 *   <li>Consecutive tool messages share one user turn of {@code <tool_response>} blocks.</li>
 *   <li>The generation prompt is {@code <|im_start|>assistant\n<think>\n}, so generation starts inside the
 *       thinking block (see {@link ReasoningParser}).</li>
 * </ul>
 * The rendered text is meant to be tokenized with special-token recognition on and no BOS.
 */
public final class ChatTemplate {
    private static final String RESOURCE = "qwq-chat-template.jinja";
    private static final Set<String> ROLES = Set.of(
            ChatMessage.SYSTEM, ChatMessage.USER, ChatMessage.ASSISTANT, ChatMessage.TOOL);

    static final String TOOLS_HEADER = "\n\n# Tools\n\nYou may call one or more functions to assist with the user query."
            + "\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>";
    static final String TOOLS_FOOTER = "\n</tools>\n\nFor each function call, return a json object with function name"
            + " and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
            + "{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n";
    /** What the generation prompt appends; the model's output starts inside the thinking block. */
    public static final String GENERATION_PROMPT = "<|im_start|>assistant\n<think>\n";

    private ChatTemplate() {
    }

    /** The QwQ-32B template. */
    public static ChatTemplate qwq() {
        return new ChatTemplate();
    }

    /** The verbatim Jinja source of the QwQ-32B template (for tokenizer_config.json's {@code chat_template}). */
    public static String qwqJinjaSource() {
        try (InputStream in = ChatTemplate.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + RESOURCE + " missing from the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading resource " + RESOURCE, e);
        }
    }

    /**
     * Renders a conversation.
     *
     * @param messages            at least one message
     * @param tools               JSON-able tool definitions (Map/List trees, see {@link PyJson}); null or empty = none
     * @param addGenerationPrompt append {@link #GENERATION_PROMPT}
     * @throws ChatTemplateException on an empty conversation or an unknown role (naming the message index)
     */
    public String render(List<ChatMessage> messages, List<?> tools, boolean addGenerationPrompt) {
        if (messages == null || messages.isEmpty()) {
            throw new ChatTemplateException("chat template: the conversation has no messages");
        }
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage m = messages.get(i);
            if (m == null) {
                throw new ChatTemplateException("chat template: message " + i + " is null");
            }
            if (!ROLES.contains(m.role())) {
                throw new ChatTemplateException("chat template: message " + i + " has unknown role \"" + m.role()
                        + "\" (expected system, user, assistant or tool)");
            }
        }
        StringBuilder sb = new StringBuilder();
        boolean firstIsSystem = messages.getFirst().role().equals(ChatMessage.SYSTEM);
        if (tools != null && !tools.isEmpty()) {
            sb.append("<|im_start|>system\n");
            if (firstIsSystem) {
                sb.append(messages.getFirst().content());
            }
            sb.append(TOOLS_HEADER);
            for (Object tool : tools) {
                sb.append('\n').append(PyJson.dumps(tool));
            }
            sb.append(TOOLS_FOOTER);
        } else if (firstIsSystem) {
            sb.append("<|im_start|>system\n").append(messages.getFirst().content()).append("<|im_end|>\n");
        }
        int n = messages.size();
        for (int i = 0; i < n; i++) {
            ChatMessage m = messages.get(i);
            boolean last = i == n - 1;
            switch (m.role()) {
                case ChatMessage.USER, ChatMessage.SYSTEM -> {
                    if (i > 0 || m.role().equals(ChatMessage.USER)) {
                        sb.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
                    }
                }
                case ChatMessage.ASSISTANT -> {
                    String content = last ? m.content() : stripThinking(m.content());
                    if (m.toolCalls().isEmpty()) {
                        sb.append("<|im_start|>assistant\n").append(content).append("<|im_end|>\n");
                    } else {
                        sb.append("<|im_start|>assistant");
                        if (!m.content().isEmpty()) { // the template tests message.content, then prints content
                            sb.append('\n').append(content);
                        }
                        for (ToolCall call : m.toolCalls()) {
                            sb.append("\n<tool_call>\n{\"name\": \"").append(call.name()).append("\", \"arguments\": ")
                                    .append(PyJson.dumps(call.arguments())).append("}\n</tool_call>");
                        }
                        sb.append("<|im_end|>\n");
                    }
                }
                case ChatMessage.TOOL -> {
                    if (i == 0 || !messages.get(i - 1).role().equals(ChatMessage.TOOL)) {
                        sb.append("<|im_start|>user");
                    }
                    sb.append("\n<tool_response>\n").append(m.content()).append("\n</tool_response>");
                    if (last || !messages.get(i + 1).role().equals(ChatMessage.TOOL)) {
                        sb.append("<|im_end|>\n");
                    }
                }
                default -> throw new IllegalStateException("unreachable: role " + m.role());
            }
        }
        if (addGenerationPrompt) {
            sb.append(GENERATION_PROMPT);
        }
        return sb.toString();
    }

    /** {@code content.split('</think>')[-1].lstrip('\n')}: the text after the last {@code </think>}. */
    static String stripThinking(String content) {
        int at = content.lastIndexOf(ReasoningParser.THINK_END);
        String tail = at < 0 ? content : content.substring(at + ReasoningParser.THINK_END.length());
        int start = 0;
        while (start < tail.length() && tail.charAt(start) == '\n') {
            start++;
        }
        return tail.substring(start);
    }
}
