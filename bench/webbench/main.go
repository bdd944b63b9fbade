// Command webbench measures the server time of the web pages (dashboard,
// portal, console) on a PostgreSQL registry of synthetic people, each
// beside its reference: a plain Go handler writing the very bytes the page
// answered, through the same server, client and timer. Server time is the
// handler's own, measured by a middleware around the mux (no network).
//
//	go run ./bench/webbench -citizens 100000 -requests 200
//
// It is run by bench/web.sh, which writes bench/results/80-web.md.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/auditlog"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/stats"
	"github.com/cancuoc/cancuoc/synth"
	"github.com/cancuoc/cancuoc/web"
)

const password = "mật khẩu thử nghiệm 2026"

// loadOnly stops after the load: a large registry is loaded once, early,
// and measured by later -reuse runs.
var loadOnly bool

func main() {
	pg := flag.String("pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL URL")
	schema := flag.String("schema", "bench_web", "schema to load (dropped and created unless -reuse)")
	n := flag.Int("citizens", 100000, "synthetic citizens")
	reqs := flag.Int("requests", 200, "timed requests per page (after 5 warm-up requests)")
	reuse := flag.Bool("reuse", false, "reuse a schema loaded by an earlier run with the same -citizens")
	addr := flag.String("addr", "127.0.0.1:19350", "address of the test server")
	flag.BoolVar(&loadOnly, "load-only", false, "load the registry (and its two test accounts) and stop, for a later -reuse")
	flag.Parse()
	if err := run(context.Background(), *pg, *schema, *n, *reqs, *reuse, *addr); err != nil {
		log.Fatal(err)
	}
}

