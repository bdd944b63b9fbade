package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/dispatch"
	"github.com/cancuoc/cancuoc/workday"
)

// eventsConfig is the part of the configuration for events and deadlines.
type eventsConfig struct {
	NATSURL      string // CANCUOC_NATS_URL: nats://… ; empty: events stay in the process; secret (may hold a password)
	HolidaysFile string // CANCUOC_HOLIDAYS_FILE: extra days off and make-up days, same CSV as workday/data/holidays.csv
}

// bindEventsConfig registers the events flags on fs, with defaults from the
// environment.
func bindEventsConfig(fs *flag.FlagSet, getenv func(string) string) *eventsConfig {
	ec := &eventsConfig{}
	env := func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		if f := getenv(name + "_FILE"); f != "" {
			if b, err := os.ReadFile(f); err == nil {
				return strings.TrimSpace(string(b))
			}
		}
		return ""
	}
	fs.StringVar(&ec.NATSURL, "nats-url", env("CANCUOC_NATS_URL"),
		"NATS server with JetStream for events shared between nodes and agencies, e.g. nats://127.0.0.1:4222; empty keeps events in the process (CANCUOC_NATS_URL, CANCUOC_NATS_URL_FILE)")
	fs.StringVar(&ec.HolidaysFile, "holidays-file", getenv("CANCUOC_HOLIDAYS_FILE"),
		"CSV of extra or corrected days off and make-up working days, as workday/data/holidays.csv (CANCUOC_HOLIDAYS_FILE)")
	return ec
}

// masked is the NATS URL as it may be logged.
func (ec *eventsConfig) masked() string {
	u, err := url.Parse(ec.NATSURL)
	if err != nil || u.User == nil {
		return ec.NATSURL
	}
	u.User = url.User("*****")
	return u.String()
}

// events is the running event dispatcher and the working-day calendar.
// Capabilities add their handlers with Subscribe, before or after start.
type events struct {
	*dispatch.Dispatcher
	Calendar *workday.Calendar
	nc       *nats.Conn // nil in-process
}

// startEvents loads the calendar and starts the dispatcher: in the process,
// or through JetStream when a NATS URL is configured.
func (a *app) startEvents(ctx context.Context, ec *eventsConfig, log *slog.Logger) error {
	cal, err := workday.Load(ec.HolidaysFile)
	if err != nil {
		return fmt.Errorf("holidays file: %w", err)
	}
	for _, y := range []int{time.Now().In(workday.Zone()).Year(), time.Now().In(workday.Zone()).Year() + 1} {
		if !cal.Covers(y) {
			log.Warn("no announced holidays for this year: Tết and Hùng Kings' day are not counted in deadlines; add them with --holidays-file", "year", y)
		}
	}
	ev := &events{Calendar: cal}
	opts := []dispatch.Option{dispatch.WithLogger(log.With("component", "dispatch"))}
	if ec.NATSURL != "" {
		nc, err := nats.Connect(ec.NATSURL, nats.Name("cancuoc "+version), nats.MaxReconnects(-1))
		if err != nil {
			return cancuoc.WithOp("startEvents", &cancuoc.Error{Kind: cancuoc.Unavailable, Code: "nats_unavailable",
				MessageVI: "Không kết nối được NATS.", MessageEN: "cannot connect to NATS at " + ec.masked(), Err: err})
		}
		js, err := jetstream.New(nc)
		if err != nil {
			nc.Close()
			return err
		}
		ev.nc = nc
		opts = append(opts, dispatch.WithJetStream(js, dispatch.JetStreamConfig{}))
	}
	// A store that sequences events after their commit (PostgreSQL) wakes
	// the consumers when a batch gets its seqs: a commit's own Notify
	// would come before its event can be read.
	if ls, ok := a.store.(cancuoc.LogSequencer); ok {
		opts = append(opts, dispatch.WithSequencer(ls))
	}
	ev.Dispatcher = dispatch.New(a.store, opts...)
	if err := ev.Start(ctx); err != nil {
		if ev.nc != nil {
			ev.nc.Close()
		}
		return err
	}
	mode := "in-process"
	if ev.nc != nil {
		mode = "jetstream " + ec.masked()
	}
	log.Info("event dispatcher started", "mode", mode)
	a.events = ev
	return nil
}

// stopEvents stops the dispatcher (handlers finish, cursors are saved) and
// closes the NATS connection, after flushing what it buffered.
func (a *app) stopEvents() {
	if a.events == nil {
		return
	}
	a.events.Stop()
	if a.events.nc != nil {
		_ = a.events.nc.Drain()
	}
}
