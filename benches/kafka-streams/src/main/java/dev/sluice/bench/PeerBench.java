package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyConfig;
import org.apache.kafka.streams.errors.LogAndContinueExceptionHandler;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The Kafka Streams peer of the Sluice benchmarks: the benchmark queries as the
 * Kafka Streams topologies ksqlDB would build for them, configured as ksqlDB
 * configures Kafka Streams, so Sluice can be compared with the engine ksqlDB runs on.
 *
 * <pre>
 * run:   java -jar kafka-streams-peer.jar --bootstrap HOST:PORT --query stateless|aggregate
 *          --input bids --output OUT --app-id ID --expect N [--threads T]
 *          [--processing-guarantee at_least_once|exactly_once_v2] [--state-dir DIR]
 *          [--timeout-s S] [--warmup M]
 * load:  java -jar kafka-streams-peer.jar --bootstrap HOST:PORT --load N --input bids [--partitions P]
 * check: java -jar kafka-streams-peer.jar --bootstrap HOST:PORT --check --query Q --output OUT --expect N
 * </pre>
 *
 * <p>stdout carries only the protocol: {@code STARTED} once the streams instance is first
 * RUNNING, then {@code DONE <records> <elapsed_ms>} once all {@code --expect} input
 * records are processed and their output is in the output topic, {@code elapsed_ms}
 * counted from the first input record processed. Exit 0 after DONE, 1 when the
 * streams instance fails, 2 on timeout. Logging goes to stderr, WARN and worse.
 *
 * <p>{@code --threads} defaults to ksqlDB's 4. {@code --warmup M} first runs the same
 * topology over the first M input records under a throwaway application id and output
 * topic ({@code ID-warmup}, {@code OUT-warmup}), unmeasured, so the measured run starts
 * with the JVM's hot paths compiled. The sink topic is created with the input's partition
 * count unless it exists.
 *
 * <p>Queries (over {@code CREATE STREAM bids (auction BIGINT, bidder BIGINT, price
 * DOUBLE, channel STRING, url STRING, extra STRING) WITH (value_format='JSON')}):
 * <ul>
 *   <li>stateless: {@code CREATE STREAM OUT AS SELECT auction, bidder, price * 0.908 AS
 *       price_eur, ROWTIME AS ts FROM bids;}
 *   <li>aggregate: {@code CREATE TABLE OUT AS SELECT auction, COUNT(*) AS n, MAX(price)
 *       AS max_price FROM bids GROUP BY auction;}
 * </ul>
 */
public final class PeerBench {

  // ksqlDB's JSON serdes are Jackson serdes reading into a JsonNode tree.
  static final ObjectMapper MAPPER = new ObjectMapper();
  static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /** The protocol channel; nothing else writes to stdout. */
  static final PrintStream OUT = System.out;

  private PeerBench() {}

  public static void main(String[] argv) {
    Args args = new Args(argv);
    int code;
    try {
      if (args.has("load")) {
        code = load(args);
      } else if (args.has("check")) {
        code = check(args);
      } else {
        code = run(args);
      }
    } catch (Exception e) {
      System.err.println("kafka-streams-peer: " + e);
      e.printStackTrace(System.err);
      code = 1;
    }
    // Kafka client threads must not keep a finished benchmark alive.
    System.exit(code);
  }

  // ------------------------------------------------------------------------------------
  // run: the query under test

  /** The options of a query run. */
  record Query(String bootstrap, String query, String input, int threads, String guarantee,
      Path stateParent, long timeoutMs) {
    boolean exactlyOnce() {
      return !guarantee.equals(StreamsConfig.AT_LEAST_ONCE);
    }
  }