type sms struct {
	mu   sync.Mutex
	last string
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

func (b *sms) Send(_ context.Context, _, msg string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last = sixDigits.FindString(msg)
	return nil
}

// timer records the server time of each request by path.
type timer struct {
	mu   sync.Mutex
	last time.Duration
	next http.Handler
}

func (t *timer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t.next.ServeHTTP(w, r)
	d := time.Since(start)
	t.mu.Lock()
	t.last = d
	t.mu.Unlock()
}

func (t *timer) took() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

func run(ctx context.Context, pgURL, schema string, n, reqs int, reuse bool, addr string) error {
	if !reuse {
		conn, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			return err
		}
		id := pgx.Identifier{schema}.Sanitize()
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+id+" CASCADE; CREATE SCHEMA "+id); err != nil {
			return err
		}
		conn.Close(ctx)
	}
	st, err := postgres.Open(ctx, pgURL, postgres.WithSchema(schema))
	if err != nil {
		return err
	}
	defer st.Close()
	w := audit.NewWriter(st, 0)
	defer w.Close()
	reg := registry.New(st, w)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var people []*cancuoc.Citizen // the first batch: the citizen and the officer come from it
	if !reuse {
		start := time.Now()
		meta := registry.Meta{Reason: "Dân số tổng hợp (synthetic)", LegalBasis: "không áp dụng", Agency: "webbench"}
		err = synth.Generate(ctx, synth.Config{Citizens: n, Seed: 8, Now: now}, func(b []*cancuoc.Citizen) error {
			if people == nil {
				people = slices.Clone(b)
			}
			return reg.Import(ctx, nil, b, meta)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "loaded %d citizens in %s\n", n, time.Since(start).Round(time.Second))
		// A bulk load leaves the visibility map empty and the planner's
		// statistics stale until autovacuum comes by: do it now, as an
		// operator would after a migration, so that counts over the
		// indexes are index-only from the first request.
		start = time.Now()
		if _, err := st.Pool().Exec(ctx, "VACUUM ANALYZE citizens"); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "vacuumed in %s\n", time.Since(start).Round(time.Second))
	} else {
		// The same population's first batch, to find the same people.
		errEnough := errors.New("enough")
		err = synth.Generate(ctx, synth.Config{Citizens: n, Seed: 8, Now: now}, func(b []*cancuoc.Citizen) error {
			people = slices.Clone(b)
			return errEnough
		})
		if err != nil && !errors.Is(err, errEnough) {
			return err
		}
		// Home is derived by the registry when it stores a record: read
		// the stored ones.
		for i, c := range people[:min(len(people), 2000)] {
			if people[i], err = st.Citizen(ctx, c.PIN); err != nil {
				return err
			}
		}
		people = people[:min(len(people), 2000)]
	}
	var me, off *cancuoc.Citizen
	for _, c := range people {
		if c.LifeStatus != cancuoc.Alive || c.BirthDate.Year > 2005 || c.Home.Commune == "" {
			continue
		}
		if me == nil {
			me = c
		} else if c.Home == me.Home && off == nil {
			off = c
		}
	}
	if me == nil || off == nil {
		return errors.New("no suitable citizen and officer in the first batch")
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(addr)
	root := "http://localhost:" + port // WebAuthn wants a domain name
	box := &sms{}
	cfg := eid.DefaultConfig()
	cfg.RPID, cfg.RPOrigins = "localhost", []string{root}
	es, err := eid.New(st, box, cfg)
	if err != nil {
		return err
	}
	// A fixed secret: the provider's signing keys, sealed with it, stay in
	// the schema for -reuse. (A benchmark's secret, never a server's.)
	secret := []byte("webbench: not a secret, 32 bytes")
	issuer := root + "/oidc"
	prov, err := oidc.New(st, es, oidc.Config{Issuer: issuer, Secret: secret, Insecure: true})
	if err != nil {
		return err
	}
	admin := &cancuoc.Principal{ID: "webbench", Role: cancuoc.RoleNationalAdmin}
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e9)
	var officer *cancuoc.Principal
	if !reuse {
		for _, c := range []*cancuoc.Citizen{me, off} {
			if err := register(ctx, es, box, c); err != nil {
				return err
			}
		}
		if _, err := es.GrantLevel2(ctx, admin, off.PIN, "webbench"); err != nil {
			return err
		}
		// A bank reads the citizen's record now and then: their access log
		// has entries to show.
		bank, _, err := reg.CreatePrincipal(ctx, admin, registry.NewPrincipal{Name: "Ngân hàng", Role: cancuoc.RoleMinistrySystem, Agency: "NH"})
		if err != nil {
			return err
		}
		for range 30 {
			if _, err := reg.Get(ctx, bank, me.PIN, "eKYC"); err != nil {
				return err
			}
		}
	}
	officer, _, err = reg.CreatePrincipal(ctx, admin, registry.NewPrincipal{Name: "Cán bộ " + suffix, Role: cancuoc.RoleCommuneOfficer,
		Jurisdiction: cancuoc.Jurisdiction{Province: me.Home.Province, Commune: me.Home.Commune}, OfficerPIN: string(off.PIN)})
	if err != nil {
		return err
	}
	// Earlier runs' officers for this PIN are disabled by using a fresh
	// PIN link: the console takes the first active principal by ID.
	_ = officer
	if loadOnly {
		return nil
	}

	clients := map[string]string{}
	for _, c := range []oidc.NewClient{
		{ID: "portal-" + suffix, Name: "Cổng", Purpose: "bench", RedirectURIs: []string{root + "/portal/callback"}, Scopes: []string{oidc.ScopePID}},
		{ID: "console-" + suffix, Name: "Cán bộ", Purpose: "bench", RedirectURIs: []string{root + "/console/callback"}, Scopes: []string{oidc.ScopePID}, MinLevel: 2},
	} {
		_, s, err := prov.CreateClient(ctx, nil, c)
		if err != nil {
			return err
		}
		clients[c.ID] = s
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	alog := auditlog.New(st, nil, w, auditlog.WithCitizenPrincipal(cancuoc.SelfPIN))

	// Two dashboards: one with the service's minute of cache (what
	// visitors get), one counting on every request (the first visitor of
	// each minute).
	cached := stats.New().Builtin(st)
	cold := stats.New(stats.WithTTL(0)).Builtin(st)
	quality := stats.New(stats.WithTTL(0))
	quality.Register(stats.Quality(st))
	mux := http.NewServeMux()
	mux.Handle("/oidc/", prov.Handler())
	httpapi.New(reg, logger).WithStats(cached).Routes(mux)
	site, err := web.NewSite(web.SiteConfig{Secret: secret, Log: logger})
	if err != nil {
		return err
	}
	site.WithDashboard(cached).
		WithPortal(web.RPConfig{Issuer: issuer, ClientID: "portal-" + suffix, ClientSecret: clients["portal-"+suffix], RedirectURL: root + "/portal/callback"},
			web.PortalDeps{Registry: reg, AccessLog: alog, EID: es, Consents: prov, Directory: st, Accounts: st}).
		WithConsole(web.RPConfig{Issuer: issuer, ClientID: "console-" + suffix, ClientSecret: clients["console-"+suffix],
			RedirectURL: root + "/console/callback", ACRValues: oidc.ACRLevel2},
			web.ConsoleDeps{Registry: reg, Principals: st, Quality: quality}).
		Routes(mux)
	web.Routes(mux, func(*http.Request) (web.Status, error) { return web.Status{}, nil })
	coldMux := http.NewServeMux()
	coldSite, _ := web.NewSite(web.SiteConfig{Secret: secret, Log: logger})
	coldSite.WithDashboard(cold).Routes(coldMux)

	// Reference: the same bytes from a plain handler.
	var refBody []byte
	var refType string
	refMux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", refType)
		_, _ = w.Write(refBody)
	})
	tm := &timer{}
	tm.next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/ref"):
			refMux.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, "/cold"):
			r2 := r.Clone(r.Context())
			r2.URL.Path = strings.TrimPrefix(r.URL.Path, "/cold")
			coldMux.ServeHTTP(w, r2)
		default:
			mux.ServeHTTP(w, r)
		}
	})
	srv := &http.Server{Handler: tm, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	citizen, err := login(root, "/portal/login", me.PIN)
	if err != nil {
		return fmt.Errorf("portal login: %w", err)
	}
	off2, err := login(root, "/console/login", off.PIN)
	if err != nil {
		return fmt.Errorf("console login: %w", err)
	}
	plain := &http.Client{}
	pages := []struct {
		name, path string
		c          *http.Client
	}{
		{"dashboard, population (cached figures)", "/dashboard", plain},
		{"dashboard, cards by age (cached figures)", "/dashboard?measure=cards", plain},
		{"dashboard, population (counted per request)", "/cold/dashboard", plain},
		{"dashboard, eID accounts (counted per request)", "/cold/dashboard?measure=eid-accounts", plain},
		{"dashboard, cards by age (counted per request)", "/cold/dashboard?measure=cards", plain},
		{"dashboard, one province's communes (counted per request)", "/cold/dashboard/" + me.Home.Province, plain},
		{"portal, my record", "/portal/record", citizen},
		{"portal, who accessed my data", "/portal/access-log", citizen},
		{"portal, my consents", "/portal/consents", citizen},
		{"console, a record with its history", "/console/citizens/" + string(me.PIN), off2},
		{"console, data quality of the commune (counted per request)", "/console/quality", off2},
	}
	fmt.Printf("| page | requests | bytes | server p50 | server p99 | plain handler p50 (same bytes) | goal p99 < 100 ms |\n|---|---:|---:|---:|---:|---:|:-:|\n")
	for _, p := range pages {
		k := reqs
		if strings.HasPrefix(p.path, "/cold") {
			k = max(5, reqs/10) // a count per request: slow by design, fewer samples
		}
		page, err := measure(p.c, tm, root+p.path, k)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		refBody, refType = page.body, page.ctype
		ref, err := measure(plain, tm, root+"/ref", k)
		if err != nil {
			return err
		}
		ok := "yes"
		if page.p99 >= 100*time.Millisecond {
			ok = "**no**"
		}
		fmt.Printf("| %s | %d | %d | %s | %s | %s | %s |\n", p.name, k, len(page.body), ms(page.p50), ms(page.p99), ms(ref.p50), ok)
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

type result struct {
	p50, p99 time.Duration
	body     []byte
	ctype    string
}

// measure requests u 5 times to warm up, then reqs times one after the
// other, and returns the server times' median and 99th percentile.
func measure(c *http.Client, tm *timer, u string, reqs int) (*result, error) {
	var ds []time.Duration
	var last []byte
	var ctype string
	for i := range reqs + 5 {
		res, err := c.Get(u)
		if err != nil {
			return nil, err
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			return nil, fmt.Errorf("%s: %d %.300s", u, res.StatusCode, b)
		}
		if i >= 5 {
			ds = append(ds, tm.took())
		}
		last, ctype = b, res.Header.Get("Content-Type")
	}
	slices.Sort(ds)
	return &result{p50: ds[len(ds)/2], p99: ds[len(ds)*99/100], body: last, ctype: ctype}, nil
}

func register(ctx context.Context, es *eid.Service, box *sms, c *cancuoc.Citizen) error {
	pend, err := es.StartRegistration(ctx, eid.Registration{PIN: c.PIN, FullName: c.FullName, BirthDate: c.BirthDate, Phone: "0912345678"}, "127.0.0.1")
	if err != nil {
		return err
	}
	box.mu.Lock()
	code := box.last
	box.mu.Unlock()
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	_, err = es.ConfirmRegistration(ctx, pend.ChallengeID, code, password, eid.Photo{ContentType: "image/png", Data: buf.Bytes()})
	return err
}

var hidden = regexp.MustCompile(`name="(id|csrf)" value="([^"]*)"`)

// login logs pin in through the provider's pages with a cookie jar and
// returns the client holding the site's session.
func login(root, start string, pin cancuoc.PIN) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(path string, f url.Values) (string, error) {
		res, err := c.PostForm(root+path, f)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b), nil
	}
	res, err := c.Get(root + start)
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fields := func(body string) url.Values {
		v := url.Values{}
		for _, m := range hidden.FindAllStringSubmatch(body, -1) {
			v.Set(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
		}
		return v
	}
	f := fields(string(b))
	f.Set("pin", string(pin))
	f.Set("password", password)
	body, err := post("/oidc/login", f)
	if err != nil {
		return nil, err
	}
	if strings.Contains(body, `value="allow"`) {
		f = fields(body)
		f.Set("decision", "allow")
		if _, err := post("/oidc/consent", f); err != nil {
			return nil, err
		}
	}
	return c, nil
}
