// Package httpapi serves the registry as JSON over HTTP: short handlers that
// decode, call the registry, and encode; one error→status map; RFC 9457
// problem details; the OpenAPI document at /openapi.json.
package httpapi

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/application"
	"github.com/cancuoc/cancuoc/auditlog"
	"github.com/cancuoc/cancuoc/clientaddr"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/reconcile"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
	"github.com/cancuoc/cancuoc/stats"
	"github.com/cancuoc/cancuoc/vntext"
	"github.com/cancuoc/cancuoc/wallet"
	"github.com/cancuoc/cancuoc/webhook"
	"github.com/cancuoc/cancuoc/workflow"
)

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the OpenAPI 3.1 document describing the API.
func OpenAPI() []byte { return openapiDoc }

// API is the JSON API over a registry service.
type API struct {
	reg   *registry.Service
	log   *slog.Logger
	audit *auditlog.Log // the access log's reading and proofs; see WithAuditLog
	eid   *eid.Service  // electronic identity accounts; see WithEID

	wf    *workflow.Service // interlinked procedures; see WithWorkflow
	chip  *chipAPI          // chip-card verification and card records; see WithChip
	verif partnerDeps       // partners, match checks, consents, bearer tokens; see WithPartners, WithTokens
	// residence serves households, residence, stays and marriages; see WithResidence.
	residence *residence.Service
	// proxy names the trusted reverse proxies; see WithTrustedProxies.
	proxy  *clientaddr.Resolver
	stats  *stats.Service     // the dashboard's public figures; see WithStats
	wallet *wallet.Service    // wallet documents; see WithWallet
	recon  *reconcile.Service // bulk reconciliation; see WithReconcile
	hooks  *webhook.Service
	apps   *application.Service // citizens' applications; see WithApplications
}

// New returns the API. Register its routes with Routes.
func New(reg *registry.Service, log *slog.Logger) *API { return &API{reg: reg, log: log} }

// Routes adds the API's routes to mux.
func (a *API) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapiDoc)
	})
	mux.HandleFunc("POST /v1/births", a.authed(a.registerBirth))
	mux.HandleFunc("GET /v1/citizens", a.authed(a.search))
	mux.HandleFunc("GET /v1/citizens/{pin}", a.authed(a.getCitizen))
	mux.HandleFunc("PATCH /v1/citizens/{pin}", a.authed(a.updateCitizen))
	mux.HandleFunc("POST /v1/citizens/{pin}/death", a.authed(a.recordDeath))
	mux.HandleFunc("POST /v1/citizens/{pin}/missing", a.authed(a.recordMissing))
	mux.HandleFunc("GET /v1/citizens/{pin}/history", a.authed(a.history))
	mux.HandleFunc("GET /v1/citizens/{pin}/versions/{version}", a.authed(a.version))
	mux.HandleFunc("GET /v1/population", a.authed(a.population))
	mux.HandleFunc("POST /v1/principals", a.authed(a.createPrincipal))
	mux.HandleFunc("GET /v1/me", a.authed(a.me))
	mux.HandleFunc("GET /v1/units/{era}/provinces", a.provinces)
	mux.HandleFunc("GET /v1/units/{era}/provinces/{province}/communes", a.communes)
	mux.HandleFunc("GET /v1/codes/{list}", a.codes)
	mux.HandleFunc("GET /v1/citizens/{pin}/access-log", a.authed(a.accessLog))
	mux.HandleFunc("GET /v1/audit", a.authed(a.auditSearch))
	mux.HandleFunc("GET /v1/audit/tree-head", a.authed(a.treeHead))
	mux.HandleFunc("POST /v1/audit/tree-head", a.authed(a.checkpoint))
	mux.HandleFunc("GET /v1/audit/consistency", a.authed(a.consistency))
	mux.HandleFunc("GET /v1/audit/entries/{id}/proof", a.authed(a.inclusion))
	a.eidRoutes(mux)
	a.workflowRoutes(mux)
	a.chipRoutes(mux)
	a.partnerRoutes(mux)
	a.residenceRoutes(mux)
	a.statsRoutes(mux)
	a.walletRoutes(mux)
	a.reconcileRoutes(mux)
	a.webhookRoutes(mux)
	a.applicationRoutes(mux)
}

// Handler wraps a mux holding the API's routes with request IDs, recovery,
// logs and metrics (m may be nil).
func Handler(mux *http.ServeMux, log *slog.Logger, m *Metrics) http.Handler {
	return observe(unmatched(mux), log, m)
}

