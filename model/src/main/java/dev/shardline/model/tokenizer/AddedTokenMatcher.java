package dev.shardline.model.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds added tokens in text with leftmost-longest semantics (HF builds an Aho-Corasick automaton with
 * {@code MatchKind::LeftmostLongest}): scanning left to right, the first position where any token starts wins, and
 * there the longest token. Added tokens are few, so a first-char index and {@code startsWith} suffice.
 */
final class AddedTokenMatcher {
    private final Map<Character, AddedToken[]> byFirstChar; // candidates, longest first
    private final boolean[] isFirstChar = new boolean[Character.MAX_VALUE + 1];

    AddedTokenMatcher(List<AddedToken> tokens) {
        Map<Character, List<AddedToken>> lists = new HashMap<>();
        for (AddedToken t : tokens) {
            if (t.content().isEmpty()) continue;
            lists.computeIfAbsent(t.content().charAt(0), c -> new ArrayList<>()).add(t);
        }
        byFirstChar = new HashMap<>();
        for (var e : lists.entrySet()) {
            List<AddedToken> l = e.getValue();
            l.sort(Comparator.comparingInt((AddedToken t) -> t.content().length()).reversed());
            byFirstChar.put(e.getKey(), l.toArray(AddedToken[]::new));
            isFirstChar[e.getKey()] = true;
        }
    }

    boolean isEmpty() {
        return byFirstChar.isEmpty();
    }

    /** Receives the text between matches and the matches themselves, in order. */
    interface Visitor {
        void text(String text, int from, int to);

        void token(AddedToken token);
    }

    void split(String text, Visitor visitor) {
        int last = 0;
        int n = text.length();
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (!isFirstChar[c]) continue;
            for (AddedToken t : byFirstChar.get(c)) {
                if (text.startsWith(t.content(), i)) {
                    if (i > last) visitor.text(text, last, i);
                    visitor.token(t);
                    i += t.content().length() - 1;
                    last = i + 1;
                    break;
                }
            }
        }
        if (last < n) visitor.text(text, last, n);
    }
}
