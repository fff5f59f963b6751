package dev.shardline.model.chat;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReasoningParserTest {
    private static final List<String> SAMPLES = List.of(
            "Okay, 2+2 is 4.\n</think>\n\nThe answer is **4**.",
            "<think>\nre-emitted tag\n</think>\n\nanswer",
            "no end tag, still thinking </thi",
            "a < b and </ not a tag </think>answer with </think> inside\n",
            "</think>\n\n\n",
            "",
            "<thi",
            "<think>",
            "plain answer without tags",
            "x</think>\n");

    @Test
    void wholeTextStartingInReasoning() {
        ReasoningParser.Parsed p = ReasoningParser.parse(SAMPLES.get(0), true);
        assertEquals("Okay, 2+2 is 4.\n", p.reasoning());
        assertEquals("The answer is **4**.", p.answer());
        assertTrue(p.reasoningEnded());
    }

    @Test
    void reEmittedStartTagIsDropped() {
        ReasoningParser.Parsed p = ReasoningParser.parse(SAMPLES.get(1), true);
        assertEquals("\nre-emitted tag\n", p.reasoning());
        assertEquals("answer", p.answer());
    }

    @Test
    void onlyTheFirstEndTagSplits() {
        ReasoningParser.Parsed p = ReasoningParser.parse(SAMPLES.get(3), true);
        assertEquals("a < b and </ not a tag ", p.reasoning());
        assertEquals("answer with </think> inside\n", p.answer());
    }

    @Test
    void noEndTagMeansAllReasoning() {
        ReasoningParser.Parsed p = ReasoningParser.parse(SAMPLES.get(2), true);
        assertEquals("no end tag, still thinking </thi", p.reasoning());
        assertEquals("", p.answer());
        assertFalse(p.reasoningEnded());
        assertEquals(new ReasoningParser.Delta("no end tag, still thinking ", ""),
                new ReasoningParser(true).push(SAMPLES.get(2)));
    }

    @Test
    void explicitTagsWhenNotStartingInReasoning() {
        ReasoningParser.Parsed p = ReasoningParser.parse("<think>hmm</think>\n\nyes", false);
        assertEquals(new ReasoningParser.Parsed("hmm", "yes", true), p);
        ReasoningParser.Parsed plain = ReasoningParser.parse("just </think> text", false);
        assertEquals(new ReasoningParser.Parsed("", "just </think> text", false), plain);
    }

    @Test
    void tagSplitAcrossDeltasIsHeldBack() {
        ReasoningParser parser = new ReasoningParser(true);
        assertEquals(new ReasoningParser.Delta("step one ", ""), parser.push("step one </"));
        assertEquals(ReasoningParser.Delta.EMPTY, parser.push("thi"));
        assertFalse(parser.inAnswer());
        assertEquals(ReasoningParser.Delta.EMPTY, parser.push("nk>\n"));
        assertTrue(parser.inAnswer());
        assertEquals(new ReasoningParser.Delta("", "Done"), parser.push("\nDone"));
        assertEquals(ReasoningParser.Delta.EMPTY, parser.finish());
    }

    @Test
    void falseTagPrefixIsReleased() {
        ReasoningParser parser = new ReasoningParser(true);
        assertEquals(new ReasoningParser.Delta("a", ""), parser.push("a</th"));
        assertEquals(new ReasoningParser.Delta("</thx", ""), parser.push("x"));
        assertEquals(new ReasoningParser.Delta("", ""), parser.push(""));
        ReasoningParser start = new ReasoningParser(false);
        assertEquals(ReasoningParser.Delta.EMPTY, start.push("<th"));
        assertEquals(new ReasoningParser.Delta("", "<th"), start.finish());
    }

    @Test
    void charByCharStreamingEqualsWholeParse() {
        for (boolean startsInReasoning : new boolean[] {true, false}) {
            for (String text : SAMPLES) {
                ReasoningParser parser = new ReasoningParser(startsInReasoning);
                StringBuilder r = new StringBuilder();
                StringBuilder a = new StringBuilder();
                text.codePoints().forEach(cp -> append(parser.push(Character.toString(cp)), r, a));
                append(parser.finish(), r, a);
                ReasoningParser.Parsed whole = ReasoningParser.parse(text, startsInReasoning);
                assertEquals(whole.reasoning(), r.toString(), "reasoning of " + text);
                assertEquals(whole.answer(), a.toString(), "answer of " + text);
            }
        }
    }

    @Test
    void randomCutsEqualWholeParse() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int round = 0; round < 200; round++) {
            String text = SAMPLES.get(rnd.nextInt(SAMPLES.size()));
            boolean startsInReasoning = rnd.nextBoolean();
            ReasoningParser parser = new ReasoningParser(startsInReasoning);
            StringBuilder r = new StringBuilder();
            StringBuilder a = new StringBuilder();
            int pos = 0;
            while (pos < text.length()) {
                int next = Math.min(text.length(), pos + 1 + rnd.nextInt(6));
                append(parser.push(text.substring(pos, next)), r, a);
                pos = next;
            }
            append(parser.finish(), r, a);
            ReasoningParser.Parsed whole = ReasoningParser.parse(text, startsInReasoning);
            assertEquals(whole.reasoning() + "|" + whole.answer(), r + "|" + a, text);
        }
    }

    private static void append(ReasoningParser.Delta d, StringBuilder r, StringBuilder a) {
        r.append(d.reasoning());
        a.append(d.answer());
    }
}
