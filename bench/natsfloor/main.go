// Command natsfloor is the NATS floor of bench/procedures.sh: what a
// JetStream server spends on the events of N birth procedures when nothing
// else runs and they are used as cheaply as the design allows.
//
//	natsfloor -url nats://127.0.0.1:19052 -n 3000
//
//	natsfloor -ack-each       # every message acknowledged, as cancuoc's consumers do
//	natsfloor -share-filters  # one consumer per set of filters
//
// Per procedure it publishes the events cancuoc's outbox relays for one
// birth (17, by type, with the payload size bench/procedures.sh measured:
// about 570 bytes with headers), pipelined with message ids, to a file-backed
// stream, while durable pull consumers with cancuoc's subscriptions' filters
// (several filters per consumer, NATS 2.10+) fetch them in batches and
// acknowledge each batch with one ack (AckAll). It prints JSON: procedures,
// messages published and delivered, seconds, and its own CPU seconds; the
// server's CPU is measured by the caller.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// perProcedure are one birth procedure's events, in the order cancuoc
// emits them (bench/procedures.sh TABLE_STATS=1: 17.5 messages, 6 of them
// citizen.*).
var perProcedure = []string{
	"procedure.submitted", "procedure.task_created",
	"procedure.step_claimed", "citizen.born", "citizen.updated", "citizen.documents_issued", "procedure.step_completed", "procedure.task_created",
	"procedure.step_claimed", "citizen.updated", "procedure.step_completed", "procedure.task_created",
	"procedure.step_claimed", "citizen.updated", "citizen.documents_issued", "procedure.step_completed", "procedure.completed",
}

// consumers are cancuoc's subscriptions on JetStream, by name and filters.
var consumers = map[string][]string{
	"workflow-steps":             {"procedure.step_completed"},
	"wallet-procedure-documents": {"procedure.step_completed"},
	"wallet-documents":           {"citizen.died", "citizen.missing", "citizen.updated"},
	"eid-accounts":               {"citizen.died", "citizen.missing", "citizen.updated"},
	"partner-match-vm":           {"citizen.>"},
	"webhooks":                   {"citizen.>", "citizens.>"},
}

const prefix = "floor.events."

func main() {
	url := flag.String("url", nats.DefaultURL, "NATS server")
	n := flag.Int("n", 3000, "procedures")
	batch := flag.Int("batch", 50, "messages per fetch")
	window := flag.Int("window", 256, "publishes in flight")
	each := flag.Bool("ack-each", false, "acknowledge every message (AckExplicit, as cancuoc's consumers do) instead of each batch with its last (AckAll)")
	shared := flag.Bool("share-filters", false, "one consumer for the subscriptions with the same filters (what merging them would save)")
	flag.Parse()
	if *shared {
		consumers = sharedConsumers(consumers)
	}
	if err := run(*url, *n, *batch, *window, *each); err != nil {
		fmt.Fprintln(os.Stderr, "natsfloor:", err)
		os.Exit(1)
	}
}

// sharedConsumers keeps one consumer of each set of filters.
func sharedConsumers(all map[string][]string) map[string][]string {
	out, seen := map[string][]string{}, map[string]bool{}
	for name, fs := range all {
		key := strings.Join(fs, ",")
		if !seen[key] {
			seen[key], out[name] = true, fs
		}
	}
	return out
}

func run(url string, n, batch, window int, each bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "FLOOR", Subjects: []string{prefix + ">"},
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute})
	if err != nil {
		return err
	}
	want := map[string]int{}
	for name, fs := range consumers {
		cfg := jetstream.ConsumerConfig{Durable: name, AckPolicy: jetstream.AckAllPolicy, MaxAckPending: 4 * batch, AckWait: 30 * time.Second}
		if each {
			cfg.AckPolicy = jetstream.AckExplicitPolicy
		}
		for _, f := range fs {
			cfg.FilterSubjects = append(cfg.FilterSubjects, prefix+f)
		}
		if _, err := st.CreateOrUpdateConsumer(ctx, cfg); err != nil {
			return fmt.Errorf("consumer %s: %w", name, err)
		}
		for _, t := range perProcedure {
			if matches(fs, t) {
				want[name] += n
			}
		}
	}

	start := time.Now()
	var delivered atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(consumers)+1)
	for name := range consumers {
		wg.Go(func() {
			if err := consume(ctx, st, name, want[name], batch, each, &delivered); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		})
	}
	published, err := publish(ctx, js, n, window)
	if err != nil {
		return err
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"procedures": n, "published": published,
		"delivered": delivered.Load(), "seconds": secs, "client_cpu_seconds": cpu})
}

// matches tells whether event type t is under one of the filters fs.
func matches(fs []string, t string) bool {
	for _, f := range fs {
		if f == t || strings.HasSuffix(f, ".>") && strings.HasPrefix(t, strings.TrimSuffix(f, ">")) {
			return true
		}
	}
	return false
}

// publish sends the n procedures' events, window at a time in flight, each
// with its message id, as cancuoc's relay does.
func publish(ctx context.Context, js jetstream.JetStream, n, window int) (int, error) {
	payload := strings.Repeat("x", 440)
	var futures []jetstream.PubAckFuture
	sent := 0
	wait := func() error {
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		futures = futures[:0]
		return nil
	}
	for p := range n {
		for i, t := range perProcedure {
			msg := nats.NewMsg(prefix + t)
			id := strconv.Itoa(p) + "-" + strconv.Itoa(i)
			msg.Header.Set("Cancuoc-Seq", strconv.Itoa(sent+1))
			msg.Header.Set("Cancuoc-Type", t)
			msg.Data = []byte(`{"id":"` + id + `","type":"` + t + `","pin":"001226012345","data":"` + payload + `"}`)
			f, err := js.PublishMsgAsync(msg, jetstream.WithMsgID(id))
			if err != nil {
				return sent, err
			}
			futures = append(futures, f)
			sent++
			if len(futures) >= window {
				if err := wait(); err != nil {
					return sent, err
				}
			}
		}
	}
	return sent, wait()
}

// consume fetches name's messages in batches until it has want of them,
// acknowledging each batch with its last message, or with each every
// message.
func consume(ctx context.Context, st jetstream.Stream, name string, want, batch int, each bool, delivered *atomic.Int64) error {
	cons, err := st.Consumer(ctx, name)
	if err != nil {
		return err
	}
	for got := 0; got < want; {
		b, err := cons.Fetch(batch, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return err
		}
		var last jetstream.Msg
		for m := range b.Messages() {
			last = m
			got++
			if each {
				if err := m.Ack(); err != nil {
					return err
				}
			}
		}
		if each {
			last = nil
		}
		if err := b.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if last != nil {
			if err := last.Ack(); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	delivered.Add(int64(want))
	return nil
}
