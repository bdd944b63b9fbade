// Package registry holds the rules of the national population registry:
// who may read or change which citizen (role and jurisdiction), what a valid
// record is, how a PIN is issued, and how every change becomes a new version
// with its history row, audit entry and outbox event in one transaction.
// Storage only stores; everything that decides lives here.
package registry

import (
	"crypto/rand"
	"encoding/binary"
	"io"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
)

// Service is the registry use cases over one store.
type Service struct {
	store   cancuoc.Store
	audit   *audit.Writer
	now     func() time.Time
	serials io.Reader
	keys    *keyCache
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces the wall clock (tests, replays).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithSerialSource replaces the random source of PIN serials. Tests use a
// source with few values to force collisions between racing registrations.
func WithSerialSource(r io.Reader) Option { return func(s *Service) { s.serials = r } }

// New returns a Service. The audit writer batches read-access entries; the
// caller owns it and closes it after the Service is no longer used.
func New(store cancuoc.Store, w *audit.Writer, opts ...Option) *Service {
	s := &Service{store: store, audit: w, now: time.Now, serials: rand.Reader, keys: newKeyCache(30 * time.Second)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Store returns the underlying store, for wiring other capabilities.
func (s *Service) Store() cancuoc.Store { return s.store }

// clock returns now in UTC at microsecond precision, the finest both
// databases keep, so a value read back equals the value written.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// serial draws a PIN serial in [0, 999999].
func (s *Service) serial() (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(s.serials, b[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b[:]) % 1000000, nil
}

func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40 // UUID v4
	b[8] = (b[8] & 0x3f) | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[x>>4], hex[x&15])
	}
	return string(out)
}

// Meta is why a change is made: required on every write.
type Meta struct {
	Reason     string `json:"reason"`
	LegalBasis string `json:"legal_basis"`
	Agency     string `json:"agency,omitempty"`
}

func (m Meta) validate(op string) error {
	if m.Reason == "" {
		return cancuoc.InvalidField(op, "reason", "reason_required",
			"Cần ghi lý do thay đổi.", "A reason for the change is required.")
	}
	if m.LegalBasis == "" {
		return cancuoc.InvalidField(op, "legal_basis", "legal_basis_required",
			"Cần ghi căn cứ pháp lý (ví dụ số quyết định, văn bản).", "A legal basis (e.g. the decision or document number) is required.")
	}
	return nil
}
