package cancuoc

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what the caller can do about it. The HTTP layer
// maps each Kind to one status in one place.
type Kind uint8

// The kinds of error. Internal is the zero value on purpose: an error nobody
// classified is treated as a fault of ours, logged in full and shown vaguely.
const (
	Internal        Kind = iota // a fault of ours; logged, never shown in detail
	Invalid                     // the input is wrong; the message says which field and why
	NotFound                    // no such record (or the caller may not know it exists)
	Conflict                    // the record moved on (stale version) or already exists
	Unauthenticated             // no or bad credentials
	Forbidden                   // authenticated, but the role or jurisdiction does not allow it
	Unavailable                 // a dependency is down; retry later
	TooManyRequests             // a rate limit is reached; retry after Error.RetryAfter
)

var kindNames = [...]string{"internal", "invalid", "not_found", "conflict", "unauthenticated", "forbidden", "unavailable", "too_many_requests"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is the one error type of the project. Code is a stable machine-readable
// reason ("pin_province_unknown"), Field names the offending input field, and
// MessageVI/MessageEN are safe to show to the user: they never hold personal
// data. Err keeps the cause for logs and errors.Is/As.
type Error struct {
	Kind      Kind
	Op        string // the operation, e.g. "registry.RegisterBirth"
	Code      string
	Field     string
	MessageVI string
	MessageEN string
	Err       error
	// RetryAfter, when set, is how long the caller should wait before
	// trying again (a rate limit or a lockout); HTTP sends it as Retry-After.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := e.MessageEN
	if msg == "" {
		msg = e.Kind.String()
	}
	s := msg
	if e.Field != "" {
		s = e.Field + ": " + s
	}
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, cancuoc.ErrNotFound) match any *Error of the same
// kind, so callers test the class of failure rather than the message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Code == "" && t.Op == "" && t.Kind == e.Kind
}

// Sentinels for errors.Is tests by kind.
var (
	ErrInvalid         = &Error{Kind: Invalid}
	ErrNotFound        = &Error{Kind: NotFound}
	ErrConflict        = &Error{Kind: Conflict}
	ErrUnauthenticated = &Error{Kind: Unauthenticated}
	ErrForbidden       = &Error{Kind: Forbidden}
	ErrUnavailable     = &Error{Kind: Unavailable}
)

// E builds an *Error. Use it where the message is meant for the user.
func E(kind Kind, op, code, vi, en string) *Error {
	return &Error{Kind: kind, Op: op, Code: code, MessageVI: vi, MessageEN: en}
}

// InvalidField reports bad input in one field, with messages in both languages.
func InvalidField(op, field, code, vi, en string) *Error {
	return &Error{Kind: Invalid, Op: op, Code: code, Field: field, MessageVI: vi, MessageEN: en}
}

// KindOf returns the Kind of the first *Error in err's chain, Internal if none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// WithOp returns err with op set when err is an *Error without one, and wraps
// anything else as an Internal error of op.
func WithOp(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Op == "" {
			c := *e
			c.Op = op
			return &c
		}
		return err
	}
	return &Error{Kind: Internal, Op: op, Code: "internal", MessageVI: "Lỗi hệ thống", MessageEN: "internal error", Err: err}
}
