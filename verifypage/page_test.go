package verifypage_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/verifypage"
	"github.com/cancuoc/cancuoc/wallet"
)

// serve issues a judicial-record certificate, presents two of its claims
// for nonce-page-1 and audience employer, and serves the verifier page.
func serve(t *testing.T) (url, pres string) {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w, err := wallet.New(st, wallet.Config{BaseURL: "https://id.example.vn", Secret: []byte("page test server secret"), ListSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	c := storetest.Citizen(storetest.PIN(1))
	if err := st.InsertCitizen(ctx, c); err != nil {
		t.Fatal(err)
	}
	acc := &cancuoc.Account{ID: "a1", Kind: cancuoc.AccountCitizen, PIN: c.PIN, Level: 1, Status: cancuoc.AccountActive, Version: 1}
	if err := st.InsertAccount(ctx, acc); err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw, _ := json.Marshal(&jose.JSONWebKey{Key: key.Public()})
	if _, _, err := w.RegisterHolderKey(ctx, acc, "", raw); err != nil {
		t.Fatal(err)
	}
	doc, err := w.Issue(ctx, &cancuoc.Principal{ID: "p", Role: cancuoc.RoleNationalAdmin}, wallet.IssueRequest{Type: "judicial_record", PIN: c.PIN.String(),
		Claims: map[string]any{"full_name": "Nguyễn Văn Đức", "birth_date": "1990-05-17", "pin": c.PIN.String(), "certificate_number": "123/LLTP",
			"form": "1", "criminal_record": "Không có án tích", "issued_on": "2026-01-05", "issuing_authority": "Sở Tư pháp Hà Nội"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.PreparePresentation(ctx, acc, doc.ID, wallet.PresentRequest{Claims: []string{"full_name", "criminal_record"}, Nonce: "nonce-page-1", Audience: "employer"})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(p.SigningInput))
	r, s, _ := ecdsa.Sign(rand.Reader, key, h[:])
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	pres = p.SDJWT + p.SigningInput + "." + base64.RawURLEncoding.EncodeToString(sig)

	mux := http.NewServeMux()
	verifypage.Routes(mux, w, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, pres
}

func TestVerifierPage(t *testing.T) {
	srvURL, pres := serve(t)
	post := func(pres, nonce string) string {
		res, err := http.PostForm(srvURL+"/verify", url.Values{"presentation": {pres}, "nonce": {nonce}, "aud": {"employer"}, "require_kb": {"1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	ok := post(pres, "nonce-page-1")
	for _, want := range []string{"Hợp lệ", "Không có án tích", "Tình trạng án tích", "Phiếu lý lịch tư pháp"} {
		if !strings.Contains(ok, want) {
			t.Errorf("valid page lacks %q", want)
		}
	}
	if strings.Contains(ok, "1990-05-17") {
		t.Error("an undisclosed claim is shown")
	}
	bad := post(pres, "another-nonce")
	if !strings.Contains(bad, "Không hợp lệ") || !strings.Contains(bad, "sdjwt_kb_nonce_mismatch") {
		t.Errorf("replayed presentation page:\n%s", bad)
	}
	res, err := http.PostForm(srvURL+"/verify?lang=en", url.Values{"presentation": {pres}, "nonce": {"nonce-page-1"}, "aud": {"employer"}, "require_kb": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	en, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(en), `lang="en"`) || !strings.Contains(string(en), "Criminal record") || strings.Contains(string(en), "Tình trạng án tích") {
		t.Errorf("English page:\n%s", en)
	}
	res, _ = http.Get(srvURL + "/verify")
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET /verify %d", res.StatusCode)
	}
	res.Body.Close()
}
