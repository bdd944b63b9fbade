package eid

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"image"
	_ "image/jpeg" // DecodeConfig of registration photos
	_ "image/png"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/vntext"
)

// Registration is what a citizen gives to open a level-1 account. PIN, name
// and date of birth must match the registry.
type Registration struct {
	PIN       cancuoc.PIN  `json:"pin"`
	FullName  string       `json:"full_name"`
	BirthDate cancuoc.Date `json:"birth_date"`
	Phone     string       `json:"phone"`
	Email     string       `json:"email,omitempty"`
}

// Pending is a started step that waits for the one-time code sent by SMS.
type Pending struct {
	ChallengeID string    `json:"challenge_id"`
	ExpiresAt   time.Time `json:"expires_at"`
	SentTo      string    `json:"sent_to"` // the phone, masked
}

// Photo is a face photo as uploaded: JPEG or PNG.
type Photo struct {
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"` // base64 in JSON
}

// Challenge purposes.
const (
	purposeRegister = "register"
	purposeReset    = "password_reset"
	purposeWebAuthn = "webauthn_register"
)

// NormalizePhone returns a Vietnamese mobile number in E.164 (+84 and nine
// digits), accepting the usual national forms (0912 345 678, 84912345678).
func NormalizePhone(op, s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '.' || r == '-':
		default:
			b.Reset()
			b.WriteString("x")
		}
	}
	d := b.String()
	switch {
	case len(d) == 10 && d[0] == '0':
		d = d[1:]
	case len(d) == 11 && strings.HasPrefix(d, "84"):
		d = d[2:]
	}
	if len(d) != 9 || !strings.ContainsRune("35789", rune(d[0])) || strings.Trim(d, "0123456789") != "" {
		return "", cancuoc.InvalidField(op, "phone", "phone_format",
			"Số điện thoại di động không hợp lệ (ví dụ 0912 345 678).", "Not a valid Vietnamese mobile number (for example 0912 345 678).")
	}
	return "+84" + d, nil
}

func checkEmail(op, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return "", cancuoc.InvalidField(op, "email", "email_format", "Địa chỉ thư điện tử không hợp lệ.", "Not a valid email address.")
	}
	return s, nil
}

// matchCitizen reads the registry record and checks that the name (without
// regard to diacritics, case or spacing) and the date of birth agree. An
// unknown PIN and a mismatch give the same answer, so the form cannot be
// used to probe who is registered.
func matchCitizen(ctx context.Context, tx cancuoc.Tx, op string, pin cancuoc.PIN, name string, birth cancuoc.Date) (*cancuoc.Citizen, error) {
	c, err := tx.Citizen(ctx, pin)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return nil, opErr(op, errNoMatch)
	}
	if err != nil {
		return nil, err
	}
	sameDate := birth == c.BirthDate || (!c.BirthDate.Complete() && !c.BirthDate.IsZero() && c.BirthDate.Compatible(birth))
	if !vntext.SameName(name, c.FullName, vntext.NameFolded) || !sameDate {
		return nil, opErr(op, errNoMatch)
	}
	return c, checkAlive(op, c)
}

func checkAlive(op string, c *cancuoc.Citizen) error {
	switch c.LifeStatus {
	case cancuoc.Dead:
		return cancuoc.E(cancuoc.Forbidden, op, "citizen_dead",
			"Công dân này đã được đăng ký khai tử.", "This citizen's death is registered.")
	case cancuoc.Missing:
		return cancuoc.E(cancuoc.Forbidden, op, "citizen_missing",
			"Công dân này đang bị tuyên bố mất tích.", "This citizen is declared missing.")
	}
	return nil
}

// ageOn is the age certainly reached on t: a partial birth date counts from
// its latest reading, so nobody is taken for older than they may be.
func ageOn(d cancuoc.Date, t time.Time) int {
	l := d.Latest()
	age := t.Year() - l.Year()
	if t.Month() < l.Month() || (t.Month() == l.Month() && t.Day() < l.Day()) {
		age--
	}
	return age
}

