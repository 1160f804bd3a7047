// cell.js - one cell of the compatibility matrix (tests/integration/test_matrix.py) with
// KafkaJS, a pure JavaScript client. Same steps and output as the other drivers: one JSON
// object per step, exit 0 when every step passed.
'use strict';
const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

const a = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) a[process.argv[i].slice(2)] = process.argv[i + 1];
const n = parseInt(a.records || '500', 10);
let allOk = true;

function step(name, ok, detail) {
  allOk = allOk && !!ok;
  console.log(JSON.stringify({ step: name, ok: !!ok, detail: String(detail || '') }));
}
const key = (i) => Buffer.from('k' + String(i).padStart(5, '0'));
function value(i) {
  let s = 'v' + String(i).padStart(5, '0') + '-';
  for (let k = 0; k < i % 50; k++) s += String.fromCharCode(97 + ((i + k) % 26));
  return Buffer.from(s);
}

function client(password) {
  let ssl = false;   /* --security plaintext: a plain broker, for reproductions */
  if (a.security !== 'plaintext') {
    ssl = { ca: [fs.readFileSync(a.ca)], servername: a.bootstrap.split(':')[0] };
    if (a.cert) { ssl.cert = fs.readFileSync(a.cert); ssl.key = fs.readFileSync(a.key); }
  }
  const c = { clientId: 'kg-compat', brokers: [a.bootstrap], ssl, logLevel: logLevel.NOTHING,
              connectionTimeout: 10000, requestTimeout: 30000, retry: { retries: 3 } };
  if (a.security === 'sasl_ssl')
    c.sasl = { mechanism: a.mechanism.toLowerCase(), username: a.user, password };
  return new Kafka(c);
}

async function run() {
  const kafka = client(a.password);
  const admin = kafka.admin();
  await admin.connect();
  const cl = await admin.describeCluster();
  step('metadata', cl.brokers.length > 0, cl.brokers.map((b) => b.host + ':' + b.port).join(' '));
  // waitForLeaders fails against a plain Kafka 3.6 broker too (KafkaJS 2.2.4 asks for the
  // new topic's metadata before every broker has it): wait for the leaders here instead.
  await admin.createTopics({ waitForLeaders: false, topics: [
    { topic: a.topic, numPartitions: 3, replicationFactor: 3 },
    { topic: a.topic + '-tx', numPartitions: 1, replicationFactor: 3 }] });
  for (let t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 300))) {
    try {
      const md = await admin.fetchTopicMetadata({ topics: [a.topic, a.topic + '-tx'] });
      if (md.topics.every((t) => t.partitions.length && t.partitions.every((p) => p.leader >= 0))) break;
    } catch (e) {
      if (Date.now() - t0 > 60000) throw e;
    }
  }
  step('create', true, a.topic);

  const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await p.connect();
  const msgs = [];
  for (let i = 0; i < n; i++) msgs.push({ key: key(i), value: value(i) });
  await p.send({ topic: a.topic, acks: -1, messages: msgs });
  await p.disconnect();
  step('produce', true, n + ' records (idempotent, acks=all)');

  const got = new Map();
  const c = kafka.consumer({ groupId: a.group, readUncommitted: false });
  await c.connect();
  await c.subscribe({ topic: a.topic, fromBeginning: true });
  await new Promise((resolve) => {
    const t = setTimeout(resolve, 90000);
    c.run({ autoCommit: false, eachMessage: async ({ topic, partition, message }) => {
      got.set(message.key.toString(), message.value);
      await c.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      if (got.size >= n) { clearTimeout(t); resolve(); }
    } });
  });
  await c.disconnect();
  let exact = got.size === n;
  for (let i = 0; i < n && exact; i++) exact = value(i).equals(got.get(key(i).toString()) || Buffer.alloc(0));
  step('consume', exact, got.size + ' of ' + n + ' byte-exact, offsets committed');

  const tp = kafka.producer({ transactionalId: a.txn, idempotent: true, maxInFlightRequests: 1 });
  await tp.connect();
  for (const commit of [true, false]) {
    const tx = await tp.transaction();
    const tm = [];
    for (let i = 0; i < 10; i++) tm.push({ key: key(i), value: value(i) });
    await tx.send({ topic: a.topic + '-tx', messages: tm });
    if (commit) await tx.commit(); else await tx.abort();
  }
  await tp.disconnect();
  let seen = 0;
  const rc = kafka.consumer({ groupId: a.group + '-tx', readUncommitted: false });
  await rc.connect();
  await rc.subscribe({ topic: a.topic + '-tx', fromBeginning: true });
  await new Promise((resolve) => {
    setTimeout(resolve, 15000);
    rc.run({ eachMessage: async () => { seen++; } });
  });
  await rc.disconnect();
  step('transactions', seen === 10, seen + ' records read_committed (10 committed, 10 aborted)');

  const dg = await admin.describeGroups([a.group]);
  const offs = await admin.fetchOffsets({ groupId: a.group, topics: [a.topic] });
  let total = 0;
  for (const t of offs) for (const pt of t.partitions) if (Number(pt.offset) > 0) total += Number(pt.offset);
  step('describe_group', dg.groups[0].groupId === a.group && total === n,
       'state ' + dg.groups[0].state + ', committed ' + total);
  await admin.deleteTopics({ topics: [a.topic, a.topic + '-tx'] });
  step('delete', true, a.topic);
  await admin.disconnect();
}

async function badPassword() {
  if (a.security !== 'sasl_ssl') return;
  const t0 = Date.now();
  const admin = client('wrong-password').admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    step('bad_password', false, 'accepted');
  } catch (e) {
    step('bad_password', /SASL|uthentication/.test(String(e)), (Date.now() - t0) + ' ms: ' + e);
  }
  try { await admin.disconnect(); } catch (e) { /* closed already */ }
}

(async () => {
  try { await run(); } catch (e) { step('error', false, String(e && e.stack || e)); }
  await badPassword();
  process.exit(allOk ? 0 : 1);
})();
