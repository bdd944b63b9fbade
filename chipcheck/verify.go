package chipcheck

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/mrtd"
)

// Request is what a reader extracted and sends for verification.
type Request struct {
	// Chip holds EF.COM, the data groups (by number) and EF.SOD, each
	// file as read, with its outer tag.
	Chip mrtd.ChipData `json:"chip"`
	// ChallengeID and AASignature are the active-authentication answer:
	// the chip's signature over the challenge this server issued under
	// ChallengeID. Both or neither.
	ChallengeID string `json:"challenge_id,omitempty"`
	AASignature []byte `json:"aa_signature,omitempty"`
	// Access is how the reader opened the chip: "pace" or "bac".
	Access string `json:"access,omitempty"`
	// FaceMatched is the app's report that a live capture matched the DG2
	// photo; the level-2 hook needs it (see eid.ChipEvidence).
	FaceMatched bool `json:"face_matched,omitempty"`
	// Purpose is why the card is checked, for the holder's access log.
	Purpose string `json:"purpose"`
}

// Validate checks the request's form; the chip data itself is judged by
// the verification, not refused here.
func (r *Request) Validate() error {
	const op = "chipcheck.Request"
	bad := func(field, code, vi, en string) error { return cancuoc.InvalidField(op, field, code, vi, en) }
	switch {
	case len(r.Chip.SOD) == 0:
		return bad("chip.sod", "sod_required", "Thiếu tệp EF.SOD của chip.", "EF.SOD (chip.sod) is required.")
	case len(r.Chip.DataGroups) == 0:
		return bad("chip.data_groups", "data_groups_required", "Thiếu các nhóm dữ liệu (DG1, DG13…).", "The data groups (DG1, DG13, …) are required.")
	case (r.ChallengeID == "") != (len(r.AASignature) == 0):
		return bad("aa_signature", "aa_incomplete", "Cần gửi cả challenge_id và aa_signature, hoặc không gửi cả hai.",
			"Send both challenge_id and aa_signature for active authentication, or neither.")
	case len(r.ChallengeID) > 64:
		return bad("challenge_id", "challenge_id_invalid", "Mã thử thách không hợp lệ.", "The challenge ID is not valid.")
	case r.Access != "" && r.Access != "pace" && r.Access != "bac":
		return bad("access", "access_invalid", "access phải là pace hoặc bac.", "access must be pace or bac.")
	case len(r.Purpose) > 200:
		return bad("purpose", "purpose_too_long", "Mục đích tối đa 200 byte.", "The purpose is at most 200 bytes.")
	}
	for n := range r.Chip.DataGroups {
		if n < 1 || n > 16 {
			return bad("chip.data_groups", "data_group_number", "Số nhóm dữ liệu phải từ 1 đến 16.", "Data group numbers run from 1 to 16.")
		}
	}
	return nil
}

// Reason names why a card is refused (or what was not checked). Code is
// stable: a passive-authentication check name ("csca.known", "dg13.hash"),
// "aa.signature", "aa.challenge_unknown", "registry.full_name",
// "card.replaced", …; Detail explains in English without personal data.
type Reason struct {
	Code   string `json:"code"`
	Detail string `json:"detail,omitempty"`
}

// Outcome of a stage.
const (
	Passed       = "passed"
	Failed       = "failed"
	NotPerformed = "not_performed"
)

// FieldResult is one registry comparison: which chip source, which field,
// and whether it matched. Values are never returned: the caller holds the
// card, the registry's values are not theirs to read.
type FieldResult struct {
	Field  string `json:"field"`
	Source string `json:"source"` // "mrz" or "dg13"
	Match  bool   `json:"match"`
}

// CardRecord is the card record the chip was matched to.
type CardRecord struct {
	Number    string             `json:"number"`
	IssuedOn  cancuoc.Date       `json:"issued_on"`
	ExpiresOn cancuoc.Date       `json:"expires_on"`
	Status    cancuoc.CardStatus `json:"status"`
}

// ChipAuthInfo is one DG14 security info, reported for readers that run
// chip authentication themselves.
type ChipAuthInfo struct {
	Protocol string `json:"protocol"`
	Kind     string `json:"kind"`
	Version  int64  `json:"version,omitempty"`
	KeyID    int64  `json:"key_id,omitempty"`
	Key      string `json:"key,omitempty"`
}

// Verdict is the outcome of a verification.
type Verdict struct {
	// Accepted: the data is genuine (passive authentication), the chip
	// is not a clone when active authentication was performed, the data
	// matches the registry and the card is the holder's valid card.
	Accepted bool        `json:"accepted"`
	PIN      cancuoc.PIN `json:"pin,omitempty"`
	Reasons  []Reason    `json:"reasons"`
	// Passive, Active and Registry are each passed, failed or
	// not_performed. The registry is compared only with data that passed
	// passive authentication, so forged data cannot probe it.
	Passive  string        `json:"passive_authentication"`
	Active   string        `json:"active_authentication"`
	Registry string        `json:"registry"`
	Checks   []mrtd.Check  `json:"checks"`
	Fields   []FieldResult `json:"fields,omitempty"`
	Card     *CardRecord   `json:"card,omitempty"`
	// ChipAuthentication lists DG14's security infos.
	ChipAuthentication []ChipAuthInfo `json:"chip_authentication,omitempty"`
	// Level2 is the eID hook's outcome for the holder's own verification:
	// "raised", or the code of why not ("already_level2", "face_mismatch",
	// "not_found" when the holder has no account…).
	Level2     string    `json:"level2,omitempty"`
	VerifiedAt time.Time `json:"verified_at"`
}

