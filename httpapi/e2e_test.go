package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
)

// Units used below (34-province set): Hà Nội is 01, its wards Ba Đình 00004
// and Ngọc Hà 00008; Hồ Chí Minh City is 79.
const (
	hanoi   = "01"
	baDinh  = "00004"
	ngocHa  = "00008"
	hcmCity = "79"
)

// env is the API over a real in-memory SQLite store, with one principal of
// each kind.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	store *sqlite.Store
	reg   *registry.Service

	admin, baDinhOfficer, ngocHaOfficer, hanoiOfficer, hcmOfficer, ministry, auditor string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	w := audit.NewWriter(store, 0)
	t.Cleanup(func() { w.Close() })
	reg := registry.New(store, w)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	api := httpapi.New(reg, log)
	mux := http.NewServeMux()
	api.Routes(mux)
	srv := httptest.NewServer(httpapi.Handler(mux, log, nil))
	t.Cleanup(srv.Close)

	e := &env{t: t, srv: srv, store: store, reg: reg}
	mk := func(name string, role cancuoc.Role, j cancuoc.Jurisdiction) string {
		_, key, err := reg.CreatePrincipal(ctx, nil, registry.NewPrincipal{Name: name, Role: role, Jurisdiction: j, Agency: "Bộ Công an"})
		if err != nil {
			t.Fatalf("CreatePrincipal %s: %v", name, err)
		}
		return key
	}
	e.admin = mk("Quản trị", cancuoc.RoleNationalAdmin, cancuoc.Jurisdiction{})
	e.baDinhOfficer = mk("Cán bộ Ba Đình", cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
	e.ngocHaOfficer = mk("Cán bộ Ngọc Hà", cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Commune: ngocHa})
	e.hanoiOfficer = mk("Cán bộ Hà Nội", cancuoc.RoleProvinceOfficer, cancuoc.Jurisdiction{Province: hanoi})
	e.hcmOfficer = mk("Cán bộ TP HCM", cancuoc.RoleProvinceOfficer, cancuoc.Jurisdiction{Province: hcmCity})
	e.ministry = mk("Hệ thống BHXH", cancuoc.RoleMinistrySystem, cancuoc.Jurisdiction{})
	e.auditor = mk("Kiểm toán", cancuoc.RoleAuditor, cancuoc.Jurisdiction{})
	return e
}

// response is an answer, read whole.
type response struct {
	t      *testing.T
	status int
	header http.Header
	body   []byte
}

// do sends a request. body is sent as is when it is a string or []byte, as
// JSON otherwise; hdr is pairs of header name and value.
func (e *env) do(method, path, key string, body any, hdr ...string) *response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &response{t: e.t, status: res.StatusCode, header: res.Header, body: raw}
}

// ok checks the status and decodes the JSON body into v (if not nil).
func (r *response) ok(status int, v any) *response {
	r.t.Helper()
	if r.status != status {
		r.t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		r.t.Errorf("Content-Type %q, want application/json", ct)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			r.t.Fatalf("decode %s: %v", r.body, err)
		}
	}
	return r
}

