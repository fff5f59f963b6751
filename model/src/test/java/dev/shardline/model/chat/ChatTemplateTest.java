package dev.shardline.model.chat;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChatTemplateTest {
    private final ChatTemplate qwq = ChatTemplate.qwq();

    @Test
    void singleUserTurnWithGenerationPrompt() {
        String out = qwq.render(List.of(ChatMessage.user("Hi")), List.of(), true);
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n", out);
    }

    @Test
    void withoutGenerationPrompt() {
        String out = qwq.render(List.of(ChatMessage.user("Hi"), ChatMessage.assistant("Hello!")), null, false);
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n", out);
    }

    @Test
    void systemAndUser() {
        String out = qwq.render(List.of(ChatMessage.system("Be brief."), ChatMessage.user("2+2?")), List.of(), true);
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
                + "<|im_start|>assistant\n<think>\n", out);
    }

    @Test
    void laterSystemMessageIsAnOrdinaryTurn() {
        String out = qwq.render(List.of(ChatMessage.user("a"), ChatMessage.system("b")), List.of(), false);
        assertEquals("<|im_start|>user\na<|im_end|>\n<|im_start|>system\nb<|im_end|>\n", out);
    }

    @Test
    void thinkingIsDroppedFromEarlierAssistantTurnsOnly() {
        List<ChatMessage> messages = List.of(
                ChatMessage.user("Q1"),
                ChatMessage.assistant("Let me think.\n</think>\n\nA1"),
                ChatMessage.user("Q2"),
                ChatMessage.assistant("<think>x</think>y</think>\n\n\nA2 kept\n"),
                ChatMessage.user("Q3"),
                ChatMessage.assistant("still thinking\n</think>\n\nA3"));
        String out = qwq.render(messages, List.of(), false);
        assertEquals("<|im_start|>user\nQ1<|im_end|>\n"
                + "<|im_start|>assistant\nA1<|im_end|>\n"
                + "<|im_start|>user\nQ2<|im_end|>\n"
                + "<|im_start|>assistant\nA2 kept\n<|im_end|>\n"
                + "<|im_start|>user\nQ3<|im_end|>\n"
                + "<|im_start|>assistant\nstill thinking\n</think>\n\nA3<|im_end|>\n", out);
    }

    @Test
    void toolsBlockInTheSystemTurn() {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("type", "object");
        params.put("properties", Map.of("city", Map.of("type", "string")));
        params.put("required", List.of("city"));
        Map<String, Object> function = new LinkedHashMap<>();
        function.put("name", "get_weather");
        function.put("description", "Météo \"now\"\n");
        function.put("parameters", params);
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("type", "function");
        tool.put("function", function);
        Map<String, Object> tool2 = new LinkedHashMap<>();
        tool2.put("name", "noop");
        tool2.put("n", 1);
        tool2.put("x", 1e-5);
        tool2.put("ok", true);
        tool2.put("none", null);

        String out = qwq.render(List.of(ChatMessage.system("You help."), ChatMessage.user("Weather?")),
                List.of(tool, tool2), true);
        String expected = "<|im_start|>system\nYou help.\n\n# Tools\n\nYou may call one or more functions to assist with"
                + " the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
                + "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Météo \\\"now\\\"\\n\","
                + " \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}},"
                + " \"required\": [\"city\"]}}}\n"
                + "{\"name\": \"noop\", \"n\": 1, \"x\": 1e-05, \"ok\": true, \"none\": null}\n"
                + "</tools>\n\nFor each function call, return a json object with function name and arguments within"
                + " <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\":"
                + " <args-json-object>}\n</tool_call><|im_end|>\n"
                + "<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n<think>\n";
        assertEquals(expected, out);
    }

    @Test
    void toolsWithoutSystemMessageStillOpenASystemTurn() {
        String out = qwq.render(List.of(ChatMessage.user("u")), List.of(Map.of("name", "f")), false);
        assertTrue(out.startsWith("<|im_start|>system\n\n\n# Tools\n\n"), out);
        assertTrue(out.endsWith("<tools>\n{\"name\": \"f\"}\n</tools>\n\nFor each function call, return a json object"
                + " with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\":"
                + " <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n"
                + "<|im_start|>user\nu<|im_end|>\n"), out);
    }

    @Test
    void assistantToolCallsAndConsecutiveToolResponses() {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("city", "Paris");
        args.put("days", 2);
        List<ChatMessage> messages = List.of(
                ChatMessage.user("Weather?"),
                ChatMessage.assistant("thinking</think>\n\nI'll check.", List.of(
                        ToolCall.of("get_weather", args),
                        ToolCall.parsed("get_time", "{\"tz\": \"CET\"}"))),
                ChatMessage.tool("{\"temp\": 21}"),
                ChatMessage.tool("12:00"),
                ChatMessage.assistant("", List.of(ToolCall.of("raw", "{\"a\":1}"))),
                ChatMessage.tool("done"));
        String out = qwq.render(messages, List.of(), true);
        assertEquals("<|im_start|>user\nWeather?<|im_end|>\n"
                + "<|im_start|>assistant\nI'll check."
                + "\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n</tool_call>"
                + "\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"CET\"}}\n</tool_call><|im_end|>\n"
                + "<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response>"
                + "\n<tool_response>\n12:00\n</tool_response><|im_end|>\n"
                + "<|im_start|>assistant"
                + "\n<tool_call>\n{\"name\": \"raw\", \"arguments\": \"{\\\"a\\\":1}\"}\n</tool_call><|im_end|>\n"
                + "<|im_start|>user\n<tool_response>\ndone\n</tool_response><|im_end|>\n"
                + "<|im_start|>assistant\n<think>\n", out);
    }

    @Test
    void toolCallContentThatIsOnlyThinkingLeavesABareNewline() {
        // the template tests message.content (non-empty) but prints the stripped content (empty)
        String out = qwq.render(List.of(ChatMessage.user("q"),
                ChatMessage.assistant("<think>hmm</think>", List.of(ToolCall.of("f", Map.of()))),
                ChatMessage.tool("r")), List.of(), false);
        assertEquals("<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n"
                + "\n<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call><|im_end|>\n"
                + "<|im_start|>user\n<tool_response>\nr\n</tool_response><|im_end|>\n", out);
    }

    @Test
    void emptyConversationIsRejected() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> qwq.render(List.of(), List.of(), true));
        assertTrue(e.getMessage().contains("no messages"), e.getMessage());
    }

    @Test
    void unknownRoleNamesIndexAndRole() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> qwq.render(
                List.of(ChatMessage.user("a"), new ChatMessage("developer", "b")), List.of(), true));
        assertTrue(e.getMessage().contains("message 1"), e.getMessage());
        assertTrue(e.getMessage().contains("\"developer\""), e.getMessage());
    }

    @Test
    void jinjaSourceIsTheQwqTemplate() {
        String src = ChatTemplate.qwqJinjaSource();
        assertTrue(src.startsWith("{%- if tools %}\n"), src);
        assertTrue(src.contains("message.content.split('</think>')[-1].lstrip('\\n')"));
        assertTrue(src.endsWith("{{- '<|im_start|>assistant\\n<think>\\n' }}\n{%- endif %}\n"));
        assertEquals(2763, src.length());
    }

    @Test
    void pythonJsonFormatting() {
        assertEquals("[1, 2.5, \"\\u0001\\t\", \"é😀\", false, 1e+16, 1000000000000000.0, 0.0001, -0.5, 0.1]",
                PyJson.dumps(List.of(1L, 2.5, "\u0001\t", "é😀", false, 1e16, 1e15, 1e-4, -0.5, 0.1f)));
        assertEquals("{}", PyJson.dumps(Map.of()));
        assertEquals("[]", PyJson.dumps(List.of()));
        assertEquals("1.2345678901234567e+20", PyJson.dumps(1.2345678901234567e20));
        assertEquals("NaN", PyJson.dumps(Double.NaN));
    }
}
