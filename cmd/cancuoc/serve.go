package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/cancuoc/cancuoc"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c, validate := bindConfig(fs, getenv)
	ec := bindEventsConfig(fs, getenv)
	oc := bindOIDC(fs, getenv)
	cc := bindChip(fs, getenv)
	proxies := bindProxies(fs, getenv)
	wc := bindWeb(fs, getenv)
	walletc := bindWallet(fs, getenv)
	hookc := bindWebhookConfig(fs, getenv)
	appc := bindApplicationsConfig(fs, getenv)
	qualc := bindQuality(fs, getenv)
	gcc := bindGC(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := validate(); err != nil {
		return err
	}
	if gcc.HeadroomMB < 0 {
		return fmt.Errorf("-gc-headroom-mb must be 0 or more")
	}
	trusted, err := proxies()
	if err != nil {
		return err
	}
	log := newLogger(os.Stderr, c)
	log.Info("starting cancuoc", "version", version, "config", c.Masked())
	defer startGCHeadroom(uint64(gcc.HeadroomMB)<<20, getenv, log)()
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.Close()
	a.proxies = trusted
	if err := a.startAuditLog(ctx, c, log); err != nil {
		return err
	}
	// Partners' quotas hold across nodes: each node adds its calls to the
	// shared counters and learns the others' once a second.
	go a.verify.RunQuotaSync(ctx, time.Second, func(err error) { log.Warn("partner quota sync failed", "err", err) })
	if err := a.startEID(c, oc, getenv, log); err != nil {
		return err
	}
	if err := a.startChip(c, cc, log); err != nil {
		return err
	}
	if err := a.startOIDC(c, oc, log); err != nil {
		return err
	}
	if err := a.startWallet(c, walletc, log); err != nil {
		return err
	}
	if err := a.startReconcile(ctx, c, log); err != nil {
		return err
	}
	if err := a.startEvents(ctx, ec, log); err != nil {
		return err
	}
	defer a.stopEvents()
	a.startWorkflow(ctx, log)
	a.startQuality(ctx, qualc, log)
	a.subscribeWallet()
	if err := a.startWebhooks(ctx, c, hookc, log); err != nil {
		return err
	}
	a.startApplications(appc)
	if a.eid != nil {
		// A death closes the eID account and a missing declaration suspends
		// it; the handler is idempotent, as at-least-once delivery requires.
		a.events.Subscribe("eid-accounts", []string{cancuoc.EventCitizenDied, cancuoc.EventCitizenMissing, cancuoc.EventCitizenUpdated}, a.eid.HandleRegistryEvent)
	}

	key, created, err := a.reg.Bootstrap(ctx)
	if err != nil {
		return err
	}
	if err := seedDemo(ctx, a, c, log); err != nil {
		return err
	}
	// After the demo seed, whose bulk import writes no event per person:
	// loaded before it, a first start's projection held nobody and every
	// check read the store.
	a.startMatchProjection(ctx, log)
	a.runFigures(ctx, qualc, log)
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with --addr)", c.Addr, err)
	}
	handler, err := newHandler(ctx, a, c, oc, wc, log)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	printWelcome(stdout, ln.Addr().String(), key, created)
	if c.DebugAddr != "" {
		// The profiler gets its own listener so it is never exposed on the
		// public address; bind it to loopback.
		dbg := &http.Server{Addr: c.DebugAddr, Handler: debugMux(), ReadHeaderTimeout: 10 * time.Second}
		go func() { log.Info("pprof listening", "addr", c.DebugAddr, "err", dbg.ListenAndServe()) }()
		defer dbg.Close()
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", c.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// seedDemo fills an empty registry with a synthetic population so that a
// newcomer has something to look at.
func seedDemo(ctx context.Context, a *app, c *Config, log *slog.Logger) error {
	if c.DemoCitizens == 0 {
		return nil
	}
	counts, err := a.store.CountPopulation(ctx, "")
	if err != nil {
		return err
	}
	if len(counts) > 0 {
		return nil
	}
	log.Info("empty registry: seeding a synthetic demo population", "citizens", c.DemoCitizens)
	_, err = seedPopulation(ctx, a, c.DemoCitizens, 1, os.Stderr)
	return err
}

// newHandler assembles every route behind the common middleware.
func newHandler(ctx context.Context, a *app, c *Config, oc *oidcConfig, wc *webConfig, log *slog.Logger) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := httpapi.NewMetrics(reg)
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cancuoc_audit_commits_total",
			Help: "Commits of read-access audit entries (group commits)."}, func() float64 { b, _ := a.audit.Stats(); return float64(b) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cancuoc_audit_entries_total",
			Help: "Read-access audit entries committed."}, func() float64 { _, e := a.audit.Stats(); return float64(e) }))
	if a.events != nil {
		reg.MustRegister(a.events.Dispatcher)
	}
	if a.matchProj != nil {
		p := a.matchProj
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cancuoc_match_projection_people",
				Help: "People in this node's match projection; 0 while it loads (checks then read the store)."},
				func() float64 { return float64(p.Len()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cancuoc_match_projection_bytes",
				Help: "Estimated memory of this node's match projection."}, func() float64 { return float64(p.Bytes()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cancuoc_match_projection_ready",
				Help: "1 once this node's match projection is loaded."}, func() float64 {
				if p.Ready() {
					return 1
				}
				return 0
			}))
	}
	if a.hookWorker != nil {
		reg.MustRegister(a.hookWorker)
	}
	mux := http.NewServeMux()
	// One capability per line, so that adding one merges cleanly.
	api := httpapi.New(a.reg, log).
		WithAuditLog(a.log).
		WithEID(a.eid).
		WithTrustedProxies(a.proxies).
		WithWorkflow(a.wf).
		WithChip(a.chipChecker()).
		WithResidence(a.newResidence()).
		WithStats(a.newStats()).
		WithWallet(a.wallet).
		WithReconcile(a.recon).
		WithWebhook(a.hooks).
		WithApplications(a.apps)
	a.withPartners(api).Routes(mux)
	a.mountVerifierPage(mux, log)
	a.mountOIDC(mux, log)
	if err := a.mountWeb(ctx, mux, c, oc, wc, log); err != nil {
		return nil, err
	}
	backend := "SQLite"
	if c.IsPostgres() {
		backend = "PostgreSQL"
	}
	web.Routes(mux, func(r *http.Request) (web.Status, error) {
		st := web.Status{Version: version, Backend: backend}
		counts, err := a.store.CountPopulation(r.Context(), "")
		for _, pc := range counts {
			st.Citizens += pc.Alive + pc.Dead + pc.Missing
			st.Alive += pc.Alive
		}
		return st, err
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.store.Ping(ctx); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "ready")
	})
	return httpapi.Handler(mux, log, metrics), nil
}

func debugMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	return m
}

func printWelcome(w io.Writer, addr, key string, created bool) {
	base := "http://" + addr
	fmt.Fprintf(w, "\ncancuoc đang chạy / is running at %s\n", base)
	if created {
		fmt.Fprintf(w, "\nKhoá quản trị khởi tạo (chỉ hiện một lần) / bootstrap administrator key (shown once):\n  %s\n", key)
	} else {
		key = "<your API key>"
	}
	fmt.Fprintf(w, `
Thử / try:
  curl %[1]s/openapi.json
  curl -H 'Authorization: Bearer %[2]s' '%[1]s/v1/population'
  curl -H 'Authorization: Bearer %[2]s' '%[1]s/v1/citizens?name=nguyen%%20van&prefix=true&limit=5'
  go run ./cmd/cancuoc admin create-principal --name "Cán bộ phường Ba Đình" --role commune_officer --province 01 --commune 00004

`, base, key)
}
