package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/partner"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/wallet"
)

// TestPartnerIssuanceAPI: a partner's system with its client-credentials
// token issues, reissues, suspends and revokes the document types its
// policy lists, signed with the type's agency key and recorded as issued
// by the partner; another type is refused naming it; a partner without
// the operation, and a disabled one, are refused.
func TestPartnerIssuanceAPI(t *testing.T) {
	var ws *wallet.Service
	e := newPartnerEnv(t, func(api *httpapi.API, store *sqlite.Store, ps *partner.Service) {
		var err error
		ws, err = wallet.New(store, wallet.Config{BaseURL: "https://id.example.vn", Secret: []byte("wallet test server secret"),
			ListSize: 1 << 10, Policy: wallet.PartnerPolicy{Partners: ps, Fallback: wallet.AgencyPolicy{}}})
		if err != nil {
			t.Fatal(err)
		}
		api.WithWallet(ws)
	})
	holder := e.registerCitizen()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e.do("PUT", "/v1/wallet/key", holder, map[string]any{"jwk": &jose.JSONWebKey{Key: key.Public()}}).ok(http.StatusOK, nil)

	pol := cancuoc.PartnerPolicy{Operations: []cancuoc.PartnerOp{cancuoc.OpIssueDocuments}, Fields: []string{"full_name"},
		DocumentTypes: []string{"health_insurance_card"}, Purpose: "Cấp thẻ BHYT điện tử", LegalBasis: "Luật Bảo hiểm y tế 2024"}
	bhxh := e.addPartner("bhxh", pol)
	bank := e.addPartner("vcb", bankPolicy(cancuoc.Quota{}))

	pin := string(e.cit.PIN)
	card := map[string]any{"type": "health_insurance_card", "pin": pin, "claims": map[string]any{
		"full_name": e.cit.FullName, "birth_date": e.cit.BirthDate.String(), "card_number": "GD4797912345678",
		"benefit_level": "4", "initial_facility": "Bệnh viện Bạch Mai", "valid_from": "2026-01-01"}}
	var doc cancuoc.Document
	e.do("POST", "/v1/documents", "bearer:"+bhxh, card).ok(http.StatusCreated, &doc)
	if doc.Issuer != "social_insurance" || doc.IssuedBy != "partner:bhxh" || doc.HolderPIN != e.cit.PIN {
		t.Fatalf("document %+v", doc)
	}
	// The document verifies against the agency's published key.
	stored, err := e.store.Document(t.Context(), doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v := ws.Checker(t.Context()).Check(stored.SDJWT, wallet.Expect{}); !v.Valid || v.Issuer != "https://id.example.vn/issuers/social_insurance" {
		t.Fatalf("verdict %+v", v)
	}

	// A type outside the policy: refused, naming the type.
	licence := map[string]any{"type": "driver_licence", "pin": pin, "claims": map[string]any{
		"family_name": "Nguyễn", "given_name": "Văn Đức", "birth_date": "1990-05-17", "licence_number": "790123456789",
		"categories": []string{"B2"}, "issue_date": "2024-05-06", "issuing_authority": "Sở GTVT"}}
	p := e.do("POST", "/v1/documents", "bearer:"+bhxh, licence).problem(http.StatusForbidden, "document_type_not_allowed")
	if !strings.Contains(p.Detail, "driver_licence") {
		t.Errorf("detail %q does not name the type", p.Detail)
	}
	// A partner without the operation.
	e.do("POST", "/v1/documents", "bearer:"+bank, card).problem(http.StatusForbidden, "operation_not_allowed")
	e.do("POST", "/v1/documents/"+doc.ID+"/status", "bearer:"+bank, map[string]any{"status": "revoked"}).
		problem(http.StatusForbidden, "operation_not_allowed")

	// Suspend, reissue (the suspension follows), revoke.
	var d cancuoc.Document
	e.do("POST", "/v1/documents/"+doc.ID+"/status", "bearer:"+bhxh, map[string]any{"status": "suspended", "reason": "chưa đóng phí"}).ok(http.StatusOK, &d)
	if d.Status != cancuoc.DocumentSuspended {
		t.Fatalf("suspended %+v", d)
	}
	var re cancuoc.Document
	e.do("POST", "/v1/documents/"+doc.ID+"/reissue", "bearer:"+bhxh, map[string]any{}).ok(http.StatusCreated, &re)
	if re.ID == doc.ID || re.IssuedBy != "partner:bhxh" || re.Status != cancuoc.DocumentSuspended {
		t.Fatalf("reissued %+v", re)
	}
	e.do("POST", "/v1/documents/"+re.ID+"/status", "bearer:"+bhxh, map[string]any{"status": "revoked"}).ok(http.StatusOK, &d)
	if d.Status != cancuoc.DocumentRevoked {
		t.Fatalf("revoked %+v", d)
	}
	// The issuance is in the holder's access log with the partner as actor.
	entries, err := e.store.AuditFor(t.Context(), e.cit.PIN, 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range entries {
		found = found || (a.Actor == "partner:bhxh" && a.Action == "document.issue")
	}
	if !found {
		t.Error("no document.issue entry with the partner as actor")
	}

	// A disabled partner is refused.
	e.do("POST", "/v1/partners/bhxh/disable", "bearer:"+e.admin, nil).ok(http.StatusOK, nil)
	e.do("POST", "/v1/documents", "bearer:"+bhxh, card).problem(http.StatusForbidden, "partner_disabled")
}