// codeHash binds a code to its challenge, so equal codes of two challenges
// have different hashes.
func codeHash(id, code string) []byte {
	h := sha256.Sum256([]byte(id + ":" + code))
	return h[:]
}

// newCode returns a uniformly drawn 6-digit code.
func newCode() (string, error) {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		// Reject the top of the range so that every code is equally likely.
		n := binary.BigEndian.Uint64(b[:])
		if n < (^uint64(0)/1000000)*1000000 {
			return fmt.Sprintf("%06d", n%1000000), nil
		}
	}
}

// sendCode creates an OTP challenge and sends its code.
func (s *Service) sendCode(ctx context.Context, op string, c *cancuoc.Challenge) (*Pending, error) {
	code, err := newCode()
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	now := s.clock()
	c.ID, c.CodeHash, c.CreatedAt, c.ExpiresAt = newID("c_"), nil, now, now.Add(s.cfg.OTPTTL)
	c.CodeHash = codeHash(c.ID, code)
	if err := s.store.InsertChallenge(ctx, c); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	msg := fmt.Sprintf("Ma xac thuc cancuoc: %s. Hieu luc %d phut. Khong chia se ma nay voi bat ky ai.",
		code, int(s.cfg.OTPTTL/time.Minute))
	if err := s.send.Send(ctx, c.Phone, msg); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return &Pending{ChallengeID: c.ID, ExpiresAt: c.ExpiresAt, SentTo: MaskPhone(c.Phone)}, nil
}

// useChallenge checks a guess against a challenge and counts it: a wrong
// guess uses up one attempt, a right one uses up the challenge. accountID,
// when set, must own the challenge.
func (s *Service) useChallenge(ctx context.Context, op, id, purpose, accountID string, ok func(*cancuoc.Challenge) bool) (*cancuoc.Challenge, error) {
	bad := cancuoc.E(cancuoc.Invalid, op, "invalid_code", "Mã xác thực không đúng.", "The code is wrong.")
	gone := cancuoc.E(cancuoc.Invalid, op, "challenge_expired",
		"Yêu cầu đã hết hạn, đã dùng hoặc nhập sai quá số lần; hãy bắt đầu lại.",
		"The request has expired, was used, or had too many wrong codes; start again.")
	c, err := s.store.Challenge(ctx, id)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return nil, gone
	}
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if c.Purpose != purpose || (accountID != "" && c.AccountID != accountID) {
		return nil, gone
	}
	now := s.clock()
	if c.UsedAt != nil || !now.Before(c.ExpiresAt) || c.Attempts >= s.cfg.OTPAttempts {
		return nil, gone
	}
	prev := c.Attempts
	c.Attempts++
	good := ok(c)
	if good {
		c.UsedAt = &now
	}
	if err := s.store.UpdateChallenge(ctx, c, prev); err != nil {
		if cancuoc.KindOf(err) == cancuoc.Conflict {
			return nil, gone // a racing guess got there first
		}
		return nil, cancuoc.WithOp(op, err)
	}
	if !good {
		return nil, bad
	}
	return c, nil
}

func otpMatches(code string) func(*cancuoc.Challenge) bool {
	return func(c *cancuoc.Challenge) bool {
		return subtle.ConstantTimeCompare(codeHash(c.ID, strings.TrimSpace(code)), c.CodeHash) == 1
	}
}

