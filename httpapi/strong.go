package httpapi

import (
	"context"
	"net/http"
	"slices"

	"github.com/cancuoc/cancuoc"
)

// citizenStrong is citizen for the actions that change how the holder is
// recognised or that let data or documents leave: replacing TOTP,
// registering a passkey, re-keying the wallet, granting a consent,
// opening a child's or an organisation's account. A stolen password alone
// must not do them when the holder has enrolled a second factor
// (review finding 1):
//
//   - HTTP Basic: the account's current TOTP code in the X-OTP header
//     (single use, with the same lockout as at the OpenID login). An account
//     whose only second factor is a passkey cannot prove it over Basic, so
//     it must use a bearer token from a passkey login.
//   - Bearer token: its amr shows a second factor or a passkey (otp, mfa,
//     hwk or swk, RFC 8176); a password-only token ("pwd") is refused.
//
// An account with no second factor is as strong over the API as it is at
// the provider's login, and passes with the password alone.
func (a *API) citizenStrong(h http.HandlerFunc) http.HandlerFunc { return a.citizenAuth(true, h) }

// headerOTP carries the TOTP code for citizenStrong over HTTP Basic.
const headerOTP = "X-OTP"

// secondFactorAMR are the amr values (RFC 8176) that show more than a
// password: a TOTP code, several factors, or a passkey.
var secondFactorAMR = []string{"otp", "mfa", "hwk", "swk"}

func errSecondFactor(en, vi string) error {
	return cancuoc.E(cancuoc.Unauthenticated, "httpapi.citizenStrong", "second_factor_required", vi, en)
}

// factors reports which second factors acc has enrolled.
func (a *API) factors(ctx context.Context, acc *cancuoc.Account) (totp, passkey bool, err error) {
	if totp, err = a.eid.HasTOTP(ctx, acc.ID); err != nil {
		return false, false, err
	}
	passkey, err = a.eid.HasPasskey(ctx, acc.ID)
	return totp, passkey, err
}

// basicStrong checks the second factor of a Basic-authenticated holder.
func (a *API) basicStrong(r *http.Request, acc *cancuoc.Account) error {
	totp, passkey, err := a.factors(r.Context(), acc)
	switch {
	case err != nil:
		return err
	case totp:
		code := r.Header.Get(headerOTP)
		if code == "" {
			return errSecondFactor(
				"This action needs your authenticator app's current code in the X-OTP header as well as the password.",
				"Thao tác này cần thêm mã hiện tại của ứng dụng xác thực trong tiêu đề X-OTP, ngoài mật khẩu.")
		}
		return a.eid.VerifyTOTP(r.Context(), acc.ID, code, a.source(r))
	case passkey:
		return errSecondFactor(
			"This action needs your passkey: log in with it through the eID provider and use that access token.",
			"Thao tác này cần khoá truy cập (passkey): đăng nhập bằng khoá qua dịch vụ định danh và dùng mã truy cập đó.")
	}
	return nil
}

// tokenStrong checks that a bearer token's login showed a second factor
// when the account has one.
func (a *API) tokenStrong(ctx context.Context, acc *cancuoc.Account, amr []string) error {
	if slices.ContainsFunc(amr, func(m string) bool { return slices.Contains(secondFactorAMR, m) }) {
		return nil
	}
	totp, passkey, err := a.factors(ctx, acc)
	if err != nil || (!totp && !passkey) {
		return err
	}
	return errSecondFactor(
		"This action needs a login with your second factor (authenticator code or passkey); log in again with it.",
		"Thao tác này cần đăng nhập bằng yếu tố thứ hai (mã xác thực hoặc khoá truy cập); hãy đăng nhập lại bằng yếu tố đó.")
}
