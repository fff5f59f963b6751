package dev.shardline.cli.gpucheck;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What gpu-check found, as markdown: a header, one table per section, the goals and the verdict. Rows are added as
 * checks finish (and echoed to a progress stream), so a run stopped half-way still reports everything it measured.
 * Synchronized: the deadline watchdog renders it from another thread.
 */
final class Report {
    /** A row's verdict. Checks are PASS/FAIL; goals MET/MISSED/NOT RUN; ERROR is a section that threw. */
    enum Status {
        PASS, FAIL, ERROR, MET, MISSED, NOT_RUN, INFO;

        String label() {
            return this == NOT_RUN ? "NOT RUN" : name();
        }
    }

    private record Section(String title, String note, String[] header, List<String[]> rows) {
    }

    private record Goal(String name, String measured, String target, Status status) {
    }

    private final List<String> header = new ArrayList<>();
    private final List<Section> sections = new ArrayList<>();
    private final List<Goal> goals = new ArrayList<>();
    private final List<String> errors = new ArrayList<>();
    private final PrintStream progress;
    private int passed;
    private int failed;

    Report(PrintStream progress) {
        this.progress = progress;
    }

    synchronized void headerLine(String line) {
        header.add(line);
    }

    /** Starts a section; later rows go to it. The last header column is the status. */
    synchronized void section(String title, String note, String... columns) {
        sections.add(new Section(title, note, columns, new ArrayList<>()));
        progress.println("== " + title);
    }

    /** A row of the current section: its cells (without the status) and its status. */
    synchronized void row(Status status, String... cells) {
        Section s = sections.getLast();
        if (cells.length != s.header.length - 1) {
            throw new IllegalStateException("section \"" + s.title + "\" has " + s.header.length + " columns, row "
                    + java.util.Arrays.toString(cells) + " has " + cells.length + " cells + status");
        }
        String[] row = new String[cells.length + 1];
        System.arraycopy(cells, 0, row, 0, cells.length);
        row[cells.length] = status == Status.INFO ? "" : status.label();
        s.rows.add(row);
        if (status == Status.PASS) passed++;
        if (status == Status.FAIL) failed++;
        progress.println("   " + String.join("  ", row));
    }

    /** A failure that ended a check or a section early: counted as failed, its message shown in the section. */
    synchronized void error(String what, Throwable e) {
        String msg = describe(e);
        errors.add(what + ": " + msg);
        Section s = sections.getLast();
        String[] row = new String[s.header.length];
        java.util.Arrays.fill(row, "");
        row[0] = what;
        if (row.length > 2) row[1] = "error: " + msg;
        row[row.length - 1] = Status.ERROR.label();
        s.rows.add(row);
        progress.println("   " + what + "  ERROR  " + msg);
    }

    synchronized void goal(String name, String measured, String target, Status status) {
        goals.add(new Goal(name, measured, target, status));
    }

    synchronized boolean ok() {
        return failed == 0 && errors.isEmpty();
    }

    synchronized int exitCode() {
        return ok() ? 0 : 1;
    }

    /** The whole report as markdown; {@code verdict} null renders it as a partial report. */
    synchronized String markdown(String verdict) {
        StringBuilder b = new StringBuilder("# shardline gpu-check\n\n");
        for (String h : header) b.append(h).append("  \n");
        for (Section s : sections) {
            b.append("\n## ").append(s.title).append("\n\n");
            if (s.note != null) b.append(s.note).append("\n\n");
            table(b, s.header, s.rows);
        }
        b.append("\n## 5. Summary\n\n");
        List<String[]> rows = new ArrayList<>();
        for (Goal g : goals) rows.add(new String[]{g.name, g.measured, g.target, g.status.label()});
        table(b, new String[]{"goal", "measured", "target", "status"}, rows);
        b.append('\n').append(String.format(Locale.ROOT, "checks: %d PASS, %d FAIL, %d errors%n", passed, failed,
                errors.size()));
        for (String e : errors) b.append("- error: ").append(e).append('\n');
        b.append(verdict == null ? "\n(partial report: the run did not finish)\n" : "\n" + verdict + "\n");
        return b.toString();
    }

    private static void table(StringBuilder b, String[] header, List<String[]> rows) {
        b.append("| ").append(String.join(" | ", header)).append(" |\n|");
        for (int i = 0; i < header.length; i++) b.append("---|");
        b.append('\n');
        for (String[] r : rows) b.append("| ").append(String.join(" | ", r)).append(" |\n");
    }

    static String describe(Throwable e) {
        String m = e.getMessage();
        String type = e.getClass().getSimpleName();
        return m == null || m.isBlank() ? type : type + ": " + m.replace('\n', ' ').replace('|', '/');
    }
}