// StartRegistration checks a level-1 registration against the registry and
// sends a one-time code to the phone. Invalid "registry_mismatch" when PIN,
// name and date of birth do not match a record; Forbidden "citizen_dead" or
// "citizen_missing"; Forbidden "too_young" under the self-registration age;
// Conflict "account_exists" when the PIN has an open account.
//
// source is the client's address: with the phone number it is limited in
// the codes it may have sent (TooManyRequests "sms_rate_limited", with
// RetryAfter).
func (s *Service) StartRegistration(ctx context.Context, r Registration, source string) (*Pending, error) {
	const op = "eid.StartRegistration"
	phone, err := NormalizePhone(op, r.Phone)
	if err != nil {
		return nil, err
	}

	if r.Email, err = checkEmail(op, r.Email); err != nil {
		return nil, err
	}
	r.Phone = phone
	if err := s.checkRegistration(ctx, op, s.store, r); err != nil {
		return nil, err
	}
	// Counted once a code is due to go out: refused registrations send
	// nothing, so only sending is limited.
	if err := s.allowSMS(ctx, op, source, [2]string{"phone", phone}); err != nil {
		return nil, err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return s.sendCode(ctx, op, &cancuoc.Challenge{Purpose: purposeRegister, PIN: r.PIN, Phone: phone, Data: data})
}

func (s *Service) checkRegistration(ctx context.Context, op string, tx cancuoc.Tx, r Registration) error {
	c, err := matchCitizen(ctx, tx, op, r.PIN, r.FullName, r.BirthDate)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	if ageOn(c.BirthDate, s.clock()) < s.cfg.SelfRegistrationAge {
		return cancuoc.E(cancuoc.Forbidden, op, "too_young",
			fmt.Sprintf("Công dân dưới %d tuổi được người giám hộ đăng ký tài khoản.", s.cfg.SelfRegistrationAge),
			fmt.Sprintf("Citizens under %d are registered by their guardian.", s.cfg.SelfRegistrationAge))
	}
	a, err := tx.AccountByPIN(ctx, r.PIN)
	if err == nil && a.Status != cancuoc.AccountClosed {
		return cancuoc.E(cancuoc.Conflict, op, "account_exists", "Số định danh này đã có tài khoản định danh điện tử.",
			"This personal identification number already has an electronic identity account.")
	}
	if err != nil && cancuoc.KindOf(err) != cancuoc.NotFound {
		return cancuoc.WithOp(op, err)
	}
	return nil
}

// checkPhoto accepts a JPEG or PNG within the size limit whose bytes are
// what the declared type says and decode as an image of a usable size.
func (s *Service) checkPhoto(op string, p Photo) error {
	bad := func(code, vi, en string) error { return cancuoc.InvalidField(op, "photo", code, vi, en) }
	switch {
	case len(p.Data) == 0:
		return bad("photo_required", "Cần ảnh khuôn mặt.", "A face photo is required.")
	case len(p.Data) > s.cfg.MaxPhotoBytes:
		return bad("photo_too_large", fmt.Sprintf("Ảnh quá lớn (tối đa %d KiB).", s.cfg.MaxPhotoBytes>>10),
			fmt.Sprintf("The photo is too large (%d KiB at most).", s.cfg.MaxPhotoBytes>>10))
	case p.ContentType != "image/jpeg" && p.ContentType != "image/png":
		return bad("photo_type", "Ảnh phải là JPEG hoặc PNG.", "The photo must be JPEG or PNG.")
	case http.DetectContentType(p.Data) != p.ContentType:
		return bad("photo_type", "Nội dung ảnh không đúng định dạng đã khai.", "The photo's bytes are not of the declared type.")
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(p.Data))
	if err != nil || cfg.Width < 64 || cfg.Height < 64 || cfg.Width > 8000 || cfg.Height > 8000 {
		return bad("photo_invalid", "Ảnh không đọc được hoặc kích thước không phù hợp (từ 64×64 điểm ảnh).",
			"The photo cannot be read or has an unsuitable size (at least 64×64 pixels).")
	}
	return nil
}

// ConfirmRegistration finishes a registration with the code sent by SMS, the
// chosen password and the face photo, and opens the level-1 account. The
// registry is checked again in the transaction that creates the account:
// the citizen may have died, or registered from another device, meanwhile.
func (s *Service) ConfirmRegistration(ctx context.Context, challengeID, code, password string, photo Photo) (*cancuoc.Account, error) {
	const op = "eid.ConfirmRegistration"
	if err := s.checkPassword(op, password); err != nil {
		return nil, err
	}
	if err := s.checkPhoto(op, photo); err != nil {
		return nil, err
	}
	c, err := s.useChallenge(ctx, op, challengeID, purposeRegister, "", otpMatches(code))
	if err != nil {
		return nil, err
	}
	var r Registration
	if err := json.Unmarshal(c.Data, &r); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	hash, err := s.hash(ctx, op, password)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	now := s.clock()
	a := &cancuoc.Account{ID: newID("a_"), Kind: cancuoc.AccountCitizen, PIN: r.PIN, Level: cancuoc.Level1,
		Status: cancuoc.AccountActive, Phone: r.Phone, Email: r.Email, CreatedAt: now, UpdatedAt: now, Version: 1}
	sum := sha256.Sum256(photo.Data)
	err = s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := s.checkRegistration(ctx, op, tx, r); err != nil {
			return err
		}
		if err := tx.InsertAccount(ctx, a); err != nil {
			return err
		}
		if err := tx.PutSecrets(ctx, &cancuoc.AccountSecrets{AccountID: a.ID, PasswordHash: hash, PasswordSetAt: now}); err != nil {
			return err
		}
		if err := tx.PutFacePhoto(ctx, &cancuoc.FacePhoto{AccountID: a.ID, ContentType: photo.ContentType, Data: photo.Data,
			SHA256: sum[:], CreatedAt: now}); err != nil {
			return err
		}
		return s.record(ctx, tx, a.ID, "eid.register", cancuoc.EventAccountCreated, a, "Đăng ký tài khoản định danh điện tử mức 1")
	})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return a, nil
}