// problem checks an RFC 9457 answer and returns it.
func (r *response) problem(status int, code string) httpapi.Problem {
	r.t.Helper()
	if r.status != status {
		r.t.Fatalf("status %d, want %d (%s); body %s", r.status, status, code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		r.t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p httpapi.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		r.t.Fatalf("decode problem %s: %v", r.body, err)
	}
	if p.Code != code {
		r.t.Fatalf("problem code %q, want %q; body %s", p.Code, code, r.body)
	}
	if p.Status != status || p.Type != httpapi.ProblemTypeBase+code || p.Title == "" || p.Detail == "" ||
		p.MessageVI == "" || p.MessageEN == "" || p.RequestID == "" {
		r.t.Errorf("incomplete problem: %+v", p)
	}
	if p.RequestID != r.header.Get("X-Request-ID") {
		r.t.Errorf("request_id %q differs from X-Request-ID %q", p.RequestID, r.header.Get("X-Request-ID"))
	}
	return p
}

func birth(name, date, sex, commune string) map[string]any {
	return map[string]any{
		"full_name": name, "birth_date": date, "sex": sex,
		"registration": map[string]any{"era": "34", "province": hanoi, "commune": commune},
		"ethnicity":    "01", "religion": "00",
		"reason": "Đăng ký khai sinh", "legal_basis": "Luật Hộ tịch 2014, Điều 16",
	}
}

// register registers a birth in Ba Đình and returns the record.
func (e *env) register(name, date, sex string) *cancuoc.Citizen {
	e.t.Helper()
	var c cancuoc.Citizen
	e.do("POST", "/v1/births", e.baDinhOfficer, birth(name, date, sex, baDinh)).ok(http.StatusCreated, &c)
	return &c
}

func meta(m map[string]any) map[string]any {
	m["reason"] = "Cập nhật theo yêu cầu của công dân"
	m["legal_basis"] = "Luật Cư trú 2020"
	return m
}

func TestBirthReadUpdate(t *testing.T) {
	e := newEnv(t)

	r := e.do("POST", "/v1/births", e.baDinhOfficer, birth("Nguyễn Văn An", "2024-03-15", "male", baDinh))
	var c cancuoc.Citizen
	r.ok(http.StatusCreated, &c)
	// 001: Hà Nội; 2: male born 2000–2099; 24: 2024.
	if !regexp.MustCompile(`^001224[0-9]{6}$`).MatchString(string(c.PIN)) {
		t.Errorf("PIN %q, want 001224xxxxxx", c.PIN)
	}
	if got := r.header.Get("Location"); got != "/v1/citizens/"+string(c.PIN) {
		t.Errorf("Location %q", got)
	}
	if got := r.header.Get("ETag"); got != `"1"` {
		t.Errorf("ETag %q, want \"1\"", got)
	}
	if c.Version != 1 || c.LifeStatus != cancuoc.Alive || c.NameKey != "nguyen van an" || c.Nationality != "VNM" ||
		c.Home != (cancuoc.UnitRef{Province: hanoi, Commune: baDinh}) || c.MaritalStatus != cancuoc.Single {
		t.Errorf("new record: %+v", c)
	}
	path := "/v1/citizens/" + string(c.PIN)

	var got cancuoc.Citizen
	r = e.do("GET", path, e.baDinhOfficer, nil, "X-Purpose", "Kiểm tra hồ sơ")
	r.ok(http.StatusOK, &got)
	if r.header.Get("ETag") != `"1"` || got.PIN != c.PIN || got.FullName != "Nguyễn Văn An" || got.BirthDate.String() != "2024-03-15" {
		t.Errorf("read: ETag %q, %+v", r.header.Get("ETag"), got)
	}

	// Update with the version in the body.
	r = e.do("PATCH", path, e.baDinhOfficer, meta(map[string]any{"version": 1, "changes": map[string]any{"phone": "0912345678", "blood_type": "O+"}}))
	r.ok(http.StatusOK, &got)
	if got.Version != 2 || got.Phone != "0912345678" || got.BloodType != "O+" || r.header.Get("ETag") != `"2"` {
		t.Errorf("after update: ETag %q, %+v", r.header.Get("ETag"), got)
	}
	// Update with If-Match, as merge-patch; null clears a field.
	req := meta(map[string]any{"changes": map[string]any{"blood_type": nil, "other_names": []string{"Bé An"}}})
	r = e.do("PATCH", path, e.hanoiOfficer, req, "If-Match", `"2"`, "Content-Type", "application/merge-patch+json")
	got = cancuoc.Citizen{}
	r.ok(http.StatusOK, &got)
	if got.Version != 3 || got.BloodType != "" || !slices.Equal(got.OtherNames, []string{"Bé An"}) || got.Phone != "0912345678" {
		t.Errorf("after If-Match update: %+v", got)
	}

	// A stale version is a conflict, not a lost update.
	p := e.do("PATCH", path, e.baDinhOfficer, meta(map[string]any{"version": 2, "changes": map[string]any{"phone": "0987654321"}})).
		problem(http.StatusConflict, "stale_version")
	if p.Field != "version" {
		t.Errorf("stale_version field %q", p.Field)
	}
	e.do("PATCH", path, e.baDinhOfficer, meta(map[string]any{"changes": map[string]any{"phone": "0987654321"}}), "If-Match", `W/"1"`).
		problem(http.StatusConflict, "stale_version")

	// Bad updates name the field.
	for _, tc := range []struct {
		name        string
		body        any
		code, field string
	}{
		{"unknown field in changes", meta(map[string]any{"version": 3, "changes": map[string]any{"nickname": "An"}}), "field_not_updatable", "nickname"},
		{"unknown field in body", meta(map[string]any{"version": 3, "chnages": map[string]any{"phone": "0987654321"}}), "unknown_field", "chnages"},
		{"unknown nested field", meta(map[string]any{"version": 3, "changes": map[string]any{"father": map[string]any{"nmae": "Nguyễn Văn Ba"}}}), "unknown_field", "nmae"},
		{"protected life_status", meta(map[string]any{"version": 3, "changes": map[string]any{"life_status": "dead"}}), "field_not_updatable", "life_status"},
		{"protected death_date", meta(map[string]any{"version": 3, "changes": map[string]any{"death_date": "2025-01-01"}}), "field_not_updatable", "death_date"},
		{"protected pin", meta(map[string]any{"version": 3, "changes": map[string]any{"pin": "001224000000"}}), "field_not_updatable", "pin"},
		{"derived name_key", meta(map[string]any{"version": 3, "changes": map[string]any{"name_key": "x"}}), "field_not_updatable", "name_key"},
		{"wrong type", meta(map[string]any{"version": 3, "changes": map[string]any{"other_names": "An"}}), "json_type", "other_names"},
		{"invalid value", meta(map[string]any{"version": 3, "changes": map[string]any{"phone": "12"}}), "phone_invalid", "phone"},
		{"sex against PIN", meta(map[string]any{"version": 3, "changes": map[string]any{"sex": "female"}}), "pin_sex_mismatch", "pin"},
		{"no version", meta(map[string]any{"changes": map[string]any{"phone": "0987654321"}}), "version_required", "version"},
		{"no changes", meta(map[string]any{"version": 3, "changes": map[string]any{}}), "changes_empty", "changes"},
		{"no reason", map[string]any{"version": 3, "changes": map[string]any{"phone": "0987654321"}, "legal_basis": "x"}, "reason_required", "reason"},
		{"no legal basis", map[string]any{"version": 3, "changes": map[string]any{"phone": "0987654321"}, "reason": "x"}, "legal_basis_required", "legal_basis"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			defer func() { e.t = t }()
			p := e.do("PATCH", path, e.baDinhOfficer, tc.body).problem(http.StatusBadRequest, tc.code)
			if p.Field != tc.field {
				t.Errorf("field %q, want %q", p.Field, tc.field)
			}
		})
	}
	e.t = t
	e.do("GET", path, e.baDinhOfficer, nil).ok(http.StatusOK, &got)
	if got.Version != 3 {
		t.Fatalf("a refused update changed the record: version %d", got.Version)
	}

	// History: every version with who, why and what changed.
	var hist struct {
		PIN      cancuoc.PIN               `json:"pin"`
		Versions []*cancuoc.CitizenVersion `json:"versions"`
	}
	e.do("GET", path+"/history", e.auditor, nil).ok(http.StatusOK, &hist)
	if hist.PIN != c.PIN || len(hist.Versions) != 3 {
		t.Fatalf("history: %s", e.do("GET", path+"/history", e.auditor, nil).body)
	}
	v2 := hist.Versions[1]
	var fields []string
	for _, ch := range v2.Changes {
		fields = append(fields, ch.Field)
	}
	if v2.Version != 2 || !slices.Equal(fields, []string{"blood_type", "phone"}) || v2.Reason == "" || v2.LegalBasis != "Luật Cư trú 2020" ||
		v2.Agency != "Bộ Công an" || v2.Citizen == nil || v2.Citizen.Phone != "0912345678" {
		t.Errorf("version 2: %+v", v2)
	}

	var one cancuoc.CitizenVersion
	e.do("GET", path+"/versions/2", e.baDinhOfficer, nil).ok(http.StatusOK, &one)
	if one.Version != 2 || one.Citizen.BloodType != "O+" {
		t.Errorf("versions/2: %+v", one)
	}
	e.do("GET", path+"/versions/9", e.baDinhOfficer, nil).problem(http.StatusNotFound, "not_found")
	e.do("GET", path+"/versions/0", e.baDinhOfficer, nil).problem(http.StatusBadRequest, "version_invalid")
	e.do("GET", path+"/versions/abc", e.baDinhOfficer, nil).problem(http.StatusBadRequest, "version_invalid")

	// ?at= answers what the registry held then.
	for _, tc := range []struct {
		at   string
		want int64
	}{
		{v2.At.Format(time.RFC3339Nano), 2},
		{v2.At.Add(-time.Microsecond).Format(time.RFC3339Nano), 1},
		{v2.At.In(time.FixedZone("ICT", 7*3600)).Format(time.RFC3339Nano), 2},
		{"2999-01-01", 3},
	} {
		e.do("GET", path+"?at="+url.QueryEscape(tc.at), e.baDinhOfficer, nil).ok(http.StatusOK, &one)
		if one.Version != tc.want || one.Citizen == nil || one.Citizen.PIN != c.PIN {
			t.Errorf("at=%s: version %d, want %d", tc.at, one.Version, tc.want)
		}
	}
	e.do("GET", path+"?at=2000-01-01", e.baDinhOfficer, nil).problem(http.StatusNotFound, "not_found")
	e.do("GET", path+"?at=yesterday", e.baDinhOfficer, nil).problem(http.StatusBadRequest, "instant_format")
	// The ministry has no right to history.
	e.do("GET", path+"?at=2999-01-01", e.ministry, nil).problem(http.StatusForbidden, "role_forbidden")
	e.do("GET", path+"/history", e.ministry, nil).problem(http.StatusForbidden, "role_forbidden")

	// Reads were logged with their purpose.
	entries, err := e.store.AuditFor(t.Context(), c.PIN, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(entries, func(a *cancuoc.AuditEntry) bool {
		return a.Action == string(registry.ActRead) && a.Purpose == "Kiểm tra hồ sơ" && a.Outcome == "ok"
	}) {
		t.Errorf("no audit entry for the read with its purpose")
	}
}

func TestBirthWithParents(t *testing.T) {
	e := newEnv(t)
	father := e.register("Nguyễn Văn Ba", "1995-01-02", "male")
	mother := e.register("Trần Thị Bình", "1996-03-04", "female")
	b := birth("Nguyễn Thị Cúc", "2025-08-01", "female", baDinh)
	b["father"] = map[string]any{"pin": father.PIN}
	b["mother"] = map[string]any{"pin": mother.PIN}
	var c cancuoc.Citizen
	e.do("POST", "/v1/births", e.baDinhOfficer, b).ok(http.StatusCreated, &c)
	if !strings.HasPrefix(string(c.PIN), "001325") || c.Father == nil || c.Father.Name != "Nguyễn Văn Ba" || c.Mother == nil || c.Mother.PIN != mother.PIN {
		t.Errorf("child: %+v", c)
	}
	var f cancuoc.Citizen
	e.do("GET", "/v1/citizens/"+string(father.PIN), e.admin, nil).ok(http.StatusOK, &f)
	if f.Version != 2 || len(f.Children) != 1 || f.Children[0].PIN != c.PIN {
		t.Errorf("father after the birth: %+v", f)
	}

	b["mother"] = map[string]any{"pin": father.PIN}
	if p := e.do("POST", "/v1/births", e.baDinhOfficer, b).problem(http.StatusBadRequest, "parent_sex_mismatch"); p.Field != "mother.pin" {
		t.Errorf("field %q", p.Field)
	}
	bad := birth("Nguyễn Thị Cúc", "2025-08", "female", baDinh)
	e.do("POST", "/v1/births", e.baDinhOfficer, bad).problem(http.StatusBadRequest, "birth_date_incomplete")
	// An officer registers only in their own commune.
	e.do("POST", "/v1/births", e.ngocHaOfficer, birth("Lê Văn Dũng", "2025-01-01", "male", baDinh)).
		problem(http.StatusForbidden, "outside_jurisdiction")
	e.do("POST", "/v1/births", e.ministry, birth("Lê Văn Dũng", "2025-01-01", "male", baDinh)).
		problem(http.StatusForbidden, "role_forbidden")
}

type page struct {
	Items      []map[string]json.RawMessage `json:"items"`
	NextCursor string                       `json:"next_cursor"`
}

// searchAll follows next_cursor to the end and returns the PINs found.
func (e *env) searchAll(key, query string) []string {
	e.t.Helper()
	var pins []string
	next := ""
	for i := 0; ; i++ {
		if i > 10 {
			e.t.Fatalf("search %s: paging does not end; got %v", query, pins)
		}
		q := query
		if next != "" {
			q += "&cursor=" + url.QueryEscape(next)
		}
		var p page
		e.do("GET", "/v1/citizens?"+q, key, nil).ok(http.StatusOK, &p)
		for _, it := range p.Items {
			var pin string
			_ = json.Unmarshal(it["pin"], &pin)
			pins = append(pins, pin)
		}
		if p.NextCursor == "" {
			return pins
		}
		next = p.NextCursor
	}
}

func TestSearch(t *testing.T) {
	e := newEnv(t)
	var want []string
	for _, d := range []string{"2024-01-01", "2024-02-02", "2023-03-03"} {
		want = append(want, string(e.register("Nguyễn Văn An", d, "male").PIN))
	}
	e.register("Nguyễn Văn Anh", "2024-04-04", "male")
	e.register("Trần Thị Bình", "2024-05-05", "female")
	slices.Sort(want)

	// Without diacritics, paged two by two.
	var p page
	e.do("GET", "/v1/citizens?name=nguyen+van+an&limit=2", e.baDinhOfficer, nil).ok(http.StatusOK, &p)
	if len(p.Items) != 2 || p.NextCursor == "" {
		t.Fatalf("first page: %d items, cursor %q", len(p.Items), p.NextCursor)
	}
	var name string
	_ = json.Unmarshal(p.Items[0]["full_name"], &name)
	if name != "Nguyễn Văn An" {
		t.Errorf("found %q", name)
	}
	for _, key := range []string{e.baDinhOfficer, e.hanoiOfficer, e.admin, e.auditor, e.ministry} {
		got := e.searchAll(key, "name=nguyen+van+an&limit=2")
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("paged search: got %v, want %v", got, want)
		}
	}
	for _, tc := range []struct {
		query string
		n     int
	}{
		{"name=" + url.QueryEscape("Nguyễn Văn An"), 3},
		{"name=NGUYEN-VAN-AN", 3},
		{"name=nguyen+van+an&birth_date=2024", 2},
		{"name=nguyen+van+an&birth_date=2024-02", 1},
		{"name=nguyen+van&prefix=true", 4},
		{"name=nguyen+van&prefix=true&limit=1", 4},
		{"province=01&commune=00004", 5},
		{"name=nguyen+van+an&province=79", 0},
	} {
		if got := e.searchAll(e.admin, tc.query); len(got) != tc.n {
			t.Errorf("%s: %d found, want %d", tc.query, len(got), tc.n)
		}
	}
	// Officers see only their own area, and are refused elsewhere.
	if got := e.searchAll(e.ngocHaOfficer, "name=nguyen+van+an"); len(got) != 0 {
		t.Errorf("Ngọc Hà officer found %v in Ba Đình", got)
	}
	e.do("GET", "/v1/citizens?name=nguyen+van+an&province=79", e.hanoiOfficer, nil).problem(http.StatusForbidden, "outside_jurisdiction")
	e.do("GET", "/v1/citizens?commune=00004", e.ngocHaOfficer, nil).problem(http.StatusForbidden, "outside_jurisdiction")

	for _, tc := range []struct{ query, code, field string }{
		{"name=an&cursor=%21%21", "cursor_invalid", "cursor"},
		{"name=an&cursor=" + url.QueryEscape("bm90IGEgY3Vyc29y"), "cursor_invalid", "cursor"},
		{"name=an&limit=0", "limit_invalid", "limit"},
		{"name=an&limit=x", "limit_invalid", "limit"},
		{"name=an&birth_date=1990-13", "date_month_range", "birth_date"},
		{"name=an&birth_date=90", "date_format", "birth_date"},
		{"", "search_empty", "name"},
		{"name=%21%21", "search_empty", "name"},
	} {
		if p := e.do("GET", "/v1/citizens?"+tc.query, e.admin, nil).problem(http.StatusBadRequest, tc.code); p.Field != tc.field {
			t.Errorf("%s: field %q, want %q", tc.query, p.Field, tc.field)
		}
	}
}

