package httpapi_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/oidc"
)

// enrolTOTP enrols a TOTP authenticator with the holder's credentials and
// returns its secret; the code of the current step is used up.
func (e *eidEnv) enrolTOTP(t *testing.T, holder string) string {
	t.Helper()
	var en eid.TOTPEnrolment
	e.do("POST", "/v1/eid/account/totp", holder, nil).want(t, http.StatusOK, &en)
	code, _ := eid.TOTPCode(en.Secret, time.Now(), 6)
	e.do("POST", "/v1/eid/account/totp/confirm", holder, map[string]string{"challenge_id": en.ChallengeID, "code": code}).
		want(t, http.StatusNoContent, nil)
	return en.Secret
}

// level2 has Ba Đình's officer raise the adult's account to level 2, which
// opening a child's or an organisation's account needs.
func (e *eidEnv) level2(t *testing.T) {
	t.Helper()
	e.do("POST", "/v1/eid/accounts/"+string(e.adult.PIN)+"/level2", "key:"+e.officer, map[string]string{"reason": "Kiểm tra trực tiếp"}).
		want(t, http.StatusOK, nil)
}

// TestCitizenStrong: once a holder has TOTP, a password alone (HTTP Basic)
// no longer opens a child's account, replaces the authenticator or does
// the other sensitive actions; the current code in X-OTP does, once.
// Reading stays possible with the password (review finding 1).
func TestCitizenStrong(t *testing.T) {
	e := newEIDEnv(t)
	holder := e.registerAdult(t)
	var acc cancuoc.Account
	e.do("GET", "/v1/eid/account", holder, nil).want(t, http.StatusOK, &acc)
	e.level2(t)
	secret := e.enrolTOTP(t, holder) // no second factor yet: the password suffices
	child := map[string]string{"pin": string(e.child.PIN), "password": "mật khẩu của con"}

	e.do("POST", "/v1/eid/children", holder, child).problem(t, http.StatusUnauthorized, "second_factor_required")
	e.do("POST", "/v1/eid/organisations", holder, map[string]string{"name": "Công ty A"}).problem(t, http.StatusUnauthorized, "second_factor_required")
	e.do("POST", "/v1/eid/organisations/org_x/members", holder, map[string]string{"pin": string(e.child.PIN)}).
		problem(t, http.StatusUnauthorized, "second_factor_required")
	e.do("POST", "/v1/eid/account/passkeys/c_x", holder, []byte(`{}`)).problem(t, http.StatusUnauthorized, "second_factor_required")
	var kids struct{ Children []cancuoc.Account }
	e.do("GET", "/v1/eid/children", holder, nil).want(t, http.StatusOK, &kids)
	if len(kids.Children) != 0 {
		t.Fatalf("a child's account was opened with the password alone: %+v", kids)
	}

	// Replacing the authenticator: the new app's code is not enough, the
	// current one is wanted too; the enrolled secret stays.
	before, err := e.store.Secrets(t.Context(), acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var en eid.TOTPEnrolment
	e.do("POST", "/v1/eid/account/totp", holder, nil).want(t, http.StatusOK, &en)
	newCode, _ := eid.TOTPCode(en.Secret, time.Now(), 6)
	e.do("POST", "/v1/eid/account/totp/confirm", holder, map[string]string{"challenge_id": en.ChallengeID, "code": newCode}).
		problem(t, http.StatusUnauthorized, "second_factor_required")
	after, err := e.store.Secrets(t.Context(), acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.TOTPSecret != before.TOTPSecret {
		t.Fatal("the TOTP secret was replaced without the current code")
	}

	// A wrong code is refused; the next step's code works once.
	e.otp = "12345x"
	e.do("POST", "/v1/eid/children", holder, child).problem(t, http.StatusUnauthorized, "invalid_otp")
	e.otp, _ = eid.TOTPCode(secret, time.Now().Add(30*time.Second), 6)
	e.do("POST", "/v1/eid/children", holder, child).want(t, http.StatusCreated, nil)
	e.do("POST", "/v1/eid/organisations", holder, map[string]string{"name": "Công ty A"}).problem(t, http.StatusUnauthorized, "invalid_otp")
	e.otp = ""
	e.do("GET", "/v1/eid/account", holder, nil).want(t, http.StatusOK, nil)
}

// TestCitizenStrongPasskeyOnly: an account whose only second factor is a
// passkey cannot prove it over HTTP Basic, so sensitive actions are
// refused there.
func TestCitizenStrongPasskeyOnly(t *testing.T) {
	e := newEIDEnv(t)
	holder := e.registerAdult(t)
	var acc cancuoc.Account
	e.do("GET", "/v1/eid/account", holder, nil).want(t, http.StatusOK, &acc)
	e.level2(t)
	e.do("POST", "/v1/eid/children", holder, map[string]string{"pin": string(e.child.PIN), "password": "mật khẩu của con"}).
		want(t, http.StatusCreated, nil)
	if err := e.store.InsertPasskey(t.Context(), &cancuoc.Passkey{ID: bytes.Repeat([]byte{7}, 16), AccountID: acc.ID,
		Name: "điện thoại", Credential: []byte(`{}`), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	e.do("POST", "/v1/eid/organisations", holder, map[string]string{"name": "Công ty A"}).problem(t, http.StatusUnauthorized, "second_factor_required")
}

// TestCitizenStrongToken: a bearer token from a password-only login
// cannot grant a consent once the holder has TOTP; one from a login with
// the code (amr otp, mfa) can.
func TestCitizenStrongToken(t *testing.T) {
	e := newPartnerEnv(t)
	e.addPartner("vcb", bankPolicy(cancuoc.Quota{}))
	basic := e.registerCitizen()
	pwdOnly := "bearer:" + e.citizenToken("dichvucong", oidc.ScopeAccount)
	grant := map[string]any{"partner_id": "vcb", "fields": []string{"full_name"}, "expires_at": time.Now().Add(time.Hour)}
	e.do("POST", "/v1/me/consents", pwdOnly, grant).ok(http.StatusCreated, nil)

	var en eid.TOTPEnrolment
	e.do("POST", "/v1/eid/account/totp", basic, nil).ok(http.StatusOK, &en)
	code, _ := eid.TOTPCode(en.Secret, time.Now(), 6)
	if r := e.do("POST", "/v1/eid/account/totp/confirm", basic, map[string]string{"challenge_id": en.ChallengeID, "code": code}); r.status != http.StatusNoContent {
		t.Fatalf("confirm TOTP: %d %s", r.status, r.body)
	}

	e.do("POST", "/v1/me/consents", pwdOnly, grant).problem(http.StatusUnauthorized, "second_factor_required")
	e.do("GET", "/v1/me/consents", pwdOnly, nil).ok(http.StatusOK, nil)

	e.otp = func() string { c, _ := eid.TOTPCode(en.Secret, time.Now().Add(30*time.Second), 6); return c }
	strong := "bearer:" + e.citizenToken("dichvucong-2", oidc.ScopeAccount)
	e.do("POST", "/v1/me/consents", strong, grant).ok(http.StatusCreated, nil)
}

// TestWalletKeyWantsSecondFactor: re-keying the wallet (which reissues
// every document to the new key) wants the TOTP code once the holder has
// TOTP; the key is not changed without it.
func TestWalletKeyWantsSecondFactor(t *testing.T) {
	e := newWalletEnv(t)
	holder := e.registerAdult(t)
	secret := e.enrolTOTP(t, holder)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk := map[string]any{"jwk": &jose.JSONWebKey{Key: key.Public()}}
	e.do("PUT", "/v1/wallet/key", holder, jwk).problem(t, http.StatusUnauthorized, "second_factor_required")
	if _, err := e.store.HolderKey(t.Context(), e.adult.PIN); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Fatalf("a wallet key after the refusal: %v", err)
	}
	e.otp, _ = eid.TOTPCode(secret, time.Now().Add(30*time.Second), 6)
	e.do("PUT", "/v1/wallet/key", holder, jwk).want(t, http.StatusOK, nil)
}
