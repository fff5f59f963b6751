package dev.shardline.operator.resource;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** The Kafka batch front end of the coordinator. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record KafkaSource(
        @Required @Pattern("^[^,\\s]+:[0-9]+(,[^,\\s]+:[0-9]+)*$") @JsonPropertyDescription("host:port[,host:port...]")
        String bootstrapServers,
        @JsonPropertyDescription("the batch requests topic (the coordinator's kafka-requests-topic, default shardline-batch-requests)")
        String requestsTopic,
        @JsonPropertyDescription("the batch results topic (the coordinator's kafka-results-topic, default shardline-batch-results)")
        String resultsTopic,
        @JsonPropertyDescription("the consumer group (default: the cluster's name)")
        String group) {
}