func TestDeathMissingPopulation(t *testing.T) {
	e := newEnv(t)
	a := e.register("Nguyễn Văn An", "2024-01-01", "male")
	b := e.register("Trần Thị Bình", "2024-02-02", "female")
	e.register("Lê Văn Cường", "2024-03-03", "male")
	// One in Ngọc Hà, registered there by its officer.
	e.do("POST", "/v1/births", e.ngocHaOfficer, birth("Phạm Thị Dung", "2024-04-04", "female", ngocHa)).ok(http.StatusCreated, nil)

	death := map[string]any{"date": "2025-06-01", "legal_basis": "Trích lục khai tử số 12/2025"}
	e.do("POST", "/v1/citizens/"+string(a.PIN)+"/death", e.ngocHaOfficer, death).problem(http.StatusForbidden, "outside_jurisdiction")
	e.do("POST", "/v1/citizens/"+string(a.PIN)+"/death", e.baDinhOfficer, map[string]any{"legal_basis": "x"}).
		problem(http.StatusBadRequest, "death_date_required")
	e.do("POST", "/v1/citizens/"+string(a.PIN)+"/death", e.baDinhOfficer, map[string]any{"version": 7, "date": "2025-06-01", "legal_basis": "x"}).
		problem(http.StatusConflict, "stale_version")
	var c cancuoc.Citizen
	r := e.do("POST", "/v1/citizens/"+string(a.PIN)+"/death", e.baDinhOfficer, death)
	r.ok(http.StatusOK, &c)
	if c.LifeStatus != cancuoc.Dead || c.DeathDate.String() != "2025-06-01" || c.Version != 2 || r.header.Get("ETag") != `"2"` {
		t.Errorf("after death: %+v", c)
	}
	e.do("POST", "/v1/citizens/"+string(a.PIN)+"/death", e.baDinhOfficer, death).problem(http.StatusConflict, "already_dead")
	e.do("POST", "/v1/citizens/"+string(a.PIN)+"/missing", e.baDinhOfficer, map[string]any{"since": "2025-07-01", "legal_basis": "x"}).
		problem(http.StatusConflict, "not_alive")

	e.do("POST", "/v1/citizens/"+string(b.PIN)+"/missing", e.baDinhOfficer, map[string]any{"legal_basis": "x"}).
		problem(http.StatusBadRequest, "missing_since_required")
	e.do("POST", "/v1/citizens/"+string(b.PIN)+"/missing", e.baDinhOfficer,
		map[string]any{"version": 1, "since": "2025-07-01", "legal_basis": "Quyết định 5/2025/QĐ-TA của TAND quận Ba Đình"}).ok(http.StatusOK, &c)
	if c.LifeStatus != cancuoc.Missing || c.MissingSince.String() != "2025-07-01" {
		t.Errorf("after missing: %+v", c)
	}
	// life_status moves only through these procedures.
	e.do("PATCH", "/v1/citizens/"+string(b.PIN), e.baDinhOfficer, meta(map[string]any{"version": 2, "changes": map[string]any{"life_status": "alive"}})).
		problem(http.StatusBadRequest, "field_not_updatable")

	var pop struct {
		Province string                    `json:"province"`
		Units    string                    `json:"units"`
		Counts   []cancuoc.PopulationCount `json:"counts"`
	}
	e.do("GET", "/v1/population", e.ministry, nil).ok(http.StatusOK, &pop)
	if pop.Units != "34" || len(pop.Counts) != 1 || pop.Counts[0] != (cancuoc.PopulationCount{Province: hanoi, Alive: 2, Dead: 1, Missing: 1}) {
		t.Errorf("national counts: %+v", pop)
	}
	e.do("GET", "/v1/population?province=01", e.ngocHaOfficer, nil).ok(http.StatusOK, &pop)
	want := []cancuoc.PopulationCount{{Province: hanoi, Commune: baDinh, Alive: 1, Dead: 1, Missing: 1}, {Province: hanoi, Commune: ngocHa, Alive: 1}}
	if pop.Province != hanoi || !slices.Equal(pop.Counts, want) {
		t.Errorf("Hà Nội counts: %+v", pop)
	}
}