// unmatched answers requests no route matches with problem details, as every
// other error, instead of the mux's plain-text 404 and 405. The mux still
// decides (and sets Allow on a 405); only its body is replaced.
func unmatched(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &statusOnly{header: http.Header{}}
		mux.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeProblem(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "",
				"Phương thức "+r.Method+" không dùng được ở địa chỉ này; các phương thức được phép: "+rec.header.Get("Allow")+".",
				"Method "+r.Method+" is not allowed here; allowed: "+rec.header.Get("Allow")+".")
			return
		}
		writeProblem(w, r, http.StatusNotFound, "route_not_found", "",
			"Không có địa chỉ này trong API; xem /openapi.json.", "No such route in the API; see /openapi.json.")
	})
}

// statusOnly keeps what the mux decided about an unmatched request (status
// and headers) and drops its plain-text body.
type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(code int)        { s.status = code }

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) { writeError(w, r, a.log, err) }

// pinParam parses the {pin} path segment.
func pinParam(r *http.Request) (cancuoc.PIN, error) {
	return cancuoc.ParsePIN(r.PathValue("pin"), time.Now().Year())
}

// purpose is the reason a caller gives for reading (X-Purpose), recorded in
// the access log the citizen can read. Headers are bytes: it is made valid
// UTF-8 and cut at a character boundary, since the log stores text (and
// PostgreSQL refuses invalid UTF-8).
func purpose(r *http.Request) string {
	p := strings.ToValidUTF8(r.Header.Get("X-Purpose"), "\uFFFD")
	if len(p) > 200 {
		n := 200
		for n > 0 && !utf8.RuneStart(p[n]) {
			n--
		}
		p = p[:n]
	}
	return p
}

// writeCitizen encodes a record with only the fields the caller's role may
// see, and its version as the ETag for If-Match on update.
func writeCitizen(w http.ResponseWriter, r *http.Request, status int, c *cancuoc.Citizen) {
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(c.Version, 10)))
	writeJSON(w, status, view(principal(r.Context()), c))
}

// view returns the JSON object of c restricted to what p's role may see.
func view(p *cancuoc.Principal, c *cancuoc.Citizen) any {
	vis := registry.VisibleFields(p.Role)
	if vis == nil {
		return c
	}
	raw, _ := json.Marshal(c)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	for k := range m {
		if !vis[k] {
			delete(m, k)
		}
	}
	return m
}

// birthResidenceFields are the residence fields a direct birth
// registration refuses, with an answer that says where they go.
var birthResidenceFields = []string{"household_id", "relation", "permanent_residence"}

func (a *API) registerBirth(w http.ResponseWriter, r *http.Request) {
	const op = "httpapi.registerBirth"
	var raw json.RawMessage
	if err := decodeJSON(w, r, &raw); err != nil {
		a.fail(w, r, err)
		return
	}
	// A direct registration is the civil-status act alone. The child's
	// permanent residence is a decision of the police, with its entry in
	// the residence register and the household's membership: the birth
	// procedure's second step, or the residence API afterwards. Linking it
	// here would put it in the record only, where no household view or
	// residence history knows of it.
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) == nil {
		stripped := false
		for _, f := range birthResidenceFields {
			v, ok := top[f]
			if ok && string(v) == "null" { // no value: as if absent
				delete(top, f)
				stripped = true
				continue
			}
			if ok {
				a.fail(w, r, cancuoc.InvalidField(op, f, "birth_residence_not_here",
					"Đăng ký khai sinh trực tiếp không đăng ký thường trú cho trẻ. Dùng thủ tục liên thông khai sinh (POST /v1/procedures, kind \"birth\"), "+
						"bước công an đăng ký thường trú vào hộ của cha/mẹ; hoặc sau khi khai sinh, đăng ký qua API cư trú (POST /v1/households/{id}/members).",
					"A direct birth registration does not register the child's permanent residence. Use the interlinked birth procedure (POST /v1/procedures, kind \"birth\"), "+
						"whose police step registers it in a parent's household; or, after the birth, the residence API (POST /v1/households/{id}/members)."))
				return
			}
		}
		if stripped {
			raw, _ = json.Marshal(top)
		}
	}
	var b registry.Birth
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		a.fail(w, r, jsonError(op, err))
		return
	}
	c, err := a.reg.RegisterBirth(r.Context(), principal(r.Context()), b)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/citizens/"+c.PIN.String())
	writeCitizen(w, r, http.StatusCreated, c)
}

