package httpapi_test

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/auditlog"
	"github.com/cancuoc/cancuoc/httpapi"
)

// newAuditEnv is newEnv with the access log wired in.
func newAuditEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	// The same principals on a second server whose API has the log: reuse
	// the store and registry of e, so keys stay valid.
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	w := audit.NewWriter(e.store, 0)
	t.Cleanup(func() { w.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	api := httpapi.New(e.reg, log).WithAuditLog(auditlog.New(e.store, key, w))
	mux := http.NewServeMux()
	api.Routes(mux)
	srv := httptest.NewServer(httpapi.Handler(mux, log, nil))
	t.Cleanup(srv.Close)
	e.srv = srv
	return e
}

func principalID(e *env, key string) string {
	var p cancuoc.Principal
	e.do("GET", "/v1/me", key, nil).ok(http.StatusOK, &p)
	return p.ID
}

type entryJSON struct {
	cancuoc.AuditEntry
	Proof *auditlog.Proof `json:"proof"`
}

type pageJSON struct {
	Entries  []entryJSON       `json:"entries"`
	Next     int64             `json:"next"`
	TreeHead *cancuoc.TreeHead `json:"tree_head"`
}

func TestAccessLog(t *testing.T) {
	e := newAuditEnv(t)
	c := e.register("Nguyễn Văn An", "2024-03-05", "male")
	path := "/v1/citizens/" + c.PIN.String()
	e.do("GET", path, e.hanoiOfficer, nil, "X-Purpose", "xác minh hồ sơ đất đai").ok(http.StatusOK, nil)
	e.do("GET", path, e.ministry, nil, "X-Purpose", "cấp thẻ bảo hiểm").ok(http.StatusOK, nil)
	e.do("GET", path, e.hcmOfficer, nil).problem(http.StatusForbidden, "outside_jurisdiction")

	var page pageJSON
	e.do("GET", path+"/access-log?proof=true", e.auditor, nil).ok(http.StatusOK, &page)
	if len(page.Entries) != 4 {
		t.Fatalf("access log has %d entries, want 4 (birth, 2 reads, 1 refusal): %+v", len(page.Entries), page.Entries)
	}
	hcm, hanoiID := principalID(e, e.hcmOfficer), principalID(e, e.hanoiOfficer)
	want := []struct{ actor, action, purpose, outcome string }{
		{hcm, "citizen.read", "", "outside_jurisdiction"},
		{principalID(e, e.ministry), "citizen.read", "cấp thẻ bảo hiểm", "ok"},
		{hanoiID, "citizen.read", "xác minh hồ sơ đất đai", "ok"},
		{principalID(e, e.baDinhOfficer), "citizen.register_birth", "Đăng ký khai sinh", "ok"},
	}
	var tr treeHeadJSON
	e.do("GET", "/v1/audit/tree-head", e.auditor, nil).ok(http.StatusOK, &tr)
	pub, err := auditlog.ParsePublicKey([]byte(tr.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := auditlog.VerifyHead(pub, page.TreeHead); err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		g := page.Entries[i]
		if g.Actor != w.actor || g.Action != w.action || g.Purpose != w.purpose || g.Outcome != w.outcome || g.PIN != c.PIN {
			t.Errorf("entry %d = %+v, want %+v", i, g.AuditEntry, w)
		}
		if g.Proof == nil {
			t.Fatalf("entry %d has no proof", i)
		}
		if err := auditlog.VerifyInclusion(auditlog.LeafHash(&g.AuditEntry), g.Proof.LeafIndex, g.Proof.TreeSize,
			g.Proof.Hashes, page.TreeHead.Root); err != nil {
			t.Errorf("entry %d: inclusion proof: %v", i, err)
		}
	}

	// Paging, and the reading itself is in the log (the auditor's read).
	var p1, p2 pageJSON
	e.do("GET", path+"/access-log?limit=2", e.auditor, nil).ok(http.StatusOK, &p1)
	if len(p1.Entries) != 2 || p1.Next == 0 || p1.Entries[0].Action != auditlog.ActReadAccessLog {
		t.Fatalf("first page: %+v", p1)
	}
	e.do("GET", fmt.Sprintf("%s/access-log?limit=2&cursor=%d", path, p1.Next), e.auditor, nil).ok(http.StatusOK, &p2)
	if len(p2.Entries) != 2 || p2.Entries[0].ID >= p1.Entries[1].ID {
		t.Fatalf("second page: %+v", p2)
	}

	// Who may read it.
	e.do("GET", path+"/access-log", e.baDinhOfficer, nil).ok(http.StatusOK, nil)
	e.do("GET", path+"/access-log", e.admin, nil).ok(http.StatusOK, nil)
	e.do("GET", path+"/access-log", e.hcmOfficer, nil).problem(http.StatusForbidden, "outside_jurisdiction")
	e.do("GET", path+"/access-log", e.ministry, nil).problem(http.StatusForbidden, "role_forbidden")
	e.do("GET", path+"/access-log", "", nil).problem(http.StatusUnauthorized, "api_key_missing")
	e.do("GET", path+"/access-log?cursor=x", e.auditor, nil).problem(http.StatusBadRequest, "integer_invalid")

	// Auditors' query by actor, action and period.
	var q pageJSON
	e.do("GET", "/v1/audit?actor="+hanoiID+"&action=citizen.read&from=2000-01-01", e.auditor, nil).ok(http.StatusOK, &q)
	if len(q.Entries) != 1 || q.Entries[0].Purpose != "xác minh hồ sơ đất đai" {
		t.Errorf("query by actor: %+v", q.Entries)
	}
	e.do("GET", "/v1/audit?actor="+hcm, e.hanoiOfficer, nil).problem(http.StatusForbidden, "role_forbidden")
	e.do("GET", "/v1/audit?from=tomorrow", e.auditor, nil).problem(http.StatusBadRequest, "instant_format")
	e.do("GET", "/v1/audit?from=2030-01-01&to=2020-01-01", e.auditor, nil).problem(http.StatusBadRequest, "period_empty")
	var byPurpose pageJSON
	e.do("GET", "/v1/audit?purpose=c%E1%BA%A5p%20th%E1%BA%BB%20b%E1%BA%A3o%20hi%E1%BB%83m", e.admin, nil).ok(http.StatusOK, &byPurpose)
	if len(byPurpose.Entries) != 1 {
		t.Errorf("query by purpose: %+v", byPurpose.Entries)
	}
}

type treeHeadJSON struct {
	TreeHead  *cancuoc.TreeHead `json:"tree_head"`
	PublicKey string            `json:"public_key"`
	KeyID     string            `json:"key_id"`
}

func TestTreeHeadsAndProofs(t *testing.T) {
	e := newAuditEnv(t)
	e.do("GET", "/v1/audit/tree-head", e.auditor, nil).problem(http.StatusNotFound, "not_found")
	c := e.register("Trần Thị Bình", "2023-11-20", "female")
	var h1, h2 treeHeadJSON
	e.do("POST", "/v1/audit/tree-head", e.auditor, nil).ok(http.StatusCreated, &h1)
	e.do("POST", "/v1/audit/tree-head", e.hanoiOfficer, nil).problem(http.StatusForbidden, "role_forbidden")
	e.do("GET", "/v1/citizens/"+c.PIN.String(), e.hanoiOfficer, nil).ok(http.StatusOK, nil)
	e.do("POST", "/v1/audit/tree-head", e.admin, nil).ok(http.StatusCreated, &h2)
	pub, err := auditlog.ParsePublicKey([]byte(h2.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []*cancuoc.TreeHead{h1.TreeHead, h2.TreeHead} {
		if err := auditlog.VerifyHead(pub, h); err != nil {
			t.Fatal(err)
		}
	}
	if h2.TreeHead.Size <= h1.TreeHead.Size || h2.KeyID != auditlog.KeyID(pub) {
		t.Fatalf("heads %+v then %+v", h1, h2)
	}
	var cp struct {
		Hashes [][]byte `json:"hashes"`
	}
	e.do("GET", fmt.Sprintf("/v1/audit/consistency?first=%d&second=%d", h1.TreeHead.Size, h2.TreeHead.Size), e.ministry, nil).
		ok(http.StatusOK, &cp)
	if err := auditlog.VerifyConsistency(h1.TreeHead.Size, h2.TreeHead.Size, h1.TreeHead.Root, h2.TreeHead.Root, cp.Hashes); err != nil {
		t.Errorf("consistency: %v", err)
	}
	e.do("GET", "/v1/audit/consistency?first=1&second=999", e.auditor, nil).problem(http.StatusNotFound, "tree_head_unknown")
	var ip auditlog.Proof
	e.do("GET", fmt.Sprintf("/v1/audit/entries/1/proof?size=%d", h1.TreeHead.Size), e.auditor, nil).ok(http.StatusOK, &ip)
	es, err := e.store.AuditRange(t.Context(), 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := auditlog.VerifyInclusion(auditlog.LeafHash(es[0]), 0, h1.TreeHead.Size, ip.Hashes, h1.TreeHead.Root); err != nil {
		t.Errorf("inclusion of entry 1: %v", err)
	}
	e.do("GET", "/v1/audit/entries/999/proof", e.auditor, nil).problem(http.StatusBadRequest, "entry_not_in_tree")
	var got treeHeadJSON
	e.do("GET", fmt.Sprintf("/v1/audit/tree-head?size=%d", h1.TreeHead.Size), e.auditor, nil).ok(http.StatusOK, &got)
	if got.TreeHead.Size != h1.TreeHead.Size {
		t.Errorf("head by size: %+v", got.TreeHead)
	}
}

// TestAuditLogAbsent: without a log the routes answer 503, not a panic.
func TestAuditLogAbsent(t *testing.T) {
	e := newEnv(t)
	e.do("GET", "/v1/audit", e.auditor, nil).problem(http.StatusServiceUnavailable, "audit_log_unavailable")
}
