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
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/auditlog"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/postgres"
	qualitylists "github.com/cancuoc/cancuoc/quality"
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
	addr := flag.String("addr", "127.0.0.1:0", "address of the test server (port 0: a free one)")
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
		if _, err := st.Pool().Exec(ctx, "VACUUM ANALYZE citizens, citizen_versions, events"); err != nil {
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
	_, port, _ := net.SplitHostPort(ln.Addr().String()) // addr may ask for any free port (:0)
	root := "http://localhost:" + port                  // WebAuthn wants a domain name
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

	// The dashboard as served: figures kept a minute and recounted in the
	// background, with snapshots for the trends. Each measure's national
	// count (what the background pays) is timed once, below.
	cached := stats.New(stats.WithSnapshots(st)).Builtin(st)
	quality := stats.New(stats.WithMinCount(1))
	quality.Register(stats.Quality(st))
	lists := qualitylists.New(st, w)
	counts, err := backgroundCounts(ctx, cached, quality, lists, me.Home.Province)
	if err != nil {
		return err
	}
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
			web.ConsoleDeps{Registry: reg, Principals: st, Quality: quality, Lists: lists}).
		Routes(mux)
	web.Routes(mux, func(*http.Request) (web.Status, error) { return web.Status{}, nil })

	// Reference: the same bytes from a plain handler.
	var refBody []byte
	var refType string
	refMux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", refType)
		_, _ = w.Write(refBody)
	})
	tm := &timer{}
	tm.next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/ref") {
			refMux.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: tm, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	citizen, err := login(root, "/portal/login", me.PIN)
	if err != nil {
		return fmt.Errorf("portal login: %w", err)
	}
	// The officer's PIN is linked in turn to a commune officer, a province
	// officer and a national administrator (the console takes the PIN's
	// active principal), each with a session of its own.
	officerAs := func(role cancuoc.Role, j cancuoc.Jurisdiction) (*http.Client, error) {
		if _, err := st.Pool().Exec(ctx, `UPDATE principals SET disabled = true WHERE officer_pin = $1`, string(off.PIN)); err != nil {
			return nil, err
		}
		if _, _, err := reg.CreatePrincipal(ctx, admin, registry.NewPrincipal{Name: "Cán bộ " + string(role) + " " + suffix, Role: role,
			Jurisdiction: j, OfficerPIN: string(off.PIN)}); err != nil {
			return nil, err
		}
		return login(root, "/console/login", off.PIN)
	}
	plain := &http.Client{}
	type page struct {
		name, path string
		c          *http.Client
	}
	// The commune officer's pages are measured before the province
	// officer's session replaces it, and so on.
	var pages []page
	add := func(c *http.Client, ps ...page) {
		for _, p := range ps {
			p.c = c
			pages = append(pages, p)
		}
	}
	prov1 := me.Home.Province
	add(plain,
		page{name: "dashboard, population, whole country", path: "/dashboard"},
		page{name: "dashboard, cards by age, whole country", path: "/dashboard?measure=cards"},
		page{name: "dashboard, eID accounts, whole country", path: "/dashboard?measure=eid-accounts"},
		page{name: "dashboard, population, one province's communes", path: "/dashboard/" + prov1},
		page{name: "dashboard, cards by age, one province's communes", path: "/dashboard/" + prov1 + "?measure=cards"},
		page{name: "API, population figures (JSON)", path: "/v1/stats/population"},
	)
	add(citizen,
		page{name: "portal, my record", path: "/portal/record"},
		page{name: "portal, who accessed my data", path: "/portal/access-log"},
		page{name: "portal, my consents", path: "/portal/consents"},
		page{name: "portal, my account", path: "/portal/account"},
	)
	fmt.Printf("| page | requests | bytes | server p50 | server p95 | server p99 | CPU per request (page / reference) | plain handler p50 (same bytes) | p99 / reference p99 | goal p99 < 100 ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|:-:|\n")
	run := func(ps []page) error {
		for _, p := range ps {
			pg, err := measure(p.c, tm, root+p.path, reqs)
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			refBody, refType = pg.body, pg.ctype
			ref, err := measure(plain, tm, root+"/ref", reqs)
			if err != nil {
				return err
			}
			ok := "yes"
			if pg.p99 >= 100*time.Millisecond {
				ok = "**no**"
			}
			fmt.Printf("| %s | %d | %d | %s | %s | %s | %s / %s | %s | %.0f× | %s |\n", p.name, reqs, len(pg.body), ms(pg.p50), ms(pg.p95), ms(pg.p99),
				ms(pg.cpu), ms(ref.cpu), ms(ref.p50),
				float64(pg.p99)/float64(max(ref.p99, time.Microsecond)), ok)
		}
		return nil
	}
	if err := run(pages); err != nil {
		return err
	}
	pages = nil
	commune, err := officerAs(cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: me.Home.Province, Commune: me.Home.Commune})
	if err != nil {
		return fmt.Errorf("console login: %w", err)
	}
	add(commune,
		page{name: "console (commune officer), home", path: "/console"},
		page{name: "console (commune officer), a record with its history", path: "/console/citizens/" + string(me.PIN)},
		page{name: "console (commune officer), data-quality counts", path: "/console/quality"},
		page{name: "console (commune officer), list: partial birth date, first page", path: "/console/quality/partial_birth"},
		page{name: "console (commune officer), list: no ethnicity, first page", path: "/console/quality/no_ethnicity"},
		page{name: "console (commune officer), list: address in abolished units, first page", path: "/console/quality/old_unit_address"},
		page{name: "console (commune officer), suspected duplicates, first page", path: "/console/quality/duplicates"},
	)
	if err := run(pages); err != nil {
		return err
	}
	pages = nil
	province, err := officerAs(cancuoc.RoleProvinceOfficer, cancuoc.Jurisdiction{Province: me.Home.Province})
	if err != nil {
		return fmt.Errorf("console login: %w", err)
	}
	deepP, err := deepPage(province, root, "/console/quality/partial_birth", 20)
	if err != nil {
		return err
	}
	add(province,
		page{name: "console (province officer), data-quality counts by commune", path: "/console/quality"},
		page{name: "console (province officer), list: partial birth date, first page", path: "/console/quality/partial_birth"},
		page{name: "console (province officer), list: partial birth date, page 21", path: deepP},
		page{name: "console (province officer), suspected duplicates, first page", path: "/console/quality/duplicates"},
	)
	if err := run(pages); err != nil {
		return err
	}
	pages = nil
	nation, err := officerAs(cancuoc.RoleNationalAdmin, cancuoc.Jurisdiction{})
	if err != nil {
		return fmt.Errorf("console login: %w", err)
	}
	deepN, err := deepPage(nation, root, "/console/quality/old_unit_address", 100)
	if err != nil {
		return err
	}
	deepD, err := deepPage(nation, root, "/console/quality/duplicates", 10)
	if err != nil {
		return err
	}
	add(nation,
		page{name: "console (national admin), data-quality counts by province", path: "/console/quality"},
		page{name: "console (national admin), list: address in abolished units, first page", path: "/console/quality/old_unit_address"},
		page{name: "console (national admin), list: address in abolished units, page 101", path: deepN},
		page{name: "console (national admin), suspected duplicates, first page", path: "/console/quality/duplicates"},
		page{name: "console (national admin), suspected duplicates, page 11", path: deepD},
	)
	if err := run(pages); err != nil {
		return err
	}
	fmt.Println()
	fmt.Println(counts)
	return nil
}

