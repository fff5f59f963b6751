package dev.shardline.operator.resource;

import io.fabric8.generator.annotation.Required;

/** A key of a Secret in the cluster's namespace. */
public record SecretKeyRef(@Required String name, @Required String key) {
}
