package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
)

// scopeClaims is what each scope releases: the claim names (documented in
// README) and, for the consent page, the fields in both languages.
var scopeClaims = []struct {
	scope  string
	claims []string
	vi, en string
}{
	{"openid", []string{"sub"}, "Mã định danh riêng cho dịch vụ này (không dùng được để liên kết bạn giữa các lĩnh vực)",
		"An identifier for this service only (cannot link you across sectors)"},
	{"profile", []string{"name", "family_name", "middle_name", "given_name", "birthdate", "gender"},
		"Họ, chữ đệm và tên; ngày sinh; giới tính", "Full name; date of birth; sex"},
	{"address", []string{"address"}, "Nơi ở hiện tại", "Current residence"},
	{"phone", []string{"phone_number", "phone_number_verified"}, "Số điện thoại đã xác thực", "Verified phone number"},
	{ScopePID, []string{"pid"}, "Số định danh cá nhân (số căn cước)", "Personal identification number (ID card number)"},
	{ScopeOrg, []string{"org"}, "Tổ chức mà bạn đại diện (tên, vai trò của bạn)", "The organisation you act for (its name, your role)"},
	{ScopeAccount, nil, "Quản lý tài khoản định danh và các sự đồng ý chia sẻ dữ liệu của bạn",
		"Manage your eID account and your consents to share data"},
}

// claimNames lists the claims the scopes release, for the access record.
func claimNames(scopes []string) []string {
	var out []string
	for _, sc := range scopeClaims {
		if slices.Contains(scopes, sc.scope) {
			out = append(out, sc.claims...)
		}
	}
	return out
}

// consentField is one line of the consent page.
type consentField struct{ VI, EN string }

func consentFields(scopes []string) []consentField {
	var out []consentField
	for _, sc := range scopeClaims {
		if slices.Contains(scopes, sc.scope) {
			out = append(out, consentField{sc.vi, sc.en})
		}
	}
	return out
}