func (a *API) getCitizen(w http.ResponseWriter, r *http.Request) {
	pin, err := pinParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if at := r.URL.Query().Get("at"); at != "" {
		t, err := parseInstant(at)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v, err := a.reg.VersionAt(r.Context(), principal(r.Context()), pin, t, purpose(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
		return
	}
	doc, version, err := a.reg.GetJSON(r.Context(), principal(r.Context()), pin, purpose(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(version, 10)))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(doc)
}

// parseInstant accepts RFC 3339 or a date (meaning the end of that day, UTC).
func parseInstant(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Add(24*time.Hour - time.Microsecond), nil
	}
	return time.Time{}, cancuoc.InvalidField("httpapi.at", "at", "instant_format",
		"Tham số at phải là ngày YYYY-MM-DD hoặc thời điểm RFC 3339.", "The at parameter must be a date YYYY-MM-DD or an RFC 3339 time.")
}

// searchPage is the answer to a search.
type searchPage struct {
	Items      []any  `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func (a *API) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s := registry.Search{Name: q.Get("name"), NamePrefix: q.Get("prefix") == "true", Province: q.Get("province"),
		Commune: q.Get("commune"), Purpose: purpose(r)}
	var err error
	if s.BirthDate, err = cancuoc.ParseDate(q.Get("birth_date")); err != nil {
		a.fail(w, r, withField(err, "birth_date"))
		return
	}
	if l := q.Get("limit"); l != "" {
		if s.Limit, err = strconv.Atoi(l); err != nil || s.Limit < 1 {
			a.fail(w, r, cancuoc.InvalidField("httpapi.search", "limit", "limit_invalid", "limit phải là số nguyên dương (tối đa 100).", "limit must be a positive integer (at most 100)."))
			return
		}
	}
	if c := q.Get("cursor"); c != "" {
		if s.AfterKey, s.AfterPIN, err = decodeCursor(c); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	found, err := a.reg.Search(r.Context(), principal(r.Context()), s)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := searchPage{Items: make([]any, len(found))}
	p := principal(r.Context())
	for i, c := range found {
		page.Items[i] = view(p, c)
	}
	limit := s.Limit
	if limit <= 0 || limit > registry.MaxPage {
		limit = registry.MaxPage
	}
	if len(found) == limit {
		last := found[len(found)-1]
		// Records come redacted for some roles (ministries do not see
		// name_key); the key is derived from the name, which all see.
		key := last.NameKey
		if key == "" {
			key = vntext.Key(last.FullName)
		}
		page.NextCursor = encodeCursor(key, last.PIN)
	}
	writeJSON(w, http.StatusOK, page)
}

// A cursor is opaque to clients: the name key and PIN of the last row.
// Ministry systems do not see name_key in records, so it travels here.
func encodeCursor(key string, pin cancuoc.PIN) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key + "\x00" + string(pin)))
}

func decodeCursor(s string) (string, cancuoc.PIN, error) {
	bad := cancuoc.InvalidField("httpapi.cursor", "cursor", "cursor_invalid",
		"Con trỏ trang không hợp lệ; dùng đúng giá trị next_cursor đã nhận.", "Invalid cursor; pass the next_cursor value you received unchanged.")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", "", bad
	}
	key, pin, ok := strings.Cut(string(b), "\x00")
	if !ok {
		return "", "", bad
	}
	p, err := cancuoc.ParsePIN(pin, 9999)
	if err != nil {
		return "", "", bad
	}
	return key, p, nil
}

func withField(err error, field string) error {
	if e, ok := err.(*cancuoc.Error); ok && e.Field == "" {
		c := *e
		c.Field = field
		return &c
	}
	return err
}

// updateRequest changes named fields of a record. Changes holds the new
// value of each field (null clears it), in the record's JSON names.
type updateRequest struct {
	Version int64                      `json:"version"`
	Changes map[string]json.RawMessage `json:"changes"`
	registry.Meta
}

func (a *API) updateCitizen(w http.ResponseWriter, r *http.Request) {
	pin, err := pinParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req updateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && req.Version == 0 {
		req.Version, _ = strconv.ParseInt(strings.Trim(m, `"W/`), 10, 64)
	}
	if req.Version == 0 {
		a.fail(w, r, cancuoc.InvalidField("httpapi.update", "version", "version_required",
			"Cần số phiên bản đang sửa (trường version hoặc tiêu đề If-Match).", "Send the version you are changing (field version, or the If-Match header)."))
		return
	}
	if len(req.Changes) == 0 {
		a.fail(w, r, cancuoc.InvalidField("httpapi.update", "changes", "changes_empty", "Không có thay đổi nào.", "No changes were given."))
		return
	}
	c, err := a.reg.Update(r.Context(), principal(r.Context()), pin, req.Version, req.Meta, func(c *cancuoc.Citizen) error {
		return applyChanges(c, req.Changes)
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeCitizen(w, r, http.StatusOK, c)
}

// updatable are the record fields a general update may set. The others are
// derived, bookkeeping, or changed by their own procedure.
var updatable = map[string]bool{
	"full_name": true, "other_names": true, "birth_date": true, "sex": true, "birth_place": true,
	"birth_registration": true, "origin": true, "ethnicity": true, "religion": true, "nationality": true,
	"blood_type": true, "old_id_number": true, "cards": true, "father": true, "mother": true, "spouse": true,
	"children": true, "guardian": true, "represented": true, "permanent_residence": true,
	"temporary_residence": true, "current_residence": true, "temporary_absence": true,
	"residence_file_number": true, "marital_status": true, "household": true, "phone": true, "email": true, "other": true,
}

// applyChanges overlays the changed fields on c through its JSON form, so
// each field is decoded by the same rules as everywhere else.
func applyChanges(c *cancuoc.Citizen, changes map[string]json.RawMessage) error {
	const op = "httpapi.applyChanges"
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	for k, v := range changes {
		if !updatable[k] {
			return cancuoc.InvalidField(op, k, "field_not_updatable",
				"Trường "+strconv.Quote(k)+" không sửa được qua cập nhật (không tồn tại, được tính tự động, hoặc có thủ tục riêng).",
				"Field "+strconv.Quote(k)+" cannot be set by an update (unknown, derived, or changed by its own procedure).")
		}
		m[k] = v
	}
	raw, _ = json.Marshal(m)
	var n cancuoc.Citizen
	// Unknown fields inside a changed value are refused, as in any other
	// body: ignoring them would clear the field ({"father":{"nmae":…}}
	// would leave an empty father).
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil {
		return jsonError(op, err)
	}
	*c = n
	return nil
}

func (a *API) recordDeath(w http.ResponseWriter, r *http.Request) {
	pin, err := pinParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var d registry.Death
	if err := decodeJSON(w, r, &d); err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.reg.RecordDeath(r.Context(), principal(r.Context()), pin, d)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeCitizen(w, r, http.StatusOK, c)
}

func (a *API) recordMissing(w http.ResponseWriter, r *http.Request) {
	pin, err := pinParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var m registry.Missing
	if err := decodeJSON(w, r, &m); err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.reg.RecordMissing(r.Context(), principal(r.Context()), pin, m)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeCitizen(w, r, http.StatusOK, c)
}

func (a *API) history(w http.ResponseWriter, r *http.Request) {
	pin, err := pinParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	vs, err := a.reg.History(r.Context(), principal(r.Context()), pin, purpose(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"pin": pin, "versions": vs})
}

func (a *API) version(w http.ResponseWriter, r *http.Request) {
	pin, err := pinParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	n, err := strconv.ParseInt(r.PathValue("version"), 10, 64)
	if err != nil || n < 1 {
		a.fail(w, r, cancuoc.InvalidField("httpapi.version", "version", "version_invalid", "Số phiên bản phải là số nguyên từ 1.", "The version must be an integer from 1."))
		return
	}
	v, err := a.reg.Version(r.Context(), principal(r.Context()), pin, n, purpose(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *API) population(w http.ResponseWriter, r *http.Request) {
	prov := r.URL.Query().Get("province")
	counts, err := a.reg.Population(r.Context(), principal(r.Context()), prov)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"province": prov, "units": "34", "counts": counts})
}

func (a *API) createPrincipal(w http.ResponseWriter, r *http.Request) {
	var np registry.NewPrincipal
	if err := decodeJSON(w, r, &np); err != nil {
		a.fail(w, r, err)
		return
	}
	p, key, err := a.reg.CreatePrincipal(r.Context(), principal(r.Context()), np)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"principal": p, "api_key": key})
}

func (a *API) me(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, principal(r.Context()))
}
