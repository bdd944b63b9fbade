package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/cancuoc/cancuoc"
)

func TestEventsConfig(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "nats")
	if err := os.WriteFile(secret, []byte("nats://relay:s3cret@nats.example:4222\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CANCUOC_NATS_URL_FILE": secret, "CANCUOC_HOLIDAYS_FILE": "/etc/cancuoc/holidays.csv"}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	ec := bindEventsConfig(fs, func(k string) string { return env[k] })
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if ec.NATSURL != "nats://relay:s3cret@nats.example:4222" || ec.HolidaysFile != "/etc/cancuoc/holidays.csv" {
		t.Errorf("config from environment not applied: %+v", ec)
	}
	if m := ec.masked(); strings.Contains(m, "s3cret") || strings.Contains(m, "relay") {
		t.Errorf("masked() = %q: credentials must be hidden", m)
	}
}

// TestStartEvents starts the dispatcher in the process and with an
// embedded JetStream server, and sees a subscribed handler get the
// bootstrap's event.
func TestStartEvents(t *testing.T) {
	for _, mode := range []string{"in-process", "jetstream"} {
		t.Run(mode, func(t *testing.T) {
			ec := &eventsConfig{}
			if mode == "jetstream" {
				ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
					StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
				if err != nil {
					t.Fatal(err)
				}
				ns.Start()
				defer ns.Shutdown()
				if !ns.ReadyForConnections(10 * time.Second) {
					t.Fatal("NATS not ready")
				}
				ec.NATSURL = ns.ClientURL()
			}
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			c, validate := bindConfig(fs, noEnv)
			if err := fs.Parse([]string{"--data-dir", t.TempDir()}); err != nil {
				t.Fatal(err)
			}
			if err := validate(); err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			a, err := openApp(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			if err := a.startEvents(ctx, ec, log); err != nil {
				t.Fatal(err)
			}
			defer a.stopEvents()
			got := make(chan cancuoc.Event, 1)
			a.events.Subscribe("test", []string{cancuoc.EventPrincipalCreate}, func(_ context.Context, e cancuoc.Event) error {
				select {
				case got <- e:
				default:
				}
				return nil
			})
			if _, _, err := a.reg.Bootstrap(ctx); err != nil {
				t.Fatal(err)
			}
			a.events.Notify()
			select {
			case e := <-got:
				if e.Type != cancuoc.EventPrincipalCreate || e.ID == "" {
					t.Errorf("handler got %+v", e)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("the handler never got the bootstrap's event")
			}
			if !a.events.Calendar.Covers(2026) {
				t.Error("calendar without the embedded holidays")
			}
		})
	}
}
