// Drives a running Sluice server with `ksqldb-client` (npm, a third-party ksqlDB
// client over HTTP/2) and exits non-zero on the first answer that is not ksqlDB's.
// Usage: node ksqldb-client.js PORT   (NODE_PATH names the installed package)
const assert = require("assert");
const KsqldbClient = require("ksqldb-client");

const port = Number(process.argv[2]);
const client = new KsqldbClient({ host: "http://127.0.0.1", port });
const earliest = { "auto.offset.reset": "earliest" };

(async () => {
  await client.connect();

  const created = await client.executeStatement(
    "CREATE STREAM CLICKS (USER_ID STRING KEY, PAGE STRING) " +
      "WITH (kafka_topic='clicks', value_format='JSON', partitions=1);"
  );
  assert.strictEqual(created.status, 200, JSON.stringify(created));
  assert.strictEqual(created.data.rows[0].commandStatus.status, "SUCCESS");

  // the processing log's stream is listed beside it, as in ksqlDB
  const streams = await client.listStreams();
  assert.deepStrictEqual(
    streams.map((s) => [s.name, s.topic]).sort(),
    [["CLICKS", "clicks"], ["KSQL_PROCESSING_LOG", "default_ksql_processing_log"]]
  );

  for (const [user, page] of [["ann", "home"], ["bo", "cart"], ["ann", "pay"]]) {
    const ins = await client.insertInto("CLICKS", { USER_ID: user, PAGE: page });
    assert.strictEqual(ins.status, 200, JSON.stringify(ins));
    assert.strictEqual(ins.data.rows[0].status, "ok");
  }

  const ctas = await client.executeStatement(
    "CREATE TABLE PER_USER AS SELECT USER_ID, COUNT(*) AS N FROM CLICKS GROUP BY USER_ID;",
    { streamsProperties: earliest }
  );
  assert.strictEqual(ctas.status, 200, JSON.stringify(ctas));

  const rows = [];
  const push = await client.streamQuery(
    "SELECT USER_ID, PAGE FROM CLICKS EMIT CHANGES LIMIT 3;",
    (d) => rows.push(...(d.rows || [])),
    { properties: earliest }
  );
  assert.strictEqual(push.status, 200, JSON.stringify(push));
  assert.deepStrictEqual(push.data.metadata.columnNames, ["USER_ID", "PAGE"]);
  assert.deepStrictEqual(rows, [
    { USER_ID: "ann", PAGE: "home" },
    { USER_ID: "bo", PAGE: "cart" },
    { USER_ID: "ann", PAGE: "pay" },
  ]);

  // the table is maintained in the background: poll until it has counted all rows
  let pull;
  for (let i = 0; i < 100; i++) {
    pull = await client.query("SELECT * FROM PER_USER WHERE USER_ID = 'ann';");
    if (pull.data && pull.data.rows.length === 1 && pull.data.rows[0].N === 2) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepStrictEqual(pull.data.rows, [{ USER_ID: "ann", N: 2 }], JSON.stringify(pull));

  const bad = await client.query("SELECT * FROM NO_SUCH_TABLE;");
  assert.ok(bad.error, JSON.stringify(bad));
  assert.match(JSON.stringify(bad.error), /NO_SUCH_TABLE/);

  const described = await client.describeSource("CLICKS");
  assert.strictEqual(described.name, "CLICKS");
  assert.deepStrictEqual(described.readQueries.map((q) => q.id), ["CTAS_PER_USER_0"]);

  await client.disconnect();
  console.log("ksqldb-client: all checks passed");
})().catch((e) => {
  console.error("ksqldb-client check failed:", e);
  process.exit(1);
});
