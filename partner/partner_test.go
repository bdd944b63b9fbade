package partner_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/partner"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	store cancuoc.Store
	svc   *partner.Service
	clk   *clock
	pin   cancuoc.PIN
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvOn(t, st)
}

func newEnvOn(t *testing.T, st cancuoc.Store) *env {
	t.Helper()
	w := audit.NewWriter(st, 0)
	t.Cleanup(func() { w.Close() })
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 30, 0, time.UTC)}
	e := &env{store: st, clk: clk, svc: partner.New(st, w, partner.WithClock(clk.now), partner.WithPolicyCache(0)), pin: storetest.PIN(7)}
	if err := st.InsertCitizen(t.Context(), storetest.Citizen(e.pin)); err != nil {
		t.Fatal(err)
	}
	return e
}

func bank(id string, q cancuoc.Quota) partner.NewPartner {
	return partner.NewPartner{ID: id, Name: "Ngân hàng " + id, Kind: cancuoc.PartnerBank, Policy: cancuoc.PartnerPolicy{
		Operations: []cancuoc.PartnerOp{cancuoc.OpMatch, cancuoc.OpRelease},
		Fields:     []string{"full_name", "birth_date", "sex", "current_residence", "cards", "phone"},
		Purpose:    "Định danh khách hàng (eKYC)", LegalBasis: "Thông tư 17/2024/TT-NHNN", Quota: q}}
}

func wantCode(t *testing.T, what string, err error, kind cancuoc.Kind, code string) *cancuoc.Error {
	t.Helper()
	var e *cancuoc.Error
	if !errors.As(err, &e) || e.Kind != kind || (code != "" && e.Code != code) {
		t.Fatalf("%s: got %v, want %v %q", what, err, kind, code)
	}
	if e.MessageVI == "" || e.MessageEN == "" {
		t.Errorf("%s: message missing in a language: %+v", what, e)
	}
	return e
}

