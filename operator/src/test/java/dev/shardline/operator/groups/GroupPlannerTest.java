package dev.shardline.operator.groups;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The group planner against a simulated cluster (seeded random runs): pods start, serve, take work, drain when
 * asked; desired counts and templates change at random. Invariants after every step; convergence at the end.
 */
class GroupPlannerTest {

    /** One simulated group. */
    static final class G {
        final int index;
        final String hash;
        int age;                 // steps since created
        boolean draining;
        int drainAge;
        boolean pending;         // never schedules (no GPU)
        int sequences;

        G(int index, String hash, boolean pending) {
            this.index = index;
            this.hash = hash;
            this.pending = pending;
        }

        boolean serving() {
            return !pending && age >= 2 && !draining;
        }

        boolean inPipeline() {
            return !pending && age >= 1 && (!draining || drainAge < 2);
        }

        GroupView view() {
            return new GroupView(index, hash, List.of("g" + index + "-s0", "g" + index + "-s1"), pending ? 2 : 0,
                    draining && drainAge >= 2 ? 2 : 0, serving(), inPipeline(), serving() ? sequences : 0, draining);
        }
    }

    @Test
    void neverRemovesAGroupThatAPipelineHoldsAndConverges() {
        Random r = new Random(2026);
        for (int run = 0; run < 200; run++) {
            Map<Integer, G> groups = new HashMap<>();
            String hash = "h0";
            int desired = r.nextInt(0, 4);
            int versions = 0;
            for (int step = 0; step < 80; step++) {
                if (step < 50 && r.nextInt(8) == 0) desired = r.nextInt(0, 5);
                if (step < 50 && r.nextInt(15) == 0) hash = "h" + (++versions);
                List<GroupView> views = groups.values().stream().map(G::view).toList();
                GroupSteps steps = GroupPlanner.plan(desired, hash, views);
                for (int d : steps.delete()) {
                    G g = groups.get(d);
                    assertFalse(g.inPipeline(), "run " + run + " step " + step + ": deleted group " + d + " while a pipeline holds it");
                    assertFalse(g.serving());
                    groups.remove(d);
                }
                for (int d : steps.drain()) {
                    G g = groups.get(d);
                    if (!g.draining) {
                        g.draining = true;
                        g.drainAge = 0;
                    }
                }
                for (int c : steps.create()) {
                    assertFalse(groups.containsKey(c), "index reused while the group exists");
                    groups.put(c, new G(c, hash, step < 50 && r.nextInt(10) == 0));
                }
                long live = groups.values().stream().filter(g -> !g.draining).count();
                assertTrue(live <= Math.max(desired + 1, groups.size()), "at most one group of surge");
                assertEquals(steps.target(), (int) live, "the coordinator's target is the groups not leaving");
                for (G g : groups.values()) {
                    g.age++;
                    if (g.draining) g.drainAge++;
                    g.sequences = r.nextInt(0, 5);
                    if (step >= 50) g.pending = false;           // capacity arrives
                }
            }
            final String finalHash = hash;
            final int finalDesired = desired;
            List<G> left = new ArrayList<>(groups.values());
            assertEquals(finalDesired, left.size(), "run " + run + ": converged to the desired groups: " + left.size());
            assertTrue(left.stream().allMatch(g -> g.hash.equals(finalHash) && g.serving()), "run " + run + ": all on the new template and serving");
        }
    }

    @Test
    void aRollingChangeSurgesOneNewGroupAndDrainsAnOldOneOnlyAfterItServes() {
        List<GroupView> old = List.of(view(0, "a", true, 3), view(1, "a", true, 0));
        GroupSteps s1 = GroupPlanner.plan(2, "b", old);
        assertEquals(List.of(2), s1.create());
        assertTrue(s1.drain().isEmpty());
        List<GroupView> surging = List.of(view(0, "a", true, 3), view(1, "a", true, 0), view(2, "b", false, 0));
        GroupSteps s2 = GroupPlanner.plan(2, "b", surging);
        assertTrue(s2.drain().isEmpty() && s2.create().isEmpty(), "the new group does not serve yet: " + s2);
        List<GroupView> served = List.of(view(0, "a", true, 3), view(1, "a", true, 0), view(2, "b", true, 0));
        GroupSteps s3 = GroupPlanner.plan(2, "b", served);
        assertEquals(List.of(1), s3.drain(), "the least busy old group drains");
        assertEquals(2, s3.target());
    }

    @Test
    void scaleDownDrainsTheLeastBusyServingGroupByNameAndDeletesOnlyOnceDrained() {
        List<GroupView> three = List.of(view(0, "a", true, 2), view(1, "a", true, 0), view(2, "a", true, 5));
        GroupSteps s = GroupPlanner.plan(2, "a", three);
        assertEquals(List.of(1), s.drain());
        assertTrue(s.delete().isEmpty());
        assertEquals(2, s.target());
        GroupView drainingStill = new GroupView(1, "a", List.of("x"), 0, 0, false, true, 1, true);
        GroupSteps again = GroupPlanner.plan(2, "a", List.of(three.get(0), drainingStill, three.get(2)));
        assertEquals(List.of(1), again.drain(), "asked again while its pipeline drains");
        assertTrue(again.delete().isEmpty());
        GroupView drained = new GroupView(1, "a", List.of("x"), 0, 1, false, false, 0, true);
        assertEquals(List.of(1), GroupPlanner.plan(2, "a", List.of(three.get(0), drained, three.get(2))).delete());
    }

    @Test
    void aGroupThatNeverScheduledGoesFirstWithoutADrain() {
        GroupView pending = new GroupView(3, "a", List.of("x"), 2, 0, false, false, 0, false);
        GroupSteps s = GroupPlanner.plan(2, "a", List.of(view(0, "a", true, 1), view(1, "a", true, 1), pending));
        assertEquals(List.of(3), s.delete());
        assertTrue(s.drain().isEmpty());
    }

    static GroupView view(int i, String hash, boolean serving, int seqs) {
        return new GroupView(i, hash, List.of("g" + i), 0, 0, serving, serving, seqs, false);
    }
}
