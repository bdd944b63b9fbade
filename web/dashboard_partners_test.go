package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/reconcile"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/stats"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/web"
)

// TestDashboardPartnerResults finishes real reconciliation jobs for a
// bank (a partner), the transport ministry (a ministry's system), an
// officer and the console, and checks the dashboard's table shows, per
// institution, the numbers the stats API answers and the runs produced;
// that people are not named; that running jobs do not count; and that the
// figures are cached for the TTL like the others.
func TestDashboardPartnerResults(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "rec.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var people []*cancuoc.Citizen
	for i := 1; i <= 4; i++ {
		c := storetest.Citizen(storetest.PIN(i))
		if err := st.InsertCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
		people = append(people, c)
	}
	bank := &cancuoc.Partner{ID: "vcb", Name: "Ngân hàng Ngoại thương", Kind: cancuoc.PartnerBank, Version: 1,
		Policy: cancuoc.PartnerPolicy{Operations: []cancuoc.PartnerOp{cancuoc.OpReconcile}, Purpose: "đối soát", LegalBasis: "NĐ 69/2024"}}
	if err := st.InsertPartner(ctx, bank); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*cancuoc.Principal{
		{ID: "gtvt", Name: "Bộ Giao thông vận tải", Role: cancuoc.RoleMinistrySystem, Agency: "BGTVT"},
		{ID: "officer-1", Name: "Nguyễn Văn Cán Bộ", Role: cancuoc.RoleNationalAdmin},
	} {
		if err := st.InsertPrincipal(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	run := func(owner string, rows ...string) *cancuoc.Reconciliation {
		t.Helper()
		in := filepath.Join(dir, owner+strconv.Itoa(len(rows))+".csv")
		if err := os.WriteFile(in, []byte("record_id,pin,full_name\n"+strings.Join(rows, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := &reconcile.Runner{Store: st, Policy: reconcile.RevealList{}}
		job, err := r.Create(ctx, reconcile.Spec{Owner: owner, Input: in, Report: in + ".report"})
		if err != nil {
			t.Fatal(err)
		}
		if job, err = r.Run(ctx, job.ID); err != nil || job.Status != cancuoc.ReconDone {
			t.Fatalf("job of %s: %v, %v", owner, job, err)
		}
		return job
	}
	p := func(i int) string { return string(people[i].PIN) }
	row := func(id, pin, name string) string { return id + "," + pin + "," + name }
	// The bank: two matched, one with a wrong name, an unknown PIN, and a
	// line that is no PIN at all.
	run("partner:vcb", row("a", p(0), ""), row("b", p(1), ""), row("c", p(2), "Tên Khác Hẳn"), row("d", string(storetest.PIN(99)), ""), row("e", "12ab", ""))
	// The transport ministry, in two jobs: summed.
	run("gtvt", row("x", p(3), ""))
	run("gtvt", row("y", p(0), ""), row("z", p(1), ""))
	run("officer-1", row("o", p(2), ""))
	run("console", row("k", string(storetest.PIN(98)), ""))
	// A running job does not count, however large.
	if err := st.CreateReconciliation(ctx, &cancuoc.Reconciliation{ID: "running", Owner: "partner:vcb", Input: "i", Report: "o",
		Format: "csv", ReportFmt: "csv", Status: cancuoc.ReconRunning, Counts: map[string]int64{"matched": 1e6},
		CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	sts := stats.New(stats.WithClock(func() time.Time { return now })).Builtin(st)
	sts.SetPartnerResults(reconcile.PartnerResults(st))
	mux := http.NewServeMux()
	httpapi.New(registry.New(st, nil), slog.New(slog.NewTextHandler(io.Discard, nil))).WithStats(sts).Routes(mux)
	site, err := web.NewSite(web.SiteConfig{Secret: []byte(strings.Repeat("w", 32)), Sessions: st})
	if err != nil {
		t.Fatal(err)
	}
	site.WithDashboard(sts).Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	var api stats.PartnerResults
	if err := json.Unmarshal(get(t, srv.URL+"/v1/stats/reconciliation/partners"), &api); err != nil {
		t.Fatal(err)
	}
	// What the runs produced: the bank checked five records and matched
	// three (one with differences); the ministry checked three and matched
	// all; the officer's and the console's jobs are one unnamed row.
	want := map[string][2]int64{"vcb": {5, 3}, "gtvt": {3, 3}, "": {2, 1}}
	if len(api.Partners) != len(want) {
		t.Fatalf("API answers %d rows %+v; want %d", len(api.Partners), api.Partners, len(want))
	}
	for _, r := range api.Partners {
		w, ok := want[r.Partner]
		if !ok || r.Records != w[0] || r.Matched+r.Differences != w[1] {
			t.Errorf("API row %q: %d records, %d matched; want %v", r.Partner, r.Records, r.Matched+r.Differences, w)
		}
		if r.Matched+r.Differences+r.NotFound+r.Deceased+r.Other != r.Records {
			t.Errorf("API row %q: the columns do not add up to the records: %+v", r.Partner, r)
		}
	}
	if b := api.Partners[1]; b.Partner != "vcb" || b.Differences != 1 || b.NotFound != 1 || b.Other != 1 || b.Jobs != 1 {
		t.Errorf("bank row = %+v; want 1 difference, 1 not found, 1 other, 1 job", b)
	}
	if g := api.Partners[0]; g.Name.VI != "Bộ Giao thông vận tải" || g.Jobs != 2 {
		t.Errorf("ministry row = %+v; want named, 2 jobs", g)
	}
	if api.Total.Records != 10 || api.Total.Jobs != 5 || fmt.Sprintf("%.2f", api.Total.Share) != "0.70" {
		t.Errorf("total = %+v; want 10 records, 5 jobs, share 0.70", api.Total)
	}

	page := string(get(t, srv.URL+"/dashboard"))
	rows := pageRows(t, page)
	for _, r := range append(api.Partners, api.Total) {
		key := r.Partner
		if r.Name.EN == "Total" {
			key = "total"
		}
		wantAttrs := fmt.Sprintf("%d %d %d %d %d %d %d", r.Jobs, r.Records, r.Matched, r.Differences, r.NotFound, r.Deceased, r.Other)
		if rows[key] != wantAttrs {
			t.Errorf("page row %q = %q; API says %q", key, rows[key], wantAttrs)
		}
	}
	for _, s := range []string{"Kết quả đối soát theo đối tác", "Ngân hàng Ngoại thương", "khớp 3/5 (60,0 %)", "Bộ Giao thông vận tải"} {
		if !strings.Contains(page, s) {
			t.Errorf("the page lacks %q", s)
		}
	}
	if strings.Contains(page, "Nguyễn Văn Cán Bộ") || strings.Contains(page, "officer-1") {
		t.Error("the page names an officer")
	}
	if en := string(get(t, srv.URL+"/dashboard?lang=en")); !strings.Contains(en, "Reconciliation results per partner") || !strings.Contains(en, "3 of 5 matched (60.0%)") {
		t.Error("the English page lacks the section or its caption")
	}

	// Cached: a job finished now shows only after the TTL.
	run("partner:vcb", row("f", p(3), ""))
	if again := pageRows(t, string(get(t, srv.URL+"/dashboard"))); again["vcb"] != rows["vcb"] {
		t.Errorf("within the TTL the bank's row changed to %q", again["vcb"])
	}
}

var partnerRowRE = regexp.MustCompile(`<tr (?:id="partners-total"|data-partner="([^"]*)") data-records="(\d+)" data-matched="(\d+)" data-differences="(\d+)" data-not-found="(\d+)" data-deceased="(\d+)" data-other="(\d+)" data-jobs="(\d+)">`)

// pageRows reads the partners table's rows by partner ("total" for the
// footer) as "jobs records matched differences not-found deceased other".
func pageRows(t *testing.T, page string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range partnerRowRE.FindAllStringSubmatch(page, -1) {
		key := m[1]
		if strings.HasPrefix(m[0], `<tr id="partners-total"`) {
			key = "total"
		}
		out[key] = strings.Join(append([]string{m[8]}, m[2:8]...), " ")
	}
	if len(out) == 0 {
		t.Fatal("the dashboard has no partners table")
	}
	return out
}

func get(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", u, resp.Status, b)
	}
	return b
}