func TestCreateValidatesAndNeedsAdmin(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	officer := &cancuoc.Principal{ID: "o", Role: cancuoc.RoleProvinceOfficer}
	_, err := e.svc.Create(ctx, officer, bank("vcb", cancuoc.Quota{}))
	wantCode(t, "officer creates", err, cancuoc.Forbidden, "role_forbidden")
	for _, tc := range []struct {
		mut   func(*partner.NewPartner)
		field string
	}{
		{func(n *partner.NewPartner) { n.ID = "Bad ID" }, "id"},
		{func(n *partner.NewPartner) { n.Kind = "casino" }, "kind"},
		{func(n *partner.NewPartner) { n.Policy.LegalBasis = " " }, "policy.purpose"},
		{func(n *partner.NewPartner) { n.Policy.Operations = []cancuoc.PartnerOp{"sell"} }, "policy.operations"},
		{func(n *partner.NewPartner) { n.Policy.Fields = []string{"full_name", "salary"} }, "policy.fields"},
		{func(n *partner.NewPartner) { n.Policy.Quota.PerMinute = -1 }, "policy.quota"},
	} {
		n := bank("vcb", cancuoc.Quota{})
		tc.mut(&n)
		_, err := e.svc.Create(ctx, nil, n)
		if got := wantCode(t, tc.field, err, cancuoc.Invalid, ""); got.Field != tc.field {
			t.Errorf("field = %q, want %q", got.Field, tc.field)
		}
	}
	admin := &cancuoc.Principal{ID: "root", Role: cancuoc.RoleNationalAdmin}
	p, err := e.svc.Create(ctx, admin, bank("vcb", cancuoc.Quota{}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Create(ctx, admin, bank("vcb", cancuoc.Quota{}))
	wantCode(t, "duplicate", err, cancuoc.Conflict, "duplicate")
	name := "Vietcombank"
	u, err := e.svc.Update(ctx, admin, "vcb", partner.Change{Version: p.Version, Name: &name})
	if err != nil || u.Name != name || u.Version != 2 {
		t.Fatalf("Update = %+v, %v", u, err)
	}
	_, err = e.svc.Update(ctx, admin, "vcb", partner.Change{Version: 1, Name: &name})
	wantCode(t, "stale update", err, cancuoc.Conflict, "stale_version")
	if _, err := e.svc.Disable(ctx, admin, "vcb"); err != nil {
		t.Fatal(err)
	}
	err = e.svc.Authorize(ctx, "vcb", cancuoc.OpMatch)
	wantCode(t, "disabled partner", err, cancuoc.Forbidden, "partner_disabled")
	l, err := e.svc.List(ctx, admin)
	if err != nil || len(l) != 1 || !l[0].Disabled {
		t.Fatalf("List = %v, %v", l, err)
	}
}

func TestAuthorize(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	n := bank("vcb", cancuoc.Quota{PerMinute: 3, PerDay: 5})
	n.Policy.Fields = []string{"full_name"}
	if _, err := e.svc.Create(ctx, nil, n); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "unknown partner", e.svc.Authorize(ctx, "nobody", cancuoc.OpMatch), cancuoc.Forbidden, "partner_unknown")
	err := e.svc.Authorize(ctx, "vcb", cancuoc.OpReconcile, "full_name")
	if got := wantCode(t, "operation", err, cancuoc.Forbidden, "operation_not_allowed"); !strings.Contains(got.MessageEN, "reconcile") {
		t.Errorf("message does not name the operation: %q", got.MessageEN)
	}
	err = e.svc.Authorize(ctx, "vcb", cancuoc.OpMatch, "full_name", "religion")
	if got := wantCode(t, "field", err, cancuoc.Forbidden, "field_not_allowed"); got.Field != "religion" || !strings.Contains(got.MessageEN, "religion") {
		t.Errorf("field refusal does not name the field: %+v", got)
	}
	// Refusals do not use up the quota; three calls in a minute do.
	for i := range 3 {
		if err := e.svc.Authorize(ctx, "vcb", cancuoc.OpMatch, "full_name"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	err = e.svc.Authorize(ctx, "vcb", cancuoc.OpMatch)
	var q *cancuoc.Error
	if !errors.As(err, &q) || q.RetryAfter != 30*time.Second {
		t.Fatalf("4th call in a minute: %v, want a refusal with 30 s to wait", err)
	}
	wantCode(t, "quota", err, cancuoc.TooManyRequests, "quota_exceeded")
	e.clk.add(30 * time.Second) // next minute
	for i := range 2 {
		if err := e.svc.Authorize(ctx, "vcb", cancuoc.OpMatch); err != nil {
			t.Fatalf("next minute, call %d: %v", i, err)
		}
	}
	err = e.svc.Authorize(ctx, "vcb", cancuoc.OpMatch)
	if !errors.As(err, &q) || q.RetryAfter < time.Hour {
		t.Fatalf("6th call in a day: %v, want the day's quota spent", err)
	}
}

func TestMatch(t *testing.T) { testMatch(t, newEnv(t)) }

func testMatch(t *testing.T, e *env) {
	ctx := t.Context()
	if _, err := e.svc.Create(ctx, nil, bank("vcb", cancuoc.Quota{})); err != nil {
		t.Fatal(err)
	}
	pin := string(e.pin)
	for _, tc := range []struct {
		name   string
		q      partner.MatchRequest
		match  bool
		fields map[string]bool
	}{
		{"all agree", partner.MatchRequest{PIN: pin, Name: "Nguyễn  Văn Đức", BirthDate: "1990-05-17", Sex: "male",
			CurrentAddress: &partner.AddressQuery{Province: "79", Commune: "26734"}, CardNumber: pin, Phone: "0912 345 678"},
			true, map[string]bool{"name": true, "birth_date": true, "sex": true, "current_address": true, "card_number": true, "phone": true}},
		{"no diacritics under exact", partner.MatchRequest{PIN: pin, Name: "Nguyen Van Duc"}, false, map[string]bool{"name": false}},
		{"no diacritics rule", partner.MatchRequest{PIN: pin, Name: "NGUYEN VAN DUC", NameRule: partner.NameNoDiacritics}, true, map[string]bool{"name": true}},
		{"one wrong", partner.MatchRequest{PIN: pin, BirthDate: "1990-05-18", Sex: "male"}, false, map[string]bool{"birth_date": false, "sex": true}},
		{"replaced card", partner.MatchRequest{PIN: pin, CardNumber: "001090000001"}, false, map[string]bool{"card_number": false}},
		{"address detail", partner.MatchRequest{PIN: pin, CurrentAddress: &partner.AddressQuery{Province: "79", Detail: "Chung cu H'Mong, phong 1204"}},
			true, map[string]bool{"current_address": true}},
		{"other province", partner.MatchRequest{PIN: pin, CurrentAddress: &partner.AddressQuery{Province: "01"}}, false, map[string]bool{"current_address": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := e.svc.Match(ctx, "vcb", tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Found || r.Match != tc.match || !reflect.DeepEqual(r.Fields, tc.fields) || r.LifeStatus != cancuoc.Alive {
				t.Errorf("Match = %+v, want match %v fields %v", r, tc.match, tc.fields)
			}
			b, _ := json.Marshal(r)
			for _, leak := range []string{"Nguyễn", "1990-05-17", "0912345678", "26734", "phòng"} {
				if tc.match && strings.Contains(string(b), leak) {
					t.Errorf("answer leaks a registry value %q: %s", leak, b)
				}
			}
		})
	}
	r, err := e.svc.Match(ctx, "vcb", partner.MatchRequest{PIN: string(storetest.PIN(8)), Sex: "male"})
	if err != nil || r.Found || r.Match || r.Fields["sex"] {
		t.Fatalf("unknown PIN: %+v, %v", r, err)
	}
	// Bad requests name the field.
	for _, tc := range []struct {
		q     partner.MatchRequest
		field string
	}{
		{partner.MatchRequest{PIN: "123", Sex: "male"}, "pin"},
		{partner.MatchRequest{PIN: pin}, ""},
		{partner.MatchRequest{PIN: pin, BirthDate: "17/05/1990"}, "birth_date"},
		{partner.MatchRequest{PIN: pin, Sex: "m"}, "sex"},
		{partner.MatchRequest{PIN: pin, Name: "x", NameRule: "fuzzy"}, "name_rule"},
		{partner.MatchRequest{PIN: pin, Phone: "call me"}, "phone"},
		{partner.MatchRequest{PIN: pin, CurrentAddress: &partner.AddressQuery{Commune: "26734"}}, "current_address.province"},
	} {
		_, err := e.svc.Match(ctx, "vcb", tc.q)
		if got := wantCode(t, "bad "+tc.field, err, cancuoc.Invalid, ""); got.Field != tc.field {
			t.Errorf("field = %q, want %q (%v)", got.Field, tc.field, err)
		}
	}
	// The access log holds the partner, the field names and no values.
	log, err := e.store.AuditFor(ctx, e.pin, 100)
	if err != nil {
		t.Fatal(err)
	}
	var checks int
	for _, a := range log {
		if a.Action != "partner.match" {
			continue
		}
		checks++
		if a.Actor != "partner:vcb" || a.Purpose != "Định danh khách hàng (eKYC)" || len(a.Fields) == 0 {
			t.Errorf("audit entry %+v", a)
		}
		b, _ := json.Marshal(a)
		if strings.Contains(string(b), "Nguy") || strings.Contains(string(b), "0912") {
			t.Errorf("audit entry holds a value: %s", b)
		}
	}
	if checks != 7 {
		t.Errorf("%d match entries on the citizen's log, want 7", checks)
	}
}

func TestMatchOutsidePolicy(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	n := bank("tel", cancuoc.Quota{})
	n.Policy.Fields = []string{"full_name", "birth_date"}
	if _, err := e.svc.Create(ctx, nil, n); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Match(ctx, "tel", partner.MatchRequest{PIN: string(e.pin), Name: "Nguyễn Văn Đức", Phone: "0912345678"})
	if got := wantCode(t, "phone outside policy", err, cancuoc.Forbidden, "field_not_allowed"); got.Field != "phone" {
		t.Errorf("field %q, want phone", got.Field)
	}
}

func TestConsentRelease(t *testing.T) { testConsentRelease(t, newEnv(t)) }

// TestConsentReleasePostgres runs the consent lifecycle on PostgreSQL.
func TestConsentReleasePostgres(t *testing.T) {
	testConsentRelease(t, newEnvOn(t, pgtest.Open(t, "cancuoc_partner")))
}

// TestMatchPostgres runs the match checks on PostgreSQL.
func TestMatchPostgres(t *testing.T) { testMatch(t, newEnvOn(t, pgtest.Open(t, "cancuoc_partner"))) }

func testConsentRelease(t *testing.T, e *env) {
	ctx := t.Context()
	n := bank("vcb", cancuoc.Quota{})
	n.Policy.Fields = []string{"full_name", "birth_date", "current_residence", "phone"}
	if _, err := e.svc.Create(ctx, nil, n); err != nil {
		t.Fatal(err)
	}
	m := bank("match-only", cancuoc.Quota{})
	m.Policy.Operations = []cancuoc.PartnerOp{cancuoc.OpMatch}
	if _, err := e.svc.Create(ctx, nil, m); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Release(ctx, "vcb", e.pin)
	wantCode(t, "release without consent", err, cancuoc.Forbidden, "consent_required")

	exp := e.clk.now().Add(24 * time.Hour)
	_, err = e.svc.Grant(ctx, e.pin, partner.ConsentRequest{PartnerID: "vcb", Fields: []string{"full_name", "religion"}, ExpiresAt: exp})
	if got := wantCode(t, "consent beyond policy", err, cancuoc.Forbidden, "field_not_allowed"); got.Field != "religion" {
		t.Errorf("field %q", got.Field)
	}
	_, err = e.svc.Grant(ctx, e.pin, partner.ConsentRequest{PartnerID: "match-only", Fields: []string{"full_name"}, ExpiresAt: exp})
	wantCode(t, "consent to a partner without release", err, cancuoc.Forbidden, "operation_not_allowed")
	_, err = e.svc.Grant(ctx, e.pin, partner.ConsentRequest{PartnerID: "vcb", Fields: []string{"full_name"}, ExpiresAt: e.clk.now()})
	wantCode(t, "expiry now", err, cancuoc.Invalid, "expiry_invalid")

	c, err := e.svc.Grant(ctx, e.pin, partner.ConsentRequest{PartnerID: "vcb", Fields: []string{"full_name", "birth_date"}, ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	if c.Purpose != "Định danh khách hàng (eKYC)" {
		t.Errorf("purpose %q, want the partner's", c.Purpose)
	}
	rel, err := e.svc.Release(ctx, "vcb", e.pin)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(rel.Record, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec) != 2 || rec["full_name"] != "Nguyễn Văn Đức" || rec["birth_date"] != "1990-05-17" ||
		!reflect.DeepEqual(rel.Fields, []string{"birth_date", "full_name"}) || !reflect.DeepEqual(rel.ConsentIDs, []string{c.ID}) {
		t.Fatalf("release = %+v %s", rel, rel.Record)
	}
	// The partner can prove the consent; another partner cannot see it.
	if got, err := e.svc.ConsentFor(ctx, "vcb", c.ID); err != nil || got.ID != c.ID {
		t.Fatalf("ConsentFor = %v, %v", got, err)
	}
	_, err = e.svc.ConsentFor(ctx, "vcb", "nope")
	wantCode(t, "unknown consent", err, cancuoc.NotFound, "consent_not_found")

	// Withdrawal takes effect on the very next fetch.
	wantCode(t, "revoke another's", e.svc.Revoke(ctx, storetest.PIN(8), c.ID), cancuoc.NotFound, "consent_not_found")
	if err := e.svc.Revoke(ctx, e.pin, c.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Release(ctx, "vcb", e.pin)
	wantCode(t, "release after withdrawal", err, cancuoc.Forbidden, "consent_required")

	// An expired consent releases nothing either.
	e.clk.add(time.Minute)
	c2, err := e.svc.Grant(ctx, e.pin, partner.ConsentRequest{PartnerID: "vcb", Fields: []string{"phone"}, ExpiresAt: e.clk.now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if rel, err := e.svc.Release(ctx, "vcb", e.pin); err != nil || !reflect.DeepEqual(rel.Fields, []string{"phone"}) {
		t.Fatalf("release under the second consent: %+v, %v", rel, err)
	}
	e.clk.add(time.Hour)
	_, err = e.svc.Release(ctx, "vcb", e.pin)
	wantCode(t, "release after expiry", err, cancuoc.Forbidden, "consent_required")

	list, err := e.svc.Consents(ctx, e.pin)
	if err != nil || len(list) != 2 || list[0].ID != c2.ID || list[1].RevokedAt == nil {
		t.Fatalf("Consents = %v, %v", list, err)
	}
	// Grants, withdrawals and releases (and refusals) are on the log.
	log, err := e.store.AuditFor(ctx, e.pin, 100)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, a := range log {
		count[a.Action+" "+a.Outcome]++
	}
	want := map[string]int{"partner.consent.grant ok": 2, "partner.consent.revoke ok": 1, "partner.release ok": 2,
		"partner.release consent_required": 3}
	if !reflect.DeepEqual(count, want) {
		t.Errorf("log = %v, want %v", count, want)
	}
	// Grants and the withdrawal are events for subscribers (the partner
	// learns of the withdrawal), with field names and no values.
	evs, err := e.store.EventsAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Type)
		if ev.PIN != e.pin || !strings.Contains(string(ev.Data), `"partner_id":"vcb"`) || strings.Contains(string(ev.Data), "Nguy") {
			t.Errorf("event %+v %s", ev, ev.Data)
		}
	}
	if !reflect.DeepEqual(types, []string{"partner.consent.granted", "partner.consent.revoked", "partner.consent.granted"}) {
		t.Errorf("events %v", types)
	}
}

// A release of relationship fields carries the relatives' names (part of
// the citizen's own record) but not their identifiers, and the relatives'
// own access logs show that their name left.
func TestReleaseOmitsRelativesIdentifiers(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	father, child := storetest.PIN(21), storetest.PIN(22)
	e.pin = storetest.PIN(23)
	c := storetest.Citizen(e.pin)
	c.Father = &cancuoc.Relative{PIN: father, OldID: "012345678", Name: "Nguyễn Văn Cha", Nationality: "VNM"}
	c.Children = []cancuoc.Relative{{PIN: child, Name: "Nguyễn Văn Con"}, {Name: "Nguyễn Thị Út"}}
	if err := e.store.InsertCitizen(ctx, c); err != nil {
		t.Fatal(err)
	}
	n := bank("vcb", cancuoc.Quota{})
	n.Policy.Fields = append(n.Policy.Fields, "father", "children")
	if _, err := e.svc.Create(ctx, nil, n); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Grant(ctx, e.pin, partner.ConsentRequest{PartnerID: "vcb", Fields: []string{"full_name", "father", "children"},
		ExpiresAt: e.clk.now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rel, err := e.svc.Release(ctx, "vcb", e.pin)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{string(father), string(child), "012345678"} {
		if strings.Contains(string(rel.Record), leak) {
			t.Errorf("release carries a relative's identifier %s: %s", leak, rel.Record)
		}
	}
	if !strings.Contains(string(rel.Record), "Nguyễn Văn Cha") || !strings.Contains(string(rel.Record), "Nguyễn Thị Út") {
		t.Errorf("release lost the relatives' names: %s", rel.Record)
	}
	for _, pin := range []cancuoc.PIN{father, child} {
		log, err := e.store.AuditFor(ctx, pin, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != 1 || log[0].Action != "partner.release_relative" || log[0].Actor != "partner:vcb" {
			t.Errorf("relative %s's log = %+v", pin, log)
		}
	}
}

// TestQuotaAcrossNodes: two nodes on one database share a partner's quota
// through the synced counters; before a sync each node decides alone, after
// it neither admits more than the quota left.
func TestQuotaAcrossNodes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if _, err := e.svc.Create(ctx, nil, bank("vcb", cancuoc.Quota{PerMinute: 10})); err != nil {
		t.Fatal(err)
	}
	w := audit.NewWriter(e.store, 0)
	t.Cleanup(func() { w.Close() })
	other := partner.New(e.store, w, partner.WithClock(e.clk.now), partner.WithPolicyCache(0))
	call := func(s *partner.Service) error { return s.Authorize(ctx, "vcb", cancuoc.OpMatch) }
	for i := range 4 {
		if err := call(e.svc); err != nil {
			t.Fatalf("node A call %d: %v", i, err)
		}
	}
	if err := call(other); err != nil { // B's first call, before it knows of A's
		t.Fatal(err)
	}
	if err := e.svc.SyncQuotas(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.SyncQuotas(ctx); err != nil { // B learns A's 4
		t.Fatal(err)
	}
	for i := range 5 {
		if err := call(other); err != nil {
			t.Fatalf("node B call %d: %v", i, err)
		}
	}
	wantCode(t, "node B past the shared quota", call(other), cancuoc.TooManyRequests, "quota_exceeded")
	// A has not heard of B's calls yet, so it admits up to its own view…
	if err := call(e.svc); err != nil {
		t.Fatalf("node A before the sync: %v", err)
	}
	// …and after syncing both, A knows the minute is spent.
	for _, s := range []*partner.Service{other, e.svc} {
		if err := s.SyncQuotas(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, "node A after the sync", call(e.svc), cancuoc.TooManyRequests, "quota_exceeded")
	if got, err := e.store.AddQuotaUsage(ctx, "vcb", "minute", e.clk.now().Truncate(time.Minute), 0); err != nil || got != 11 {
		t.Errorf("shared minute count = %d, %v; want 11 (4 + 6 + 1 admitted before the sync)", got, err)
	}
	// A new minute starts afresh on both.
	e.clk.add(time.Minute)
	if err := call(other); err != nil {
		t.Fatalf("next minute: %v", err)
	}
}