  static int run(Args args) throws Exception {
    Query q = new Query(
        args.required("bootstrap"),
        args.required("query"),
        args.get("input", "bids"),
        Integer.parseInt(args.get("threads", "4")),
        args.get("processing-guarantee", StreamsConfig.AT_LEAST_ONCE),
        args.has("state-dir") ? Path.of(args.required("state-dir")) : null,
        Long.parseLong(args.get("timeout-s", "600")) * 1000);
    String output = args.required("output");
    String appId = args.required("app-id");
    long expect = Long.parseLong(args.required("expect"));
    long warmup = Long.parseLong(args.get("warmup", "0"));
    if (!q.query.equals("stateless") && !q.query.equals("aggregate")) {
      throw new IllegalArgumentException("--query must be stateless or aggregate");
    }
    if (expect <= 0) {
      throw new IllegalArgumentException("--expect must be positive");
    }
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, q.bootstrap))) {
      // it stops once it has seen that many records, so no more than the input holds
      warmup = Math.min(warmup, records(admin, q.input));
      if (warmup > 0) {
        // A cold JVM runs the first ~100k records at a fraction of its later rate (JIT);
        // a throwaway instance of the same topology in this JVM compiles the hot paths,
        // as a long-running ksqlDB server would have them compiled.
        int code = runOnce(q, admin, appId + "-warmup", output + "-warmup", warmup, false);
        if (code != 0) {
          return code;
        }
      }
      return runOnce(q, admin, appId, output, expect, true);
    }
  }

  /**
   * Runs one streams instance of the query until {@code expect} input records are
   * processed. The measured run also waits for their output and speaks the stdout
   * protocol; the warm-up only reports to stderr.
   */
  static int runOnce(Query q, Admin admin, String appId, String output, long expect,
      boolean measured) throws Exception {
    // A fresh directory even under a given --state-dir, so deleting it on exit can
    // only ever remove what this run created.
    Path stateDir;
    if (q.stateParent != null) {
      Files.createDirectories(q.stateParent);
      stateDir = Files.createTempDirectory(q.stateParent, "ks-peer-");
    } else {
      stateDir = Files.createTempDirectory("ks-peer-");
    }
    Properties props = streamsConfig(q.bootstrap, appId, q.threads, q.guarantee, stateDir);
    Progress progress = new Progress();
    Map<TopicPartition, Long> outputStart = createSink(admin, q.input, output);
    Topology topology = q.query.equals("stateless")
        ? stateless(props, q.input, output, progress)
        : aggregate(props, q.input, output, progress);

    KafkaStreams streams = new KafkaStreams(topology, props);
    AtomicBoolean started = new AtomicBoolean();
    AtomicBoolean closed = new AtomicBoolean();
    streams.setStateListener((now, before) -> {
      // Rebalances go RUNNING -> REBALANCING -> RUNNING; announce only the first.
      if (measured && now == KafkaStreams.State.RUNNING && started.compareAndSet(false, true)) {
        say("STARTED");
      }
    });
    streams.setUncaughtExceptionHandler(e -> {
      System.err.println("kafka-streams-peer: stream thread failed: " + e);
      e.printStackTrace(System.err);
      return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    // A harness killing us (SIGTERM) still gets the state directory removed.
    Thread hook = new Thread(() -> shutdown(streams, stateDir, closed));
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      streams.start();
      return await(streams, admin, appId, q, expect, output, outputStart, progress, measured);
    } finally {
      shutdown(streams, stateDir, closed);
      Runtime.getRuntime().removeShutdownHook(hook);
    }
  }

  /**
   * Streams configuration as ksqlDB sets it for a persistent query. Sources (ksqlDB
   * master, confluentinc/ksql): KsqlConfig#KsqlConfig builds the streams defaults from
   * KsqlConstants (defaultCommitIntervalMsConfig = 2000, defaultCacheMaxBytesBufferingConfig
   * = 10000000, defaultNumberOfStreamsThreads = 4), COMPATIBILITY_BREAKING_STREAMS_CONFIGS
   * (topology.optimization = all) and the LogMetricAndContinueExceptionHandler for
   * deserialization errors; QueryBuilder#buildPersistentQuery sets num.standby.replicas = 0;
   * ksqlDB leaves processing.guarantee at the Kafka Streams default, at_least_once
   * (docs/reference/server-configuration.md, ksql.streams.processing.guarantee).
   */
  static Properties streamsConfig(String bootstrap, String appId, int threads,
      String guarantee, Path stateDir) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    // ksql.streams.commit.interval.ms: ksqlDB default 2000 (Kafka Streams' own: 30000,
    // or 100 under exactly-once; ksqlDB sets 2000 for both).
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 2000);
    // ksql.streams.cache.max.bytes.buffering: ksqlDB default 10000000. Kafka Streams 4
    // names it statestore.cache.max.bytes (cache.max.bytes.buffering is deprecated).
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 10_000_000L);
    // ksql.streams.num.stream.threads: ksqlDB default 4; the bench passes --threads.
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
    // ksqlDB turns topology optimization on for every new query.
    p.put(StreamsConfig.TOPOLOGY_OPTIMIZATION_CONFIG, StreamsConfig.OPTIMIZE);
    // ksqlDB builds persistent queries without standbys.
    p.put(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, 0);
    // ksql.streams.processing.guarantee: ksqlDB default at_least_once.
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
    // ksql.fail.on.deserialization.error defaults to false: ksqlDB logs bad records and
    // skips them (its LogMetricAndContinueExceptionHandler).
    p.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG,
        LogAndContinueExceptionHandler.class);
    // ksql.streams.auto.offset.reset: ksqlDB's default is latest; the bench reads the
    // preloaded input, as Sluice does with auto.offset.reset=earliest.
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    return p;
  }

  /**
   * ksqlDB creates a query's sink topic itself, with the source's partition count; the
   * output start offsets let the stateless run see when all its output has landed.
   */
  static Map<TopicPartition, Long> createSink(Admin admin, String input, String output)
      throws Exception {
    int partitions = admin.describeTopics(List.of(input)).allTopicNames().get()
        .get(input).partitions().size();
    // Records carry the input's 1970-based timestamps (ROWTIME); keep time-based
    // retention from deleting the output before it is checked.
    NewTopic topic = new NewTopic(output, Optional.of(partitions), Optional.empty())
        .configs(Map.of("retention.ms", "-1"));
    try {
      admin.createTopics(List.of(topic)).all().get();
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw e;
      }
    }
    return endOffsets(admin, output);
  }

  /**
   * {@code CREATE STREAM OUT AS SELECT auction, bidder, price * 0.908 AS price_eur,
   * ROWTIME AS ts FROM bids;} as ksqlDB plans it: source, one projecting step, sink.
   */
  static Topology stateless(Properties props, String input, String output, Progress progress) {
    StreamsBuilder builder = new StreamsBuilder(new TopologyConfig(new StreamsConfig(props)));
    Serde<JsonNode> json = jsonSerde();
    builder.stream(input, Consumed.with(Serdes.ByteArray(), json).withName("KsqlTopic-Reader"))
        .processValues(() -> new Project(progress), Named.as("Project"))
        .to(output, Produced.with(Serdes.ByteArray(), json).withName("KsqlTopic-Sink"));
    return builder.build(props);
  }

  /**
   * {@code CREATE TABLE OUT AS SELECT auction, COUNT(*) AS n, MAX(price) AS max_price
   * FROM bids GROUP BY auction;} as ksqlDB plans it: project the columns the aggregate
   * needs, re-key by auction through a repartition topic, aggregate into a RocksDB
   * key-value store (cached, changelogged), and write the table's changes with the
   * auction as KAFKA-format BIGINT key.
   *
   * <p>ksqlDB calls groupBy(), which repartitions inside aggregate(); the explicit
   * selectKey + repartition + groupByKey here is the same physical plan (same topic
   * name, same serdes) with one pass-through step after the repartition topic, where
   * {@link Track} can see which repartition offsets have been aggregated.
   */
  static Topology aggregate(Properties props, String input, String output, Progress progress) {
    StreamsBuilder builder = new StreamsBuilder(new TopologyConfig(new StreamsConfig(props)));
    Serde<JsonNode> json = jsonSerde();
    KStream<byte[], JsonNode> prepared = builder
        .stream(input, Consumed.with(Serdes.ByteArray(), json).withName("KsqlTopic-Reader"))
        .processValues(() -> new Prepare(progress), Named.as("Aggregate-Prepare"));
    prepared
        .selectKey((k, v) -> v.get("AUCTION").isNull() ? null : v.get("AUCTION").asLong(),
            Named.as("Aggregate-GroupBy"))
        .repartition(Repartitioned.with(Serdes.Long(), json).withName("Aggregate-GroupBy"))
        .processValues(() -> new Track(progress), Named.as("Aggregate-Track"))
        .groupByKey(Grouped.with(Serdes.Long(), json))
        .aggregate(
            PeerBench::initialAggregate,
            (auction, row, agg) -> aggregate((ObjectNode) agg, row),
            Named.as("Aggregate-Aggregate"),
            Materialized.<Long, JsonNode, KeyValueStore<Bytes, byte[]>>as(
                    "Aggregate-Aggregate-Materialize")
                .withKeySerde(Serdes.Long())
                .withValueSerde(json))
        .toStream(Named.as("Aggregate-ToStream"))
        .to(output, Produced.with(Serdes.Long(), json).withName("KsqlTopic-Sink"));
    return builder.build(props);
  }

  static JsonNode initialAggregate() {
    ObjectNode agg = NODES.objectNode();
    agg.put("N", 0L);
    agg.putNull("MAX_PRICE");
    return agg;
  }

  /**
   * COUNT(*) counts every row; MAX ignores nulls. The aggregate is updated in place:
   * the store hands out a freshly deserialized copy for every record.
   */
  static JsonNode aggregate(ObjectNode agg, JsonNode row) {
    agg.put("N", agg.get("N").asLong() + 1);
    JsonNode price = row.get("PRICE");
    JsonNode max = agg.get("MAX_PRICE");
    if (!price.isNull() && (max == null || max.isNull() || price.asDouble() > max.asDouble())) {
      agg.put("MAX_PRICE", price.asDouble());
    }
    return agg;
  }

  /** A BIGINT column of a JSON row: JSON null when absent, null or not a number. */
  static JsonNode bigint(JsonNode row, String field) {
    JsonNode v = row.get(field);
    return v != null && v.isNumber() ? NODES.numberNode(v.asLong()) : NODES.nullNode();
  }

  /** A DOUBLE column of a JSON row, likewise. */
  static JsonNode dbl(JsonNode row, String field) {
    JsonNode v = row.get(field);
    return v != null && v.isNumber() ? NODES.numberNode(v.asDouble()) : NODES.nullNode();
  }

  /** The stateless query's projection; also where input progress is counted. */
  static final class Project implements FixedKeyProcessor<byte[], JsonNode, JsonNode> {
    private final Progress progress;
    private FixedKeyProcessorContext<byte[], JsonNode> ctx;

    Project(Progress progress) {
      this.progress = progress;
    }

    @Override
    public void init(FixedKeyProcessorContext<byte[], JsonNode> ctx) {
      this.ctx = ctx;
    }

    @Override
    public void process(FixedKeyRecord<byte[], JsonNode> rec) {
      progress.processing(ctx);
      JsonNode in = rec.value();
      if (in != null) {
        ObjectNode out = NODES.objectNode();
        out.set("AUCTION", bigint(in, "auction"));
        out.set("BIDDER", bigint(in, "bidder"));
        JsonNode price = dbl(in, "price");
        out.set("PRICE_EUR",
            price.isNull() ? price : NODES.numberNode(price.asDouble() * 0.908));
        out.put("TS", rec.timestamp());
        progress.forwarded.incrementAndGet();
        ctx.forward(rec.withValue(out));
      }
      progress.consumed.incrementAndGet();
    }
  }

  /**
   * The aggregate's pre-projection (ksqlDB's Aggregate-Prepare): only the group-by and
   * aggregated columns go through the repartition topic; null rows are dropped, as
   * ksqlDB filters them before groupBy. Also where input progress is counted.
   */
  static final class Prepare implements FixedKeyProcessor<byte[], JsonNode, JsonNode> {
    private final Progress progress;
    private FixedKeyProcessorContext<byte[], JsonNode> ctx;

    Prepare(Progress progress) {
      this.progress = progress;
    }

    @Override
    public void init(FixedKeyProcessorContext<byte[], JsonNode> ctx) {
      this.ctx = ctx;
    }

    @Override
    public void process(FixedKeyRecord<byte[], JsonNode> rec) {
      progress.processing(ctx);
      JsonNode in = rec.value();
      if (in != null) {
        ObjectNode row = NODES.objectNode();
        row.set("AUCTION", bigint(in, "auction"));
        row.set("PRICE", dbl(in, "price"));
        progress.forwarded.incrementAndGet();
        ctx.forward(rec.withValue(row));
      }
      progress.consumed.incrementAndGet();
    }
  }

  /** Pass-through after the repartition topic, counting what reaches the aggregate. */
  static final class Track implements FixedKeyProcessor<Long, JsonNode, JsonNode> {
    private final Progress progress;
    private FixedKeyProcessorContext<Long, JsonNode> ctx;

    Track(Progress progress) {
      this.progress = progress;
    }

    @Override
    public void init(FixedKeyProcessorContext<Long, JsonNode> ctx) {
      this.ctx = ctx;
    }

    @Override
    public void process(FixedKeyRecord<Long, JsonNode> rec) {
      progress.processing(ctx);
      ctx.forward(rec);
      progress.aggregated.incrementAndGet();
    }
  }

  /**
   * What the topology has processed, shared with the thread waiting for completion.
   * Each record's offset is recorded before its count is bumped, so once the counts
   * reach their targets the offsets are those of the last records.
   */
  static final class Progress {
    /** Input records seen (every one, parsed or null). */
    final AtomicLong consumed = new AtomicLong();
    /** Records the first step passed on (to the sink, or to the repartition topic). */
    final AtomicLong forwarded = new AtomicLong();
    /** Records read back from the repartition topic (aggregate query only). */
    final AtomicLong aggregated = new AtomicLong();
    /** System.nanoTime() of the first input record; 0 until then. */
    final AtomicLong firstNanos = new AtomicLong();
    /** Highest offset processed, per source partition (input and repartition topics). */
    final Map<TopicPartition, AtomicLong> processed = new ConcurrentHashMap<>();

    void processing(FixedKeyProcessorContext<?, ?> ctx) {
      if (firstNanos.get() == 0) {
        firstNanos.compareAndSet(0, System.nanoTime());
      }
      ctx.recordMetadata().ifPresent(m -> processed
          .computeIfAbsent(new TopicPartition(m.topic(), m.partition()),
              tp -> new AtomicLong(-1))
          .accumulateAndGet(m.offset(), Math::max));
    }
  }

  /**
   * Waits until the whole input is processed and its output is in the output topic.
   *
   * <p>Stateless, at-least-once: records go to the sink as they are processed, so the
   * output is complete once the output topic holds every forwarded record. Otherwise
   * output becomes visible at a commit (the aggregate's cache is flushed, or the
   * exactly-once transaction committed, before the offsets are), so the output is
   * complete once the group's committed offsets are past the last record processed on
   * every source partition, repartition topic included.
   */
  static int await(KafkaStreams streams, Admin admin, String appId, Query q, long expect,
      String output, Map<TopicPartition, Long> outputStart, Progress progress,
      boolean measured) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(q.timeoutMs);
    boolean stateless = q.query.equals("stateless");
    boolean byOutputCount = stateless && !q.exactlyOnce();
    long caughtUpNanos = 0;
    while (true) {
      KafkaStreams.State state = streams.state();
      if (state == KafkaStreams.State.ERROR || state == KafkaStreams.State.PENDING_ERROR
          || state == KafkaStreams.State.NOT_RUNNING) {
        System.err.println("kafka-streams-peer: streams stopped (" + state + ") after "
            + progress.consumed.get() + " input records");
        return 1;
      }
      if (System.nanoTime() > deadline) {
        System.err.println("kafka-streams-peer: timed out after " + progress.consumed.get()
            + " of " + expect + " input records");
        return 2;
      }
      long consumed = progress.consumed.get();
      boolean caughtUp = consumed >= expect
          && (stateless || progress.aggregated.get() >= progress.forwarded.get());
      if (caughtUp && !measured) {
        // the warm-up only needs the code run, not its output complete
        System.err.println("kafka-streams-peer: warm-up processed " + consumed + " records in "
            + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - progress.firstNanos.get())
            + " ms");
        return 0;
      }
      if (caughtUp) {
        if (caughtUpNanos == 0) {
          caughtUpNanos = System.nanoTime();
        }
        boolean complete = byOutputCount
            ? written(admin, output, outputStart) >= progress.forwarded.get()
            : committedPastProcessed(admin, appId, progress);
        if (complete) {
          long elapsedMs = TimeUnit.NANOSECONDS.toMillis(
              System.nanoTime() - progress.firstNanos.get());
          // diagnostics for whoever reads stderr: processing vs waiting for the output
          System.err.println("kafka-streams-peer: input processed after "
              + TimeUnit.NANOSECONDS.toMillis(caughtUpNanos - progress.firstNanos.get())
              + " ms, output complete after " + elapsedMs + " ms");
          say("DONE " + consumed + " " + elapsedMs);
          return 0;
        }
      }
      Thread.sleep(10);
    }
  }

  static long written(Admin admin, String output, Map<TopicPartition, Long> start)
      throws Exception {
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    start.keySet().forEach(tp -> request.put(tp, OffsetSpec.latest()));
    long n = 0;
    for (var e : admin.listOffsets(request).all().get(10, TimeUnit.SECONDS).entrySet()) {
      n += e.getValue().offset() - start.get(e.getKey());
    }
    return n;
  }

  /** The application id is the consumer group id of a Kafka Streams app. */
  static boolean committedPastProcessed(Admin admin, String group, Progress progress)
      throws Exception {
    Map<TopicPartition, OffsetAndMetadata> committed = admin
        .listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
        .get(10, TimeUnit.SECONDS);
    for (Map.Entry<TopicPartition, AtomicLong> e : progress.processed.entrySet()) {
      OffsetAndMetadata c = committed.get(e.getKey());
      if (c == null || c.offset() <= e.getValue().get()) {
        return false;
      }
    }
    return true;
  }

  /** Records a topic holds: end minus start offsets, over its partitions. */
  static long records(Admin admin, String topic) throws Exception {
    Map<TopicPartition, Long> start = offsets(admin, topic, OffsetSpec.earliest());
    return offsets(admin, topic, OffsetSpec.latest()).entrySet().stream()
        .mapToLong(e -> e.getValue() - start.get(e.getKey())).sum();
  }

  static Map<TopicPartition, Long> endOffsets(Admin admin, String topic) throws Exception {
    return offsets(admin, topic, OffsetSpec.latest());
  }

  static Map<TopicPartition, Long> offsets(Admin admin, String topic, OffsetSpec spec)
      throws Exception {
    int partitions = admin.describeTopics(List.of(topic)).allTopicNames().get()
        .get(topic).partitions().size();
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    for (int p = 0; p < partitions; p++) {
      request.put(new TopicPartition(topic, p), spec);
    }
    return admin.listOffsets(request).all().get(10, TimeUnit.SECONDS).entrySet().stream()
        .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
  }

  static void shutdown(KafkaStreams streams, Path stateDir, AtomicBoolean closed) {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (!streams.close(Duration.ofSeconds(60))) {
      System.err.println("kafka-streams-peer: streams did not close within 60 s");
    }
    deleteTree(stateDir);
  }

  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      System.err.println("kafka-streams-peer: could not delete " + dir + ": " + e);
    }
  }

  static synchronized void say(String line) {
    OUT.println(line);
    OUT.flush();
  }

  // ------------------------------------------------------------------------------------
  // JSON serde

  static Serde<JsonNode> jsonSerde() {
    Serializer<JsonNode> ser = (topic, node) -> {
      if (node == null) {
        return null;
      }
      try {
        return MAPPER.writeValueAsBytes(node);
      } catch (IOException e) {
        throw new SerializationException("JSON serialization failed", e);
      }
    };
    Deserializer<JsonNode> de = (topic, bytes) -> {
      if (bytes == null) {
        return null;
      }
      try {
        return MAPPER.readTree(bytes);
      } catch (IOException e) {
        throw new SerializationException("invalid JSON value", e);
      }
    };
    return Serdes.serdeFrom(ser, de);
  }

  // ------------------------------------------------------------------------------------
  // load: the bench input, as benches/common wide_bids() makes it

  /** The i-th bid of benches/common/mod.rs wide_bids(), byte for byte. */
  static String wideBid(long i) {
    return "{\"auction\":" + auction(i)
        + ",\"bidder\":" + (5000 + i % 7919)
        + ",\"price\":" + price(i)
        + ",\"channel\":\"" + (i % 3 == 0 ? "web" : "mobile") + "\""
        + ",\"url\":\"https://bid.example/" + (i % 101) + "\""
        + ",\"extra\":\"xxxxxxxxxxxxxxxxxxxx\"}";
  }

  static long auction(long i) {
    return 1000 + i % 997;
  }

  static long price(long i) {
    return 100 + (i * 37) % 100_000;
  }

  /** Creates the input topic and fills it with N keyless bids, timestamps 0..N-1 ms. */
  static int load(Args args) throws Exception {
    String bootstrap = args.required("bootstrap");
    String input = args.get("input", "bids");
    long n = Long.parseLong(args.required("load"));
    int partitions = Integer.parseInt(args.get("partitions", "1"));
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      // 1970-based timestamps would otherwise fall to time-based retention.
      NewTopic topic = new NewTopic(input, Optional.of(partitions), Optional.empty())
          .configs(Map.of("retention.ms", "-1"));
      admin.createTopics(List.of(topic)).all().get();
    }
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (long i = 0; i < n; i++) {
        // keyless, so records spread over partitions; partition i % P keeps it deterministic
        producer.send(new ProducerRecord<>(input, (int) (i % partitions), i, null,
            wideBid(i).getBytes(StandardCharsets.UTF_8)));
      }
      producer.flush();
    }
    say("LOADED " + n);
    return 0;
  }

  // ------------------------------------------------------------------------------------
  // check: the output topic against what the queries must produce from the loaded input

  static int check(Args args) throws Exception {
    String bootstrap = args.required("bootstrap");
    String query = args.required("query");
    String output = args.required("output");
    long n = Long.parseLong(args.required("expect"));
    List<ConsumerRecord<byte[], byte[]>> records = readAll(bootstrap, output);
    List<String> problems = new ArrayList<>();
    if (query.equals("stateless")) {
      Set<Long> seen = new java.util.HashSet<>();
      for (ConsumerRecord<byte[], byte[]> r : records) {
        JsonNode v = MAPPER.readTree(r.value());
        long i = v.get("TS").asLong();
        boolean ok = r.key() == null
            && r.timestamp() == i
            && v.size() == 4
            && v.get("AUCTION").asLong() == auction(i)
            && v.get("BIDDER").asLong() == 5000 + i % 7919
            && Math.abs(v.get("PRICE_EUR").asDouble() - price(i) * 0.908) < 1e-9;
        if (!ok || !seen.add(i)) {
          problems.add("bad or duplicate record " + new String(r.value(), StandardCharsets.UTF_8));
        }
      }
      if (seen.size() != n || records.size() != n) {
        problems.add(records.size() + " records, " + seen.size() + " distinct TS, expected " + n);
      }
    } else {
      Map<Long, Long> count = new HashMap<>();
      Map<Long, Long> max = new HashMap<>();
      for (long i = 0; i < n; i++) {
        count.merge(auction(i), 1L, Long::sum);
        max.merge(auction(i), price(i), Math::max);
      }
      // The table's latest value per key; the changelog may hold earlier ones too.
      Map<Long, JsonNode> latest = new HashMap<>();
      LongDeserializer keys = new LongDeserializer();
      for (ConsumerRecord<byte[], byte[]> r : records) {
        latest.put(keys.deserialize(output, r.key()), MAPPER.readTree(r.value()));
      }
      if (!latest.keySet().equals(count.keySet())) {
        problems.add(latest.size() + " keys, expected " + count.size());
      }
      for (Map.Entry<Long, Long> e : count.entrySet()) {
        JsonNode v = latest.get(e.getKey());
        if (v == null || v.size() != 2 || v.get("N").asLong() != e.getValue()
            || v.get("MAX_PRICE").asDouble() != max.get(e.getKey())) {
          problems.add("auction " + e.getKey() + ": " + v + ", expected N=" + e.getValue()
              + " MAX_PRICE=" + max.get(e.getKey()));
        }
      }
    }
    if (!problems.isEmpty()) {
      problems.stream().limit(10).forEach(System.err::println);
      say("CHECK FAIL " + problems.size() + " problems, " + records.size() + " records");
      return 1;
    }
    say("CHECK OK " + records.size() + " records");
    if (!records.isEmpty()) {
      System.err.println("first: " + new String(records.get(0).value(), StandardCharsets.UTF_8));
    }
    return 0;
  }

  /** Every committed record of a topic, from the beginning to the current end. */
  static List<ConsumerRecord<byte[], byte[]>> readAll(String bootstrap, String topic) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
          .map(i -> new TopicPartition(topic, i.partition())).collect(Collectors.toList());
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts);
      while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        consumer.poll(Duration.ofMillis(500)).forEach(out::add);
      }
    }
    return out;
  }

  // ------------------------------------------------------------------------------------

  /** {@code --name value} options; a flag followed by another option (or nothing) is "". */
  static final class Args {
    private final Map<String, String> values = new HashMap<>();

    Args(String[] argv) {
      for (int i = 0; i < argv.length; i++) {
        if (!argv[i].startsWith("--")) {
          throw new IllegalArgumentException("unexpected argument " + argv[i]);
        }
        String name = argv[i].substring(2);
        boolean hasValue = i + 1 < argv.length && !argv[i + 1].startsWith("--");
        values.put(name, hasValue ? argv[++i] : "");
      }
    }

    boolean has(String name) {
      return values.containsKey(name);
    }

    String get(String name, String fallback) {
      return values.getOrDefault(name, fallback);
    }

    String required(String name) {
      String v = values.get(name);
      if (v == null || v.isEmpty()) {
        throw new IllegalArgumentException("--" + name + " is required");
      }
      return v;
    }
  }
}
