package oidc_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
)

// idTokenClaims decodes the payload of an ID token the portal verified.
func idTokenClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOrgScope: a member acts for an organisation through the org claim.
// The consent page asks which organisation when there are several; the
// choice is confirmed by eid.ActsFor (the real eid.Service), released in
// the ID token and userinfo, refused for an organisation the citizen is
// not a member of, and absent for a citizen of no organisation and for a
// client not registered for the scope.
func TestOrgScope(t *testing.T) {
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ee := newEIDEnv(t, st)
	ctx := t.Context()
	ee.client(oidc.NewClient{ID: "bizportal", Name: "Cổng doanh nghiệp", Purpose: "Nộp thuế thay mặt doanh nghiệp",
		RedirectURIs: []string{"http://localhost/biz/callback"}, Scopes: []string{oidc.ScopeOrg}})

	// login runs authorize → password → consent and returns the consent page.
	login := func(p interface {
		Start(http.ResponseWriter) string
	}) (*browser, resp) {
		b := ee.browser()
		r := b.get(p.Start(nil))
		f := fields(r.body)
		f.Set("pin", string(ee.l2))
		f.Set("password", eidPassword)
		r = b.post("/oidc/login", f)
		if r.status != http.StatusOK || !strings.Contains(r.body, `value="allow"`) {
			t.Fatalf("no consent page: %d %s", r.status, r.body)
		}
		return b, r
	}
	p := ee.portal("bizportal", "http://localhost/biz/callback", "openid", oidc.ScopeOrg)

	// No organisation yet: the page says so and no claim is released.
	b, r := login(p)
	if !strings.Contains(r.body, "Bạn chưa là thành viên của tổ chức nào.") || strings.Contains(r.body, `name="org"`) {
		t.Errorf("consent page of a citizen of no organisation:\n%s", r.body)
	}
	f := fields(r.body)
	f.Set("decision", "allow")
	res, err := p.Finish(ctx, callback(t, b.post("/oidc/consent", f)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := idTokenClaims(t, res.IDToken)["org"]; ok {
		t.Error("org claim for a citizen of no organisation")
	}

	// Two organisations: the bank (admin) and the hospital (member); a third he is not in.
	for i, name := range []string{"Ngân hàng Thử nghiệm", "Bệnh viện Thử nghiệm", "Công ty Người khác"} {
		id := []string{"o_bank", "o_hosp", "o_other"}[i]
		if err := st.InsertAccount(ctx, &cancuoc.Account{ID: id, Kind: cancuoc.AccountOrganisation, Status: cancuoc.AccountActive,
			OrgName: name, CreatedAt: storetest.T0, UpdatedAt: storetest.T0, Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for org, role := range map[string]string{"o_bank": cancuoc.OrgAdmin, "o_hosp": cancuoc.OrgMember} {
		if err := st.PutOrgMember(ctx, &cancuoc.OrgMembership{OrgID: org, AccountID: ee.acc.ID, Role: role, AddedBy: ee.acc.ID,
			AddedAt: storetest.T0}); err != nil {
			t.Fatal(err)
		}
	}
	b, r = login(p)
	if strings.Count(r.body, `name="org"`) != 2 || !strings.Contains(r.body, "Ngân hàng Thử nghiệm") ||
		!strings.Contains(r.body, "Bệnh viện Thử nghiệm") || strings.Contains(r.body, "Người khác") {
		t.Fatalf("consent page should offer exactly his two organisations:\n%s", r.body)
	}
	f = fields(r.body)
	f.Set("decision", "allow")
	for _, bad := range []string{"o_other", "o_nonexistent"} {
		f.Set("org", bad)
		if r := b.post("/oidc/consent", f); r.status != http.StatusBadRequest || r.location != "" {
			t.Errorf("org=%s: %d Location %q, want 400 and no code", bad, r.status, r.location)
		}
	}
	f.Set("org", "o_hosp")
	res, err = p.Finish(ctx, callback(t, b.post("/oidc/consent", f)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": "o_hosp", "name": "Bệnh viện Thử nghiệm", "role": "member"}
	got, _ := idTokenClaims(t, res.IDToken)["org"].(map[string]any)
	if len(got) != 3 || got["id"] != want["id"] || got["name"] != want["name"] || got["role"] != want["role"] {
		t.Errorf("ID token org = %v, want %v", got, want)
	}
	got, _ = res.Claims["org"].(map[string]any)
	if got["id"] != "o_hosp" || got["role"] != "member" {
		t.Errorf("userinfo org = %v", res.Claims["org"])
	}

	// The organisation suspended: userinfo with the same token no longer releases it.
	org, err := st.Account(ctx, "o_hosp")
	if err != nil {
		t.Fatal(err)
	}
	org.Status, org.Version = cancuoc.AccountSuspended, org.Version+1
	if err := st.UpdateAccount(ctx, org, org.Version-1); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, ee.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+res.Token.AccessToken)
	hr, err := ee.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	_ = json.NewDecoder(hr.Body).Decode(&claims)
	hr.Body.Close()
	if hr.StatusCode != http.StatusOK || claims["sub"] == nil {
		t.Fatalf("userinfo: %d %v", hr.StatusCode, claims)
	}
	if _, ok := claims["org"]; ok {
		t.Errorf("userinfo releases a suspended organisation: %v", claims["org"])
	}

	// A client not registered for org: the scope is dropped, nothing asked or released.
	p2 := ee.portal("portal", "http://localhost/callback", "openid", oidc.ScopeOrg)
	b, r = login(p2)
	if strings.Contains(r.body, `name="org"`) || strings.Contains(r.body, "đại diện") {
		t.Errorf("consent page of a client not registered for org asks for one:\n%s", r.body)
	}
	f = fields(r.body)
	f.Set("decision", "allow")
	res, err = p2.Finish(ctx, callback(t, b.post("/oidc/consent", f)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := idTokenClaims(t, res.IDToken)["org"]; ok {
		t.Error("org claim to a client not registered for it")
	}
}
