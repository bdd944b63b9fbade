package oidc_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/partner"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/sqlite"
)

// partnerGrants adapts partner.Service to the consent screen, as
// cmd/cancuoc does.
type partnerGrants struct{ *partner.Service }

func (g partnerGrants) GrantTx(ctx context.Context, tx cancuoc.Tx, pin cancuoc.PIN, r oidc.PartnerConsentRequest) (*cancuoc.PartnerConsent, error) {
	return g.Service.GrantTx(ctx, tx, pin, partner.ConsentRequest{PartnerID: r.PartnerID, Fields: r.Fields, Purpose: r.Purpose, ExpiresAt: r.ExpiresAt})
}

// TestConsentScreenGrantsPartnerConsent is issue 4's consent "through the
// OIDC consent screen", on both databases: a client linked to a partner
// whose policy has release shows the policy's fields, purpose and end on
// its consent page; allowing records the partner consent with the OpenID
// consent; the partner then fetches exactly those fields; withdrawing
// blocks the very next fetch; a declined page grants nothing.
func TestConsentScreenGrantsPartnerConsent(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		testConsentScreenPartner(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		testConsentScreenPartner(t, pgtest.Open(t, "cancuoc_p3_consent"))
	})
}

func testConsentScreenPartner(t *testing.T, st cancuoc.Store) {
	e := newEnvOn(t, st)
	ctx := t.Context()
	svc := partner.New(st, audit.NewWriter(st, 0), partner.WithPolicyCache(0))
	e.prov.UsePartnerConsents(partnerGrants{svc})
	if err := st.InsertPartner(ctx, &cancuoc.Partner{ID: "tcb", Name: "Techcombank", Kind: cancuoc.PartnerBank, Version: 1,
		Policy: cancuoc.PartnerPolicy{Operations: []cancuoc.PartnerOp{cancuoc.OpMatch, cancuoc.OpRelease},
			Fields: []string{"full_name", "birth_date", "permanent_residence"}, Purpose: "Mở tài khoản thanh toán (eKYC)",
			LegalBasis: "TT 17/2024/TT-NHNN"}, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	e.client(oidc.NewClient{ID: "tcb-web", Name: "Techcombank Online", Purpose: "Đăng nhập ngân hàng điện tử",
		RedirectURIs: []string{"http://localhost/tcb/callback"}, PartnerID: "tcb"})
	p := e.portal("tcb-web", "http://localhost/tcb/callback", "openid", "profile")

	// The release before any consent is refused.
	if _, err := svc.Release(ctx, "tcb", e.l1); cancuoc.KindOf(err) != cancuoc.Forbidden {
		t.Fatalf("release without consent: %v", err)
	}

	consentPage := func() (*browser, resp) {
		b := e.browser()
		r := b.get(p.Start(nil))
		f := fields(r.body)
		f.Set("pin", string(e.l1))
		f.Set("password", "mật khẩu dài 1")
		r = b.post("/oidc/login", f)
		if !strings.Contains(r.body, `value="allow"`) {
			t.Fatalf("no consent page: %d %s", r.status, r.body)
		}
		return b, r
	}

	// Declined: nothing granted.
	b, r := consentPage()
	f := fields(r.body)
	f.Set("decision", "deny")
	b.post("/oidc/consent", f)
	if cs, _ := svc.Consents(ctx, e.l1); len(cs) != 0 {
		t.Errorf("a declined consent page granted %v", cs)
	}

	b, r = consentPage()
	sec := regexp.MustCompile(`(?s)<section class="release">(.*?)</section>`).FindStringSubmatch(r.body)
	if sec == nil {
		t.Fatalf("the consent page does not offer the partner's release:\n%s", r.body)
	}
	var shown []string
	for _, m := range regexp.MustCompile(`<li><code>([^<]*)</code></li>`).FindAllStringSubmatch(sec[1], -1) {
		shown = append(shown, m[1])
	}
	if strings.Join(shown, ",") != "full_name,birth_date,permanent_residence" {
		t.Errorf("release fields shown %v, want the policy's", shown)
	}
	until := time.Now().Add(oidc.PartnerConsentTerm).UTC().Format("2006-01-02")
	if !strings.Contains(sec[1], "Techcombank") || !strings.Contains(sec[1], "Mở tài khoản thanh toán (eKYC)") ||
		!strings.Contains(sec[1], `datetime="`+until+`"`) {
		t.Errorf("release section without partner, purpose or end date %s:\n%s", until, sec[1])
	}
	f = fields(r.body)
	f.Set("decision", "allow")
	if _, err := p.Finish(ctx, callback(t, b.post("/oidc/consent", f))); err != nil {
		t.Fatal(err)
	}
	cs, err := svc.Consents(ctx, e.l1)
	if err != nil || len(cs) != 1 {
		t.Fatalf("partner consents after allowing: %v, %v", cs, err)
	}
	c := cs[0]
	if c.PartnerID != "tcb" || strings.Join(c.Fields, ",") != "birth_date,full_name,permanent_residence" ||
		c.Purpose != "Mở tài khoản thanh toán (eKYC)" || c.ExpiresAt.UTC().Format("2006-01-02") != until {
		t.Errorf("partner consent %+v", c)
	}
	if oc, err := st.Consent(ctx, e.l1, "tcb-web"); err != nil || oc.RevokedAt != nil {
		t.Errorf("OpenID consent: %+v, %v", oc, err)
	}

	// The partner fetches exactly those fields.
	rel, err := svc.Release(ctx, "tcb", e.l1)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(rel.Record, &rec); err != nil {
		t.Fatal(err)
	}
	if rec["full_name"] == nil || rec["birth_date"] == nil || rec["sex"] != nil || rec["phone"] != nil {
		t.Errorf("released record %v", rec)
	}
	if len(rel.ConsentIDs) != 1 || rel.ConsentIDs[0] != c.ID {
		t.Errorf("release consent IDs %v", rel.ConsentIDs)
	}
	// Withdrawn: the very next fetch is refused.
	if err := svc.Revoke(ctx, e.l1, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Release(ctx, "tcb", e.l1); cancuoc.KindOf(err) != cancuoc.Forbidden {
		t.Errorf("release after withdrawal: %v", err)
	}
}

// TestConsentScreenPartnerAtomic: when the partner consent cannot be
// recorded, the OpenID consent is not either and no code is issued.
func TestConsentScreenPartnerAtomic(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	svc := partner.New(e.store, audit.NewWriter(e.store, 0), partner.WithPolicyCache(0))
	e.prov.UsePartnerConsents(failingGrants{partnerGrants{svc}})
	if err := e.store.InsertPartner(ctx, &cancuoc.Partner{ID: "tcb", Name: "Techcombank", Kind: cancuoc.PartnerBank, Version: 1,
		Policy: cancuoc.PartnerPolicy{Operations: []cancuoc.PartnerOp{cancuoc.OpRelease}, Fields: []string{"full_name"},
			Purpose: "eKYC", LegalBasis: "TT 17"}, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	e.client(oidc.NewClient{ID: "tcb-web", Name: "Techcombank Online", Purpose: "Đăng nhập",
		RedirectURIs: []string{"http://localhost/tcb/callback"}, PartnerID: "tcb"})
	p := e.portal("tcb-web", "http://localhost/tcb/callback", "openid")
	r := e.browser().login(p.Start(nil), e.l1, "mật khẩu dài 1")
	if r.status < 500 || r.location != "" {
		t.Errorf("a failed partner grant still answered %d Location %q", r.status, r.location)
	}
	if _, err := e.store.Consent(ctx, e.l1, "tcb-web"); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("the OpenID consent was kept without the partner's: %v", err)
	}
}

type failingGrants struct{ partnerGrants }

func (f failingGrants) GrantTx(ctx context.Context, tx cancuoc.Tx, pin cancuoc.PIN, r oidc.PartnerConsentRequest) (*cancuoc.PartnerConsent, error) {
	if _, err := f.partnerGrants.GrantTx(ctx, tx, pin, r); err != nil {
		return nil, err
	}
	return nil, cancuoc.E(cancuoc.Unavailable, "test", "injected", "lỗi thử", "injected failure")
}
