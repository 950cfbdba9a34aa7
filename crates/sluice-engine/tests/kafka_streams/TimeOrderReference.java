// Kafka Streams' own results for the queries of time_order.rs, from its test
// driver (TopologyTestDriver, kafka-streams-test-utils), fed the input records
// in timestamp order: what Kafka Streams gives for a backlog, whose task
// processes the record with the smallest timestamp across its partitions next.
//
// Run (Java's source-file mode, the jars of sluice_testkit::kafka::streams_libs):
//   java -cp 'LIBS/*' TimeOrderReference.java join|window < input
// Input: one record per line, `topic<TAB>key<TAB>value<TAB>timestamp`.
// Output: one line per output record:
//   join:   key<TAB>A,B<TAB>timestamp   (the joined rows' A and B)
//   window: key<TAB>window start<TAB>count<TAB>timestamp
// The topologies are the ones ksqlDB builds for the tests' statements:
//   join:   l JOIN r WITHIN 2 SECONDS GRACE PERIOD 1 SECOND ON l.k = r.k
//   window: COUNT(*) FROM clicks WINDOW TUMBLING (SIZE 10 SECONDS,
//           GRACE PERIOD 0 SECONDS) GROUP BY the key
// with record caches off, as ksqlDB's test runner has them.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.StreamJoined;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.test.TestRecord;

public class TimeOrderReference {
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: TimeOrderReference join|window < input");
        }
        List<String[]> input = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        for (String line; (line = in.readLine()) != null; ) {
            if (!line.isEmpty()) {
                input.add(line.split("\t", -1));
            }
        }
        // a stable sort: records of equal timestamps keep their order
        input.sort(Comparator.comparingLong(r -> Long.parseLong(r[3])));

        Serde<String> s = Serdes.String();
        StreamsBuilder builder = new StreamsBuilder();
        switch (args[0]) {
            case "join": {
                KStream<String, String> l = builder.stream("l", Consumed.with(s, s));
                KStream<String, String> r = builder.stream("r", Consumed.with(s, s));
                l.join(
                        r,
                        (a, b) -> field(a, "A") + "," + field(b, "B"),
                        JoinWindows.ofTimeDifferenceAndGrace(Duration.ofSeconds(2), Duration.ofSeconds(1)),
                        StreamJoined.with(s, s, s))
                    .to("out", Produced.with(s, s));
                break;
            }
            case "window": {
                builder.stream("clicks", Consumed.with(s, s))
                    .groupByKey(Grouped.with(s, s))
                    .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofSeconds(10), Duration.ZERO))
                    .count()
                    .toStream()
                    .map((w, n) -> KeyValue.pair(w.key() + "\t" + w.window().start(), String.valueOf(n)))
                    .to("out", Produced.with(s, s));
                break;
            }
            default:
                throw new IllegalArgumentException("unknown query " + args[0]);
        }

        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "time-order-reference");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        // a state directory of its own: several runs at once never share one
        Path stateDir = Files.createTempDirectory("time-order-reference");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        try (TopologyTestDriver driver = new TopologyTestDriver(builder.build(), props)) {
            Map<String, TestInputTopic<String, String>> topics = new HashMap<>();
            for (String[] r : input) {
                topics.computeIfAbsent(r[0], t -> driver.createInputTopic(t, s.serializer(), s.serializer()))
                    .pipeInput(r[1], r[2], Long.parseLong(r[3]));
            }
            for (TestRecord<String, String> out :
                    driver.createOutputTopic("out", s.deserializer(), s.deserializer()).readRecordsToList()) {
                System.out.println(out.key() + "\t" + out.value() + "\t" + out.timestamp());
            }
        } finally {
            try (Stream<Path> paths = Files.walk(stateDir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** The integer member `name` of a flat JSON object, as text. */
    static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":(-?\\d+)").matcher(json);
        return m.find() ? m.group(1) : "null";
    }
}