func (v *Verdict) refuse(code, detail string, a ...any) {
	if len(a) > 0 {
		detail = fmt.Sprintf(detail, a...)
	}
	v.Reasons = append(v.Reasons, Reason{Code: code, Detail: detail})
}

// Verify checks chip data for who and returns the verdict; the error is for
// a malformed request, a refused caller or a failing store, never for a
// card that does not pass (that is a verdict with reasons). The
// verification is logged before the verdict is returned.
func (c *Checker) Verify(ctx context.Context, who Caller, req *Request) (*Verdict, error) {
	const op = "chipcheck.Verify"
	if err := authorize(op, who); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	now := c.now().UTC()
	v := &Verdict{Reasons: []Reason{}, Passive: Failed, Active: NotPerformed, Registry: NotPerformed, VerifiedAt: now}
	// The challenge is consumed first, whatever the outcome: it is good
	// for one answer only.
	var challenge []byte
	if req.ChallengeID != "" {
		var why string
		var err error
		if challenge, why, err = c.takeChallenge(ctx, who, req.ChallengeID, now); err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
		if why != "" {
			v.Active = Failed
			v.refuse(why, "the active-authentication challenge is unknown, already used, expired or issued to someone else")
		}
	}
	res, err := mrtd.Verify(ctx, req.Chip, c.trust, now)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if challenge != nil {
		res.CheckActive(challenge, req.AASignature)
		if ck, _ := res.Check("aa.signature"); ck.OK {
			v.Active = Passed
		} else {
			v.Active = Failed
		}
	}
	v.Checks = res.Checks
	for _, f := range res.Failed() {
		v.refuse(f.Name, f.Detail)
	}
	if res.MRZ != nil {
		v.PIN = cancuoc.PIN(res.MRZ.PIN)
	}
	v.ChipAuthentication = chipAuthInfos(res.Chip)
	passiveOK := passiveOK(res)
	if passiveOK {
		v.Passive = Passed
	}
	var fields []string
	switch {
	case !passiveOK:
		if len(v.Reasons) == 0 {
			v.refuse("passive.incomplete", "passive authentication did not complete (is DG1 present?)")
		}
	case who.Citizen != "" && who.Citizen != v.PIN:
		v.refuse("not_holder", "the app may verify only its own holder's card")
	default:
		if fields, err = c.compare(ctx, v, res, now); err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
	}
	v.Accepted = len(v.Reasons) == 0 && v.Passive == Passed && v.Registry == Passed && v.Active != Failed
	if v.Accepted && who.Citizen != "" && c.eid != nil {
		v.Level2 = c.raise(ctx, v, req)
	}
	entry := &cancuoc.AuditEntry{At: now.Truncate(time.Microsecond), Actor: who.ID, Action: ActionVerify, PIN: v.PIN,
		Fields: fields, Purpose: req.Purpose, Outcome: outcome(v)}
	if err := c.audit.Record(ctx, entry); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return v, nil
}

// passiveOK accepts passive authentication when every check that belongs
// to it passed (the active-authentication check is judged apart) and the
// MRZ was read.
func passiveOK(res *mrtd.Result) bool {
	if res.MRZ == nil || res.SOD == nil {
		return false
	}
	if _, ok := res.Check("sod.signature"); !ok {
		return false
	}
	for _, ck := range res.Failed() {
		if ck.Name != "aa.signature" {
			return false
		}
	}
	return true
}

func chipAuthInfos(d *mrtd.DG14) []ChipAuthInfo {
	if d == nil {
		return nil
	}
	out := make([]ChipAuthInfo, 0, len(d.Infos))
	for _, i := range d.Infos {
		ci := ChipAuthInfo{Protocol: i.Protocol, Kind: i.Kind, Version: i.Version, Key: i.Key}
		if i.KeyID >= 0 {
			ci.KeyID = i.KeyID
		}
		out = append(out, ci)
	}
	return out
}

// raise calls the eID hook for the holder's own accepted verification.
func (c *Checker) raise(ctx context.Context, v *Verdict, req *Request) string {
	if v.Active != Passed {
		return "chip_clone_check"
	}
	access := req.Access
	if access == "" {
		access = "pace"
	}
	err := c.eid.RaiseToLevel2ByChip(ctx, v.PIN, eid.ChipEvidence{PIN: v.PIN, DocumentNumber: string(v.PIN[3:]), Access: access,
		PassiveAuth: true, ActiveAuth: true, FaceMatch: req.FaceMatched, Verifier: "chipcheck", VerifiedAt: v.VerifiedAt})
	if err == nil {
		return "raised"
	}
	if e := (*cancuoc.Error)(nil); errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	return "error"
}