func TestPrincipals(t *testing.T) {
	e := newEnv(t)
	np := map[string]any{"name": "Hệ thống Bảo hiểm xã hội", "role": "ministry_system", "agency": "BHXH Việt Nam"}
	var created struct {
		Principal cancuoc.Principal `json:"principal"`
		APIKey    string            `json:"api_key"`
	}
	e.do("POST", "/v1/principals", e.admin, np).ok(http.StatusCreated, &created)
	if created.Principal.Role != cancuoc.RoleMinistrySystem || !created.Principal.Jurisdiction.National() ||
		created.Principal.ID == "" || !strings.HasPrefix(created.APIKey, "cck_") {
		t.Errorf("created: %+v", created)
	}
	var me cancuoc.Principal
	e.do("GET", "/v1/me", created.APIKey, nil).ok(http.StatusOK, &me)
	if me.ID != created.Principal.ID || me.Name != "Hệ thống Bảo hiểm xã hội" || me.Agency != "BHXH Việt Nam" {
		t.Errorf("/v1/me: %+v", me)
	}
	// The commune's province follows from the commune.
	e.do("POST", "/v1/principals", e.admin, map[string]any{"name": "Cán bộ", "role": "commune_officer",
		"jurisdiction": map[string]any{"commune": ngocHa}}).ok(http.StatusCreated, &created)
	if created.Principal.Jurisdiction != (cancuoc.Jurisdiction{Province: hanoi, Commune: ngocHa}) {
		t.Errorf("jurisdiction %+v", created.Principal.Jurisdiction)
	}

	for _, key := range []string{e.baDinhOfficer, e.hanoiOfficer, e.ministry, e.auditor} {
		e.do("POST", "/v1/principals", key, np).problem(http.StatusForbidden, "role_forbidden")
	}
	for _, tc := range []struct {
		body        map[string]any
		code, field string
	}{
		{map[string]any{"name": "x", "role": "king"}, "role_unknown", "role"},
		{map[string]any{"name": " ", "role": "auditor"}, "name_required", "name"},
		{map[string]any{"name": "x", "role": "commune_officer"}, "jurisdiction_required", "jurisdiction.commune"},
		{map[string]any{"name": "x", "role": "province_officer", "jurisdiction": map[string]any{"province": "99"}}, "province_unknown", "jurisdiction.province"},
		{map[string]any{"name": "x", "role": "auditor", "officer_pin": "12"}, "pin_format", "pin"},
		{map[string]any{"name": "x", "role": "auditor", "secret": "x"}, "unknown_field", "secret"},
	} {
		if p := e.do("POST", "/v1/principals", e.admin, tc.body).problem(http.StatusBadRequest, tc.code); p.Field != tc.field {
			t.Errorf("%v: field %q, want %q", tc.body, p.Field, tc.field)
		}
	}

	// /v1/me with each way of sending the key.
	var m cancuoc.Principal
	e.do("GET", "/v1/me", "", nil, "X-API-Key", e.auditor).ok(http.StatusOK, &m)
	if m.Role != cancuoc.RoleAuditor {
		t.Errorf("X-API-Key: %+v", m)
	}
	e.do("GET", "/v1/me", "", nil, "Authorization", "bearer "+e.auditor).ok(http.StatusOK, &m)
	if m.Role != cancuoc.RoleAuditor {
		t.Errorf("lower-case bearer: %+v", m)
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	c := e.register("Nguyễn Văn An", "2024-01-01", "male")
	for _, tc := range []struct {
		name string
		hdr  []string
		code string
	}{
		{"no key", nil, "api_key_missing"},
		{"empty bearer", []string{"Authorization", "Bearer "}, "api_key_missing"},
		{"other scheme", []string{"Authorization", "Basic dXNlcjpwYXNz"}, "api_key_missing"},
		{"garbage", []string{"Authorization", "Bearer garbage"}, "api_key_invalid"},
		{"unknown id", []string{"Authorization", "Bearer cck_nosuchid_secret"}, "api_key_invalid"},
		{"wrong secret", []string{"Authorization", "Bearer " + e.admin[:strings.LastIndex(e.admin, "_")] + "_wrong"}, "api_key_invalid"},
		{"bad X-API-Key", []string{"X-API-Key", "cck_a_b"}, "api_key_invalid"},
	} {
		for _, path := range []string{"/v1/me", "/v1/citizens/" + string(c.PIN), "/v1/citizens?name=an"} {
			r := e.do("GET", path, "", nil, tc.hdr...)
			r.problem(http.StatusUnauthorized, tc.code)
			if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="cancuoc"` {
				t.Errorf("%s %s: WWW-Authenticate %q", tc.name, path, got)
			}
		}
	}
	e.do("POST", "/v1/births", "", birth("Nguyễn Văn Bình", "2024-01-01", "male", baDinh)).problem(http.StatusUnauthorized, "api_key_missing")
	// Nothing was registered without a key.
	if got := e.searchAll(e.admin, "name=nguyen+van+binh"); len(got) != 0 {
		t.Errorf("a birth was registered without a key: %v", got)
	}
}

func TestJurisdictionAndPaths(t *testing.T) {
	e := newEnv(t)
	c := e.register("Nguyễn Văn An", "2024-01-01", "male")
	path := "/v1/citizens/" + string(c.PIN)
	for _, key := range []string{e.baDinhOfficer, e.hanoiOfficer, e.admin, e.auditor, e.ministry} {
		e.do("GET", path, key, nil).ok(http.StatusOK, nil)
	}
	for _, key := range []string{e.ngocHaOfficer, e.hcmOfficer} {
		e.do("GET", path, key, nil).problem(http.StatusForbidden, "outside_jurisdiction")
		e.do("GET", path+"/history", key, nil).problem(http.StatusForbidden, "outside_jurisdiction")
		e.do("GET", path+"/versions/1", key, nil).problem(http.StatusForbidden, "outside_jurisdiction")
		e.do("PATCH", path, key, meta(map[string]any{"version": 1, "changes": map[string]any{"phone": "0912345678"}})).
			problem(http.StatusForbidden, "outside_jurisdiction")
	}
	// The refused read is in the citizen's access log.
	entries, err := e.store.AuditFor(t.Context(), c.PIN, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(entries, func(a *cancuoc.AuditEntry) bool { return a.Outcome == "outside_jurisdiction" }) {
		t.Errorf("refused access not logged: %+v", entries)
	}
	// A move is no general update: the destination's officer is refused,
	// and the home officer is told which procedure to use. Only a national
	// administrator corrects a residence field this way.
	move := meta(map[string]any{"version": 1, "changes": map[string]any{
		"permanent_residence": map[string]any{"era": "34", "province": hanoi, "commune": ngocHa, "detail": "Số 5 Đội Cấn"}}})
	e.do("PATCH", path, e.ngocHaOfficer, move).problem(http.StatusForbidden, "outside_jurisdiction")
	if p := e.do("PATCH", path, e.baDinhOfficer, move).problem(http.StatusBadRequest, "residence_procedure_required"); p.Field != "permanent_residence" ||
		!strings.Contains(p.MessageVI, "POST /v1/households") || !strings.Contains(p.MessageEN, "POST /v1/households") {
		t.Errorf("refused move: %+v", p)
	}
	for f, v := range map[string]any{
		"household":           map[string]any{"id": "hh-x", "head_pin": c.PIN, "head_name": "x", "relation": cancuoc.RelationHead},
		"temporary_residence": map[string]any{"era": "34", "province": hanoi, "commune": ngocHa, "from": "2025-01-01", "until": "2026-01-01"},
		"temporary_absence":   map[string]any{"from": "2025-01-01"},
	} {
		if p := e.do("PATCH", path, e.baDinhOfficer, meta(map[string]any{"version": 1, "changes": map[string]any{f: v}})).
			problem(http.StatusBadRequest, "residence_procedure_required"); p.Field != f {
			t.Errorf("%s refused as %q", f, p.Field)
		}
	}
	var moved cancuoc.Citizen
	e.do("PATCH", path, e.admin, move).ok(http.StatusOK, &moved)
	if moved.Home != (cancuoc.UnitRef{Province: hanoi, Commune: ngocHa}) {
		t.Errorf("after the correction: home %+v", moved.Home)
	}
	e.do("GET", path, e.baDinhOfficer, nil).problem(http.StatusForbidden, "outside_jurisdiction")

	for _, tc := range []struct{ pin, code string }{
		{"123", "pin_format"}, {"00122401234x", "pin_format"}, {"0012240123456", "pin_format"},
		{"999224012345", "pin_region_unknown"}, {"001999012345", "pin_year_future"},
	} {
		for _, sub := range []string{"", "/history", "/versions/1"} {
			if p := e.do("GET", "/v1/citizens/"+tc.pin+sub, e.admin, nil).problem(http.StatusBadRequest, tc.code); p.Field != "pin" {
				t.Errorf("%s: field %q", tc.pin, p.Field)
			}
		}
		e.do("PATCH", "/v1/citizens/"+tc.pin, e.admin, meta(map[string]any{"version": 1, "changes": map[string]any{"phone": "0912345678"}})).
			problem(http.StatusBadRequest, tc.code)
		e.do("POST", "/v1/citizens/"+tc.pin+"/death", e.admin, map[string]any{"date": "2025-01-01", "legal_basis": "x"}).
			problem(http.StatusBadRequest, tc.code)
	}
	e.do("GET", "/v1/citizens/001224999999", e.admin, nil).problem(http.StatusNotFound, "not_found")
	e.do("GET", "/v1/citizens/001224999999/history", e.admin, nil).problem(http.StatusNotFound, "not_found")
	e.do("PATCH", "/v1/citizens/001224999999", e.admin, meta(map[string]any{"version": 1, "changes": map[string]any{"phone": "0912345678"}})).
		problem(http.StatusNotFound, "not_found")
}

func TestDecodeErrors(t *testing.T) {
	e := newEnv(t)
	valid, _ := json.Marshal(birth("Nguyễn Văn An", "2024-01-01", "male", baDinh))
	big := `{"full_name":"` + strings.Repeat("a", 1<<20) + `"}`
	for _, tc := range []struct {
		name, body, ctype, code, field string
	}{
		{"malformed", `{"full_name":,}`, "", "json_syntax", ""},
		{"truncated", `{"full_name":"An"`, "", "json_syntax", ""},
		{"not an object", `[1,2]`, "", "json_type", ""},
		{"unknown field", `{"full_nam":"An"}`, "", "unknown_field", "full_nam"},
		{"unknown nested field", `{"registration":{"provnce":"01"}}`, "", "unknown_field", "provnce"},
		{"trailing object", string(valid) + `{}`, "", "json_trailing", ""},
		{"trailing garbage", string(valid) + `x`, "", "json_trailing", ""},
		{"oversized", big, "", "body_too_large", ""},
		{"empty", ``, "", "body_empty", ""},
		{"wrong type", `{"full_name":5}`, "", "json_type", "full_name"},
		{"nested wrong type", `{"registration":{"province":1}}`, "", "json_type", "registration.province"},
		{"bad date", `{"birth_date":"2024-02-30"}`, "", "date_day_range", ""},
		{"date not a string", `{"birth_date":2024}`, "", "date_format", ""},
		{"content type", string(valid), "text/plain", "content_type", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			defer func() { e.t = t }()
			var hdr []string
			if tc.ctype != "" {
				hdr = []string{"Content-Type", tc.ctype}
			}
			p := e.do("POST", "/v1/births", e.baDinhOfficer, tc.body, hdr...).problem(http.StatusBadRequest, tc.code)
			if p.Field != tc.field {
				t.Errorf("field %q, want %q", p.Field, tc.field)
			}
		})
	}
	e.t = t
	// The same rules apply to every body.
	c := e.register("Nguyễn Văn An", "2024-01-01", "male")
	for _, path := range []string{"/v1/citizens/" + string(c.PIN) + "/death", "/v1/citizens/" + string(c.PIN) + "/missing", "/v1/principals"} {
		e.do("POST", path, e.admin, `{"x":1}`).problem(http.StatusBadRequest, "unknown_field")
		e.do("POST", path, e.admin, `{} []`).problem(http.StatusBadRequest, "json_trailing")
		e.do("POST", path, e.admin, big).problem(http.StatusBadRequest, "body_too_large")
	}
	e.do("PATCH", "/v1/citizens/"+string(c.PIN), e.admin, `{"version":1,`).problem(http.StatusBadRequest, "json_syntax")
}

func TestLanguage(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		accept, lang string
		english      bool
	}{
		{"", "vi", false},
		{"en", "en", true},
		{"en-US,en;q=0.9", "en", true},
		{"vi-VN, en;q=0.5", "vi", false},
		{"fr, en;q=0.8", "en", true},
		{"fr", "vi", false},
	} {
		r := e.do("GET", "/v1/citizens/123", e.admin, nil, "Accept-Language", tc.accept)
		p := r.problem(http.StatusBadRequest, "pin_format")
		want := p.MessageVI
		if tc.english {
			want = p.MessageEN
		}
		if p.Detail != want || r.header.Get("Content-Language") != tc.lang {
			t.Errorf("Accept-Language %q: detail %q, Content-Language %q", tc.accept, p.Detail, r.header.Get("Content-Language"))
		}
	}
	p := e.do("GET", "/v1/me", "", nil).problem(http.StatusUnauthorized, "api_key_missing")
	if !strings.Contains(p.Detail, "Thiếu khoá API") {
		t.Errorf("default detail not Vietnamese: %q", p.Detail)
	}
	p = e.do("GET", "/v1/me", "", nil, "Accept-Language", "en").problem(http.StatusUnauthorized, "api_key_missing")
	if !strings.Contains(p.Detail, "Missing API key") {
		t.Errorf("English detail: %q", p.Detail)
	}
	// The caller's request ID comes back.
	r := e.do("GET", "/v1/me", "", nil, "X-Request-ID", "req-123")
	if r.problem(http.StatusUnauthorized, "api_key_missing").RequestID != "req-123" {
		t.Errorf("request ID not echoed: %s", r.body)
	}
}

// TestMinistryView checks that a ministry's system receives the reduced
// record: no ethnicity, religion, family or contact data.
func TestMinistryView(t *testing.T) {
	e := newEnv(t)
	father := e.register("Nguyễn Văn Ba", "1990-01-02", "male")
	b := birth("Nguyễn Văn An", "2024-01-01", "male", baDinh)
	b["father"] = map[string]any{"pin": father.PIN}
	var c cancuoc.Citizen
	e.do("POST", "/v1/births", e.baDinhOfficer, b).ok(http.StatusCreated, &c)
	e.do("PATCH", "/v1/citizens/"+string(c.PIN), e.baDinhOfficer, meta(map[string]any{"version": 1, "changes": map[string]any{
		"phone": "0912345678", "email": "an@example.vn", "blood_type": "A+"}})).ok(http.StatusOK, nil)

	hidden := []string{"ethnicity", "religion", "blood_type", "phone", "email", "father", "name_key", "home",
		"birth_registration", "created_at"}
	check := func(who string, obj map[string]json.RawMessage, visible bool) {
		t.Helper()
		for _, f := range hidden {
			if _, ok := obj[f]; ok != visible {
				t.Errorf("%s: field %q present=%v, want %v", who, f, ok, visible)
			}
		}
		for _, f := range []string{"pin", "full_name", "birth_date", "sex", "life_status", "version", "nationality"} {
			if _, ok := obj[f]; !ok {
				t.Errorf("%s: field %q missing", who, f)
			}
		}
	}
	var obj map[string]json.RawMessage
	e.do("GET", "/v1/citizens/"+string(c.PIN), e.ministry, nil).ok(http.StatusOK, &obj)
	check("ministry read", obj, false)
	e.do("GET", "/v1/citizens/"+string(c.PIN), e.auditor, nil).ok(http.StatusOK, &obj)
	check("auditor read", obj, true)

	var p page
	e.do("GET", "/v1/citizens?name=nguyen+van+an", e.ministry, nil).ok(http.StatusOK, &p)
	if len(p.Items) != 1 {
		t.Fatalf("ministry search: %d items", len(p.Items))
	}
	check("ministry search", p.Items[0], false)
	// The ministry cannot write.
	e.do("PATCH", "/v1/citizens/"+string(c.PIN), e.ministry, meta(map[string]any{"version": 2, "changes": map[string]any{"phone": "0987654321"}})).
		problem(http.StatusForbidden, "role_forbidden")
	e.do("POST", "/v1/citizens/"+string(c.PIN)+"/death", e.ministry, map[string]any{"date": "2025-01-01", "legal_basis": "x"}).
		problem(http.StatusForbidden, "role_forbidden")
	// The reduced read is logged with the fields released.
	entries, err := e.store.AuditFor(t.Context(), c.PIN, 100)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(entries, func(a *cancuoc.AuditEntry) bool { return a.Action == string(registry.ActRead) && a.Fields[0] != "*" })
	if i < 0 || slices.Contains(entries[i].Fields, "phone") {
		t.Errorf("ministry read audit: %+v", entries)
	}
}

// TestPurposeHeader checks that X-Purpose reaches the access log as valid
// text within its bound, whatever the client sends.
func TestPurposeHeader(t *testing.T) {
	e := newEnv(t)
	c := e.register("Nguyễn Văn An", "2024-01-01", "male")
	long := strings.Repeat("a", 199) + "ệ" + strings.Repeat("b", 50)
	e.do("GET", "/v1/citizens/"+string(c.PIN), e.admin, nil, "X-Purpose", long).ok(http.StatusOK, nil)
	e.do("GET", "/v1/citizens/"+string(c.PIN), e.admin, nil, "X-Purpose", "x\xffy").ok(http.StatusOK, nil)
	entries, err := e.store.AuditFor(t.Context(), c.PIN, 100)
	if err != nil {
		t.Fatal(err)
	}
	var purposes []string
	for _, a := range entries {
		if a.Action == string(registry.ActRead) {
			purposes = append(purposes, a.Purpose)
			if !utf8.ValidString(a.Purpose) || len(a.Purpose) > 200 {
				t.Errorf("purpose %q stored: invalid UTF-8 or too long", a.Purpose)
			}
		}
	}
	if !slices.Contains(purposes, strings.Repeat("a", 199)) {
		t.Errorf("long purpose not cut at a character boundary: %q", purposes)
	}
}

func TestUnitsAndCodes(t *testing.T) {
	e := newEnv(t)
	type unit struct{ Code, Name, FullName, Level, ProvinceCode string }
	var provs struct {
		Set       string `json:"set"`
		Provinces []unit `json:"provinces"`
	}
	// Public: no key needed.
	r := e.do("GET", "/v1/units/34/provinces", "", nil)
	r.ok(http.StatusOK, &provs)
	if provs.Set != "34" || len(provs.Provinces) != 34 || provs.Provinces[0].Code != hanoi || provs.Provinces[0].Name != "Hà Nội" {
		t.Errorf("34 provinces: set %q, %d, first %+v", provs.Set, len(provs.Provinces), provs.Provinces[0])
	}
	if !strings.Contains(r.header.Get("Cache-Control"), "max-age") {
		t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
	e.do("GET", "/v1/units/63/provinces", "", nil).ok(http.StatusOK, &provs)
	if provs.Set != "63" || len(provs.Provinces) != 63 {
		t.Errorf("63 provinces: %d", len(provs.Provinces))
	}
	e.do("GET", "/v1/units/99/provinces", "", nil).problem(http.StatusBadRequest, "era_unknown")

	var coms struct {
		Set      string `json:"set"`
		Province string `json:"province"`
		Communes []unit `json:"communes"`
	}
	e.do("GET", "/v1/units/34/provinces/01/communes", "", nil).ok(http.StatusOK, &coms)
	i := slices.IndexFunc(coms.Communes, func(u unit) bool { return u.Code == baDinh })
	if coms.Province != hanoi || i < 0 || coms.Communes[i].FullName != "Phường Ba Đình" || coms.Communes[i].ProvinceCode != hanoi {
		t.Errorf("communes of Hà Nội: %d, Ba Đình at %d", len(coms.Communes), i)
	}
	e.do("GET", "/v1/units/63/provinces/01/communes", "", nil).ok(http.StatusOK, &coms)
	if i := slices.IndexFunc(coms.Communes, func(u unit) bool { return u.Code == "00001" }); i < 0 || coms.Communes[i].Name != "Phúc Xá" {
		t.Errorf("old communes of Hà Nội: Phúc Xá missing")
	}
	e.do("GET", "/v1/units/34/provinces/99/communes", "", nil).problem(http.StatusNotFound, "province_unknown")
	e.do("GET", "/v1/units/x/provinces/01/communes", "", nil).problem(http.StatusBadRequest, "era_unknown")

	for list, n := range map[string]int{"ethnicities": 54, "blood-types": 8} {
		var codes struct {
			List  string `json:"list"`
			Codes []struct{ Code, Name, NameEn string }
		}
		e.do("GET", "/v1/codes/"+list, "", nil).ok(http.StatusOK, &codes)
		if codes.List != list || len(codes.Codes) != n || codes.Codes[0].Name == "" {
			t.Errorf("%s: %d codes", list, len(codes.Codes))
		}
	}
	for _, list := range []string{"religions", "nationalities"} {
		e.do("GET", "/v1/codes/"+list, "", nil).ok(http.StatusOK, nil)
	}
	e.do("GET", "/v1/codes/colours", "", nil).problem(http.StatusNotFound, "code_list_unknown")

	r = e.do("GET", "/openapi.json", "", nil)
	r.ok(http.StatusOK, nil)
	if !bytes.Equal(r.body, httpapi.OpenAPI()) {
		t.Errorf("/openapi.json does not serve the embedded document")
	}
}

// TestConcurrentUpdates checks over HTTP that racing updates of one version
// give one success and conflicts, never a lost update.
func TestConcurrentUpdates(t *testing.T) {
	e := newEnv(t)
	c := e.register("Nguyễn Văn An", "2024-01-01", "male")
	const n = 8
	statuses := make(chan int, n)
	for i := range n {
		go func() {
			body, _ := json.Marshal(meta(map[string]any{"version": 1, "changes": map[string]any{"phone": fmt.Sprintf("09123456%02d", i)}}))
			req, _ := http.NewRequest("PATCH", e.srv.URL+"/v1/citizens/"+string(c.PIN), bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+e.baDinhOfficer)
			res, err := e.srv.Client().Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	count := map[int]int{}
	for range n {
		count[<-statuses]++
	}
	if count[http.StatusOK] != 1 || count[http.StatusConflict] != n-1 {
		t.Errorf("statuses %v, want one 200 and %d 409", count, n-1)
	}
	var got cancuoc.Citizen
	e.do("GET", "/v1/citizens/"+string(c.PIN), e.admin, nil).ok(http.StatusOK, &got)
	if got.Version != 2 {
		t.Errorf("version %d after the race, want 2", got.Version)
	}
}

// Unmatched routes answer with problem details like every other error; a
// 405 keeps the mux's Allow header.
func TestUnmatchedRoutesAreProblems(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv := httptest.NewServer(httpapi.Handler(mux, slog.New(slog.DiscardHandler), nil))
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/v1/things/1", http.StatusNoContent, "", ""},
		{"GET", "/v1/nothing", http.StatusNotFound, "route_not_found", ""},
		{"DELETE", "/v1/things/1", http.StatusMethodNotAllowed, "method_not_allowed", "GET, HEAD"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p httpapi.Problem
		_ = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if resp.StatusCode != tc.status || p.Code != tc.code || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d %q Allow %q, want %d %q Allow %q", tc.method, tc.path, resp.StatusCode, p.Code,
				resp.Header.Get("Allow"), tc.status, tc.code, tc.allow)
		}
		if tc.code != "" && resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, resp.Header.Get("Content-Type"))
		}
	}
}
