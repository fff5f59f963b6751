package dev.shardline.model.chat;

import dev.shardline.model.chat.ToolCallParser.CallArguments;
import dev.shardline.model.chat.ToolCallParser.CallStart;
import dev.shardline.model.chat.ToolCallParser.Content;
import dev.shardline.model.chat.ToolCallParser.Event;
import dev.shardline.model.json.Json;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ToolCallParserTest {
    static final String WEATHER = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", "
            + "\"days\": [1, 2], \"note\": \"a \\\"quoted\\\" } brace\"}}\n</tool_call>";
    static final String ARGS = "{\"city\": \"Paris\", \"days\": [1, 2], \"note\": \"a \\\"quoted\\\" } brace\"}";

    /** Well-formed samples: the parse is the same for every way of cutting the text. */
    static final List<String> SAMPLES = List.of(
            WEATHER,
            "Let me check.\n\n" + WEATHER + "\n",
            WEATHER + "\n" + WEATHER.replace("Paris", "Oslo"),
            "<tool_call>\n{\"arguments\": {\"x\": 1}, \"name\": \"later_name\"}\n</tool_call>",
            "<tool_call>\n{\"name\": \"no_args\"}\n</tool_call>",
            "<tool_call>{\"name\": \"n\", \"arguments\": 42}</tool_call>",
            "<tool_call>\nnot json at all\n</tool_call> and text",
            "a < b, <tool_cal is not a tag, </tool_call> neither",
            "plain answer \n",
            "",
            "<tool_c",
            "   \n");

    static Supplier<String> ids() {
        int[] n = {0};
        return () -> "call_" + n[0]++;
    }

    static List<Event> stream(String text, List<String> pieces, int maxCalls) {
        ToolCallParser p = new ToolCallParser(ids(), maxCalls);
        List<Event> out = new ArrayList<>();
        for (String piece : pieces) out.addAll(p.push(piece));
        out.addAll(p.finish());
        return out;
    }

    static List<String> randomPieces(String text, SplittableRandom r) {
        List<String> pieces = new ArrayList<>();
        int i = 0;
        while (i < text.length()) {
            int n = 1 + r.nextInt(6);
            pieces.add(text.substring(i, Math.min(text.length(), i + n)));
            i += n;
        }
        return pieces;
    }

    @Test
    void aCallBecomesItsNameAndItsArgumentsVerbatim() {
        ToolCallParser.Parsed p = ToolCallParser.parse("Let me check.\n\n" + WEATHER + "\n", ids(), 8);
        assertEquals("Let me check.", p.content());
        assertEquals(1, p.calls().size());
        assertEquals(new ToolCallParser.Call("call_0", "get_weather", ARGS), p.calls().getFirst());
        Json.parse(p.calls().getFirst().arguments());
    }

    @Test
    void everyCuttingGivesTheOneShotResult() {
        SplittableRandom r = new SplittableRandom(3);
        for (String s : SAMPLES) {
            ToolCallParser.Parsed whole = ToolCallParser.parse(s, ids(), 8);
            List<String> chars = s.chars().mapToObj(c -> String.valueOf((char) c)).toList();
            assertEquals(whole, ToolCallParser.collect(stream(s, chars, 8)), "char by char: " + s);
            for (int k = 0; k < 50; k++) {
                assertEquals(whole, ToolCallParser.collect(stream(s, randomPieces(s, r), 8)), "random pieces: " + s);
            }
        }
    }

    @Test
    void theNameStreamsBeforeTheArgumentsAndTheArgumentsInPieces() {
        List<String> chars = WEATHER.chars().mapToObj(c -> String.valueOf((char) c)).toList();
        List<Event> events = stream(WEATHER, chars, 8);
        assertInstanceOf(CallStart.class, events.getFirst());
        assertEquals("get_weather", ((CallStart) events.getFirst()).name());
        long fragments = events.stream().filter(e -> e instanceof CallArguments).count();
        assertTrue(fragments > 10, "arguments stream char by char, got " + fragments + " fragments");
        assertTrue(events.stream().noneMatch(e -> e instanceof Content), "no content: " + events);
    }

    @Test
    void theTagSplitAcrossPiecesIsHeldUntilDecided() {
        ToolCallParser p = new ToolCallParser(ids(), 8);
        assertEquals(List.of(new Content("Sure")), p.push("Sure <tool"));
        assertEquals(List.of(), p.push("_call>\n{\"name\": \"f"));
        assertEquals(List.of(new CallStart(0, "call_0", "f")), p.push("\", \"arg"));
        assertEquals(List.of(new CallArguments(0, "{\"a\"")), p.push("uments\": {\"a\""));
        assertEquals(List.of(new CallArguments(0, ": 1}")), p.push(": 1}}\n</tool_"));
        assertEquals(List.of(), p.push("call>\n"));
        assertEquals(List.of(), p.finish());
        assertEquals(1, p.calls());
    }

    @Test
    void malformedOrUnclosedCallsThatNeverStartedAreContent() {
        assertEquals(new ToolCallParser.Parsed("<tool_call>\nnot json at all\n</tool_call> and text", List.of()),
                ToolCallParser.parse("<tool_call>\nnot json at all\n</tool_call> and text", ids(), 8));
        assertEquals(new ToolCallParser.Parsed("<tool_call>\n{\"na", List.of()),
                ToolCallParser.parse("<tool_call>\n{\"na", ids(), 8));
    }

    @Test
    void aCallCutOffAfterItsNameStaysACallWithTheArgumentsSoFar() {
        ToolCallParser.Parsed p = ToolCallParser.parse("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": [1,", ids(), 8);
        assertEquals(List.of(new ToolCallParser.Call("call_0", "f", "{\"a\": [1,")), p.calls());
        assertEquals("", p.content());
    }

    @Test
    void callsAreIndexedAndMaxCallsDropsTheRest() {
        String two = WEATHER + "\n" + WEATHER.replace("Paris", "Oslo");
        ToolCallParser.Parsed all = ToolCallParser.parse(two, ids(), 8);
        assertEquals(2, all.calls().size());
        assertEquals("call_1", all.calls().get(1).id());
        assertTrue(all.calls().get(1).arguments().contains("Oslo"));
        ToolCallParser.Parsed one = ToolCallParser.parse(two, ids(), 1);
        assertEquals(1, one.calls().size());
        assertTrue(one.calls().getFirst().arguments().contains("Paris"));
        assertEquals("", one.content());
    }

    @Test
    void otherKeyOrdersAndMissingArgumentsAreDecidedAtTheClosingTag() {
        ToolCallParser.Parsed p = ToolCallParser.parse(SAMPLES.get(3), ids(), 8);
        assertEquals(List.of(new ToolCallParser.Call("call_0", "later_name", "{\"x\":1}")), p.calls());
        assertEquals(List.of(new ToolCallParser.Call("call_0", "no_args", "{}")),
                ToolCallParser.parse(SAMPLES.get(4), ids(), 8).calls());
        assertEquals(List.of(new ToolCallParser.Call("call_0", "n", "42")),
                ToolCallParser.parse(SAMPLES.get(5), ids(), 8).calls());
    }

    @Test
    void textWithoutCallsIsKeptAsItIs() {
        assertEquals(new ToolCallParser.Parsed("plain answer \n", List.of()), ToolCallParser.parse("plain answer \n", ids(), 8));
        assertEquals(new ToolCallParser.Parsed("<tool_c", List.of()), ToolCallParser.parse("<tool_c", ids(), 8));
        assertEquals(new ToolCallParser.Parsed("a < b, <tool_cal is not a tag, </tool_call> neither", List.of()),
                ToolCallParser.parse("a < b, <tool_cal is not a tag, </tool_call> neither", ids(), 8));
    }
}
