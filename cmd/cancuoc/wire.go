package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/auditlog"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/webhook"
)

// openStore is the one place that names the concrete backends.
func openStore(ctx context.Context, c *Config) (cancuoc.Store, error) {
	if c.IsPostgres() {
		return postgres.Open(ctx, c.Database)
	}
	if dir := filepath.Dir(c.Database); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	return sqlite.Open(ctx, c.Database)
}

func newLogger(w io.Writer, c *Config) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// app is a wired registry: store, audit writer and service.
type app struct {
	store  cancuoc.Store
	audit  *audit.Writer
	reg    *registry.Service
	log    *auditlog.Log // set by serve and audit (openAuditLog): others need no signing key
	eid    *eid.Service  // set by serve (startEID)
	events *events       // set by serve (startEvents)
	oidc   *oidcWiring   // set by serve (startOIDC)

	// Partners' webhooks: set by serve (startWebhooks) and admin create-webhook.
	hooks      *webhook.Service
	hookWorker *webhook.Worker // serve only
}

func openApp(ctx context.Context, c *Config) (*app, error) {
	st, err := openStore(ctx, c)
	if err != nil {
		return nil, err
	}
	w := audit.NewWriter(st, 0, audit.WithLinger(c.AuditLinger, 32))
	return &app{store: st, audit: w, reg: registry.New(st, w)}, nil
}

// Close flushes the audit log before closing the database.
func (a *app) Close() error {
	_ = a.audit.Close()
	return a.store.Close()
}