// StartPasswordReset sends a one-time code to the account's verified phone.
// It answers the same way whether or not the PIN has an account (no code
// is sent then), so it cannot be used to find out who has one; for that
// reason its limit counts per PIN (and per source address) whether or not
// a code goes out, and the phone's own limit only when one does.
func (s *Service) StartPasswordReset(ctx context.Context, pin cancuoc.PIN, source string) (*Pending, error) {
	const op = "eid.StartPasswordReset"
	if err := s.allowSMS(ctx, op, source, [2]string{"pin", string(pin)}); err != nil {
		return nil, err
	}
	a, err := s.store.AccountByPIN(ctx, pin)
	if err != nil && cancuoc.KindOf(err) != cancuoc.NotFound {
		return nil, cancuoc.WithOp(op, err)
	}
	if err != nil || a.Status == cancuoc.AccountClosed || a.Phone == "" {
		return &Pending{ChallengeID: newID("c_"), ExpiresAt: s.clock().Add(s.cfg.OTPTTL), SentTo: "***"}, nil
	}
	if err := s.allowSMS(ctx, op, "", [2]string{"phone", a.Phone}); err != nil {
		return nil, err
	}
	return s.sendCode(ctx, op, &cancuoc.Challenge{Purpose: purposeReset, AccountID: a.ID, PIN: pin, Phone: a.Phone})
}

// ConfirmPasswordReset sets a new password after the code sent by
// StartPasswordReset, and forgets the account's failed attempts. It does
// not unlock an account the holder or an officer locked.
func (s *Service) ConfirmPasswordReset(ctx context.Context, challengeID, code, password string) error {
	const op = "eid.ConfirmPasswordReset"
	if err := s.checkPassword(op, password); err != nil {
		return err
	}
	c, err := s.useChallenge(ctx, op, challengeID, purposeReset, "", otpMatches(code))
	if err != nil {
		return err
	}
	hash, err := s.hash(ctx, op, password)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	return cancuoc.WithOp(op, s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		a, err := tx.Account(ctx, c.AccountID)
		if err != nil {
			return err
		}
		if a.Status == cancuoc.AccountClosed {
			return statusError(op, a.Status)
		}
		sec, err := tx.Secrets(ctx, a.ID)
		if err != nil {
			return err
		}
		sec.PasswordHash, sec.PasswordSetAt = hash, s.clock()
		if err := tx.PutSecrets(ctx, sec); err != nil {
			return err
		}
		if err := tx.ClearThrottle(ctx, accountKey(a.ID)); err != nil {
			return err
		}
		if err := s.endSessions(ctx, tx, a); err != nil {
			return err
		}
		return s.record(ctx, tx, a.ID, "eid.password_reset", "", a, "")
	}))
}