var nextLink = regexp.MustCompile(`id="next" rel="next" href="([^"]*)"|href="([^"]*)" id="next"`)

// deepPage follows a list's "next" links n times and answers the path of
// the page reached (the last one if the list is shorter).
func deepPage(c *http.Client, root, path string, n int) (string, error) {
	for range n {
		res, err := c.Get(root + path)
		if err != nil {
			return "", err
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		m := nextLink.FindSubmatch(b)
		if res.StatusCode != 200 || m == nil {
			return path, nil
		}
		path = strings.ReplaceAll(string(m[2]), "&amp;", "&")
	}
	return path, nil
}

// backgroundCounts times what is not on the request path: each measure's
// national count (the dashboard's background recount, and the snapshot
// that stores them all), one province's counts, the data-quality counts,
// and the duplicate recount. It leaves the dashboard's cache warm.
func backgroundCounts(ctx context.Context, dash, quality *stats.Service, lists *qualitylists.Service, province string) (string, error) {
	var b strings.Builder
	b.WriteString("Background work (not on the request path), each timed once:\n\n| work | took |\n|---|---:|\n")
	timeIt := func(name string, fn func() error) error {
		start := time.Now()
		if err := fn(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(&b, "| %s | %s |\n", name, ms(time.Since(start)))
		return nil
	}
	for _, m := range dash.Measures() {
		if err := timeIt("dashboard count, "+m.ID+", whole country", func() error { _, err := dash.Figures(ctx, m.ID, ""); return err }); err != nil {
			return "", err
		}
		if err := timeIt("dashboard count, "+m.ID+", one province", func() error { _, err := dash.Figures(ctx, m.ID, province); return err }); err != nil {
			return "", err
		}
	}
	if err := timeIt("snapshot of every measure (stores the figures just counted)", func() error { return dash.Snapshot(ctx) }); err != nil {
		return "", err
	}
	for _, p := range []string{"", province} {
		if err := timeIt("data-quality counts over the partial indexes, "+map[string]string{"": "whole country"}[p]+map[bool]string{true: "one province"}[p != ""],
			func() error { _, err := quality.Figures(ctx, "data-quality", p); return err }); err != nil {
			return "", err
		}
	}
	var pairs int
	if err := timeIt("duplicate recount (blocking, scoring, replacing the pairs)", func() error {
		n, err := lists.Recount(ctx)
		pairs = n
		return err
	}); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "\nThe recount kept %d suspected pairs.\n", pairs)
	return b.String(), nil
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

type result struct {
	p50, p95, p99 time.Duration
	cpu           time.Duration // this process's CPU time per request (server and client; PostgreSQL's not included)
	body          []byte
	ctype         string
}

// measure requests u 5 times to warm up, then reqs times one after the
// other, and returns the server times' median and 99th percentile.
func measure(c *http.Client, tm *timer, u string, reqs int) (*result, error) {
	var ds []time.Duration
	var last []byte
	var ctype string
	var cpu0 time.Duration
	for i := range reqs + 5 {
		if i == 5 {
			cpu0 = cpuTime()
		}
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
	cpu := (cpuTime() - cpu0) / time.Duration(reqs)
	return &result{p50: ds[len(ds)/2], p95: ds[len(ds)*95/100], p99: ds[len(ds)*99/100], cpu: cpu, body: last, ctype: ctype}, nil
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