// pairwiseSubject is the citizen's subject for a client: an HMAC of the
// sector and the PIN under a server key, so that clients of different
// sectors see unrelated subjects and none can recover the PIN.
func (p *Provider) pairwiseSubject(c *cancuoc.Client, pin cancuoc.PIN) string {
	m := hmac.New(sha256.New, p.pairwise)
	fmt.Fprintf(m, "%s\x00%s", sectorOf(c), pin)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// fillClaims sets the userinfo claims of a token's scopes from doc, pin's
// current record read with the token (nil if there is none), and records
// the release on the citizen.
func (p *Provider) fillClaims(ctx context.Context, ui *oidc.UserInfo, pin cancuoc.PIN, doc *cancuoc.CitizenDoc, c *cancuoc.Client, d tokenDoc) error {
	ui.Subject = d.Subject
	scopes := d.Scopes
	needCitizen := slices.Contains(scopes, "profile") || slices.Contains(scopes, "address")
	var cit *claimsCitizen
	if needCitizen {
		var err error
		if cit, err = decodeClaimsCitizen(doc); err != nil {
			return err
		}
	}
	if slices.Contains(scopes, "profile") {
		ui.Name = cit.FullName
		parts := strings.Fields(cit.FullName)
		if len(parts) > 0 {
			ui.FamilyName = parts[0]
			ui.GivenName = parts[len(parts)-1]
		}
		if len(parts) > 2 {
			ui.MiddleName = strings.Join(parts[1:len(parts)-1], " ")
		}
		ui.Birthdate = birthdate(cit.BirthDate)
		switch cit.Sex {
		case cancuoc.Male:
			ui.Gender = oidc.Gender("male")
		case cancuoc.Female:
			ui.Gender = oidc.Gender("female")
		}
	}
	if slices.Contains(scopes, "address") {
		if a := address(cit.CurrentResidence); a != nil {
			ui.Address = a
		}
	}
	if slices.Contains(scopes, "phone") {
		if acc, err := p.accounts.AccountByPIN(ctx, pin); err == nil && acc.Phone != "" {
			ui.PhoneNumber, ui.PhoneNumberVerified = acc.Phone, true
		}
	}
	if slices.Contains(scopes, ScopePID) && c.AllowsScope(ScopePID) {
		ui.AppendClaims("pid", string(pin))
	}
	if o := p.orgClaim(ctx, pin, "", d.Org); o != nil && wantsOrg(c, scopes) {
		ui.AppendClaims(ScopeOrg, o)
	}
	// Recorded before the claims leave; without the record they do not.
	return p.auditEntry(ctx, p.store, pin, "oidc.userinfo", c.ID, claimNames(scopes), "ok")
}

// claimsCitizen is the part of a citizen's record that the claims
// release. Userinfo decodes only these fields of the stored document: the
// whole record (cards, relatives, places, timestamps) decoded into
// cancuoc.Citizen cost userinfo more than its SQL, about 3 % of the
// server's CPU per login. The fields keep cancuoc.Citizen's names and
// types, so they decode exactly as the record's do.
type claimsCitizen struct {
	FullName         string         `json:"full_name"`
	BirthDate        cancuoc.Date   `json:"birth_date"`
	Sex              cancuoc.Sex    `json:"sex"`
	CurrentResidence *cancuoc.Place `json:"current_residence,omitempty"`
}

// decodeClaimsCitizen decodes the released fields of a citizen's current
// record; NotFound when there is no record, as CitizenDoc would answer.
func decodeClaimsCitizen(d *cancuoc.CitizenDoc) (*claimsCitizen, error) {
	if d == nil {
		return nil, cancuoc.E(cancuoc.NotFound, "oidc.claimsCitizen", "", "Không tìm thấy công dân.", "No such citizen.")
	}
	var c claimsCitizen
	if err := json.Unmarshal(d.JSON, &c); err != nil {
		return nil, cancuoc.WithOp("oidc.claimsCitizen", err)
	}
	return &c, nil
}

// birthdate formats a possibly partial date as OpenID Connect allows: the
// full date, or the year alone when the day is unknown.
func birthdate(d cancuoc.Date) string {
	switch {
	case d.IsZero():
		return ""
	case d.Complete():
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
	}
	return fmt.Sprintf("%04d", d.Year)
}

// address formats a residence with today's unit names where the codes
// are known.
func address(pl *cancuoc.Place) *oidc.UserInfoAddress {
	if pl == nil {
		return nil
	}
	a := &oidc.UserInfoAddress{StreetAddress: pl.Detail, Country: "VN"}
	if pl.Country != "" && pl.Country != "VNM" {
		a.Country = pl.Country
	}
	set := admin.Current()
	prov, comm := pl.Province, pl.Commune
	if pl.Era == cancuoc.Era63 {
		set = admin.Old()
	}
	if u, ok := set.Province(prov); ok {
		a.Region = u.FullName
	}
	if u, ok := set.Commune(comm); ok {
		a.Locality = u.FullName
	}
	var parts []string
	for _, s := range []string{a.StreetAddress, a.Locality, a.Region} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	a.Formatted = strings.Join(parts, ", ")
	return a
}

// auditEntry records an access on the citizen's log. Callers whose step
// has already happened only log a failure; those about to release data
// (a token, userinfo) refuse on it, so that nothing leaves unrecorded.
//
// log is the store or the transaction the entry commits with; the client is
// read through it too, since on SQLite a read outside a write transaction
// may wait for that transaction. An entry for the store goes through the
// configured group commit (Config.Audit) when there is one.
func (p *Provider) auditEntry(ctx context.Context, log recorder, pin cancuoc.PIN, action, clientID string, fields []string, outcome string) error {
	purpose := ""
	if c, err := p.client(ctx, clientID); err == nil {
		purpose = c.Purpose
	}
	e := &cancuoc.AuditEntry{At: p.now(), Actor: "oidc:" + clientID, Action: action, PIN: pin, Fields: fields,
		Purpose: purpose, Outcome: outcome}
	var err error
	if _, store := log.(cancuoc.Store); store && p.cfg.Audit != nil {
		err = p.cfg.Audit.Record(ctx, e)
	} else {
		err = log.AppendAudit(ctx, e)
	}
	if err != nil {
		p.log.Error("recording an access", "action", action, "err", err)
	}
	return err
}

// recorder is what auditEntry writes through: a Store or a Tx.
type recorder interface {
	cancuoc.AuditLog
	cancuoc.ClientStore
}
