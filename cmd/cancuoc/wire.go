package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/application"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/auditlog"
	"github.com/cancuoc/cancuoc/clientaddr"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/partner"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/quality"
	"github.com/cancuoc/cancuoc/reconcile"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/stats"
	"github.com/cancuoc/cancuoc/wallet"
	"github.com/cancuoc/cancuoc/webhook"
	"github.com/cancuoc/cancuoc/workflow"
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

	wf   *workflow.Service // set by serve (startWorkflow)
	chip *chipWiring       // set by serve (startChip)
	// verify is the partners capability: policies, match checks, consents.
	verify *partner.Service
	// proxies are the trusted reverse proxies (--trusted-proxies), set by serve.
	proxies *clientaddr.Resolver
	stats   *stats.Service     // set by serve (newStats)
	wallet  *wallet.Service    // set by serve (startWallet)
	recon   *reconcile.Service // set by serve (startReconcile)
	// Partners' webhooks: set by serve (startWebhooks) and admin create-webhook.
	hooks      *webhook.Service
	hookWorker *webhook.Worker // serve only

	// apps are citizens' online applications: set by serve (startApplications).
	apps *application.Service
	// The officers' data-quality lists, set by serve (startQuality).
	lists *quality.Service

	// This node's match projection: set by serve (startMatchProjection).
	matchProj *partner.Projection
}

func openApp(ctx context.Context, c *Config) (*app, error) {
	st, err := openStore(ctx, c)
	if err != nil {
		return nil, err
	}
	w := audit.NewWriter(st, 0, audit.WithLinger(c.AuditLinger, 32))
	return &app{store: st, audit: w, reg: registry.New(st, w), verify: partner.New(st, w)}, nil
}

// Close flushes the audit log before closing the database.
func (a *app) Close() error {
	if a.oidc != nil {
		a.oidc.stop()
	}
	if a.recon != nil {
		a.recon.Close() // jobs stop at a checkpoint before the store closes
	}
	_ = a.audit.Close()
	return a.store.Close()
}
