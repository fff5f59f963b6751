package dev.shardline.operator.groups;

import java.util.List;

/**
 * What to do with the worker groups now.
 *
 * @param create    new groups to create (their indices), with the current template
 * @param drain     groups to drain by name before their pods are removed (the coordinator drains each worker)
 * @param delete    groups whose pods may be deleted now (drained and gone from every pipeline, or never in one)
 * @param target    the pipelines the coordinator should aim for once the drains are asked for
 * @param progress  a sentence for the Progressing condition ("" when settled)
 */
public record GroupSteps(List<Integer> create, List<Integer> drain, List<Integer> delete, int target, String progress) {
}
