// Command kgcell: one cell of the compatibility matrix (tests/integration/test_matrix.py)
// with franz-go, a pure Go Kafka client. Same steps and output as the other drivers: one
// JSON object per step, exit 0 when every step passed.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

var allOK = true

func step(name string, ok bool, detail string) {
	allOK = allOK && ok
	b, _ := json.Marshal(map[string]any{"step": name, "ok": ok, "detail": detail})
	fmt.Println(string(b))
}

func key(i int) []byte { return []byte(fmt.Sprintf("k%05d", i)) }

func value(i int) []byte {
	b := []byte(fmt.Sprintf("v%05d-", i))
	for k := 0; k < i%50; k++ {
		b = append(b, byte('a'+(i+k)%26))
	}
	return b
}

type cfg struct {
	bootstrap, security, mechanism, user, password, ca, cert, key string
}

func (c cfg) opts(password string) ([]kgo.Opt, error) {
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(c.ca)
	if err != nil {
		return nil, err
	}
	pool.AppendCertsFromPEM(pem)
	t := &tls.Config{RootCAs: pool, ServerName: strings.Split(c.bootstrap, ":")[0]}
	if c.cert != "" {
		kp, err := tls.LoadX509KeyPair(c.cert, c.key)
		if err != nil {
			return nil, err
		}
		t.Certificates = []tls.Certificate{kp}
	}
	o := []kgo.Opt{kgo.SeedBrokers(c.bootstrap), kgo.DialTLSConfig(t),
		kgo.RequestTimeoutOverhead(15 * time.Second)}
	if c.security == "sasl_ssl" {
		var m sasl.Mechanism
		switch c.mechanism {
		case "PLAIN":
			m = plain.Auth{User: c.user, Pass: password}.AsMechanism()
		case "SCRAM-SHA-256":
			m = scram.Auth{User: c.user, Pass: password}.AsSha256Mechanism()
		default:
			m = scram.Auth{User: c.user, Pass: password}.AsSha512Mechanism()
		}
		o = append(o, kgo.SASL(m))
	}
	return o, nil
}

func run(c cfg, topic, group, txn string, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	base, err := c.opts(c.password)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(base...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	bm, err := adm.BrokerMetadata(ctx)
	if err != nil {
		return err
	}
	var bs []string
	for _, b := range bm.Brokers {
		bs = append(bs, fmt.Sprintf("%s:%d", b.Host, b.Port))
	}
	step("metadata", len(bs) > 0, strings.Join(bs, " "))
	for _, t := range []struct {
		name string
		p    int32
	}{{topic, 3}, {topic + "-tx", 1}} {
		r, err := adm.CreateTopic(ctx, t.p, 3, nil, t.name)
		if err == nil {
			err = r.Err
		}
		if err != nil {
			return fmt.Errorf("create %s: %w", t.name, err)
		}
	}
	step("create", true, topic)

	pr, err := kgo.NewClient(append(base, kgo.RequiredAcks(kgo.AllISRAcks()))...)
	if err != nil {
		return err
	}
	var recs []*kgo.Record
	for i := 0; i < n; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Key: key(i), Value: value(i)})
	}
	err = pr.ProduceSync(ctx, recs...).FirstErr()
	pr.Close()
	step("produce", err == nil, fmt.Sprintf("%d records (idempotent, acks=all) %v", n, err))

	co, err := kgo.NewClient(append(base, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))...)
	if err != nil {
		return err
	}
	got := map[string][]byte{}
	deadline := time.Now().Add(90 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		pctx, pc := context.WithTimeout(ctx, 2*time.Second)
		fs := co.PollFetches(pctx)
		pc()
		fs.EachRecord(func(r *kgo.Record) { got[string(r.Key)] = r.Value })
	}
	cerr := co.CommitUncommittedOffsets(ctx)
	co.Close()
	exact := len(got) == n && cerr == nil
	for i := 0; i < n && exact; i++ {
		exact = bytes.Equal(got[string(key(i))], value(i))
	}
	step("consume", exact, fmt.Sprintf("%d of %d byte-exact, offsets committed (%v)", len(got), n, cerr))

	tp, err := kgo.NewClient(append(base, kgo.TransactionalID(txn))...)
	if err != nil {
		return err
	}
	for _, commit := range []bool{true, false} {
		if err := tp.BeginTransaction(); err != nil {
			return err
		}
		var tr []*kgo.Record
		for i := 0; i < 10; i++ {
			tr = append(tr, &kgo.Record{Topic: topic + "-tx", Key: key(i), Value: value(i)})
		}
		if err := tp.ProduceSync(ctx, tr...).FirstErr(); err != nil {
			return err
		}
		if err := tp.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			return err
		}
	}
	tp.Close()
	rc, err := kgo.NewClient(append(base, kgo.ConsumeTopics(topic+"-tx"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))...)
	if err != nil {
		return err
	}
	seen := 0
	deadline = time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		pctx, pc := context.WithTimeout(ctx, 2*time.Second)
		k := rc.PollFetches(pctx).NumRecords()
		pc()
		seen += k
		if seen >= 10 && k == 0 {
			break
		}
	}
	rc.Close()
	step("transactions", seen == 10, fmt.Sprintf("%d records read_committed (10 committed, 10 aborted)", seen))

	dg, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return err
	}
	of, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return err
	}
	var total int64
	of.Each(func(o kadm.OffsetResponse) { total += o.At })
	g := dg[group]
	step("describe_group", g.Group == group && total == int64(n), fmt.Sprintf("state %s, committed %d", g.State, total))
	if _, err := adm.DeleteTopics(ctx, topic, topic+"-tx"); err != nil {
		return err
	}
	step("delete", true, topic)
	return nil
}

func badPassword(c cfg) {
	if c.security != "sasl_ssl" {
		return
	}
	t0 := time.Now()
	o, _ := c.opts("wrong-password")
	cl, err := kgo.NewClient(o...)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = cl.Ping(ctx)
		cancel()
		cl.Close()
	}
	ok := err != nil && (strings.Contains(err.Error(), "SASL_AUTHENTICATION_FAILED") ||
		strings.Contains(strings.ToLower(err.Error()), "authentication"))
	step("bad_password", ok, fmt.Sprintf("%d ms: %v", time.Since(t0).Milliseconds(), err))
}

func main() {
	var c cfg
	var topic, group, txn string
	var n int
	flag.StringVar(&c.bootstrap, "bootstrap", "", "")
	flag.StringVar(&c.security, "security", "sasl_ssl", "")
	flag.StringVar(&c.mechanism, "mechanism", "SCRAM-SHA-512", "")
	flag.StringVar(&c.user, "user", "", "")
	flag.StringVar(&c.password, "password", "", "")
	flag.StringVar(&c.ca, "ca", "", "")
	flag.StringVar(&c.cert, "cert", "", "")
	flag.StringVar(&c.key, "key", "", "")
	flag.StringVar(&topic, "topic", "", "")
	flag.StringVar(&group, "group", "", "")
	flag.StringVar(&txn, "txn", "", "")
	flag.IntVar(&n, "records", 500, "")
	flag.Parse()
	if err := run(c, topic, group, txn, n); err != nil {
		step("error", false, err.Error())
	}
	badPassword(c)
	if !allOK {
		os.Exit(1)
	}
}
