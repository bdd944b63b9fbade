package cancuoc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
)

func TestErrorIsByKind(t *testing.T) {
	sentinels := map[cancuoc.Kind]error{
		cancuoc.Invalid:         cancuoc.ErrInvalid,
		cancuoc.NotFound:        cancuoc.ErrNotFound,
		cancuoc.Conflict:        cancuoc.ErrConflict,
		cancuoc.Unauthenticated: cancuoc.ErrUnauthenticated,
		cancuoc.Forbidden:       cancuoc.ErrForbidden,
		cancuoc.Unavailable:     cancuoc.ErrUnavailable,
	}
	for kind := range sentinels {
		err := cancuoc.E(kind, "registry.Get", "some_code", "vi", "en")
		wrapped := fmt.Errorf("handler: %w", err)
		for other, sentinel := range sentinels {
			want := other == kind
			if got := errors.Is(err, sentinel); got != want {
				t.Errorf("errors.Is(%v error, Err%v) = %v, want %v", kind, other, got, want)
			}
			if got := errors.Is(wrapped, sentinel); got != want {
				t.Errorf("errors.Is(wrapped %v error, Err%v) = %v, want %v", kind, other, got, want)
			}
		}
		if k := cancuoc.KindOf(wrapped); k != kind {
			t.Errorf("KindOf(wrapped %v) = %v", kind, k)
		}
	}
	// A target with a code or op is not a kind sentinel: it matches only
	// itself, so code comparisons go through errors.As.
	err := cancuoc.E(cancuoc.Conflict, "op", "stale_version", "", "")
	if errors.Is(err, &cancuoc.Error{Kind: cancuoc.Conflict, Code: "stale_version"}) {
		t.Error("errors.Is matched a target with a Code")
	}
	if errors.Is(io.EOF, cancuoc.ErrNotFound) {
		t.Error("a foreign error matched ErrNotFound")
	}
	// An Internal error is not any of the sentinels.
	internal := cancuoc.WithOp("op", io.EOF)
	for _, s := range sentinels {
		if errors.Is(internal, s) {
			t.Errorf("internal error matched %v", s)
		}
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		err  error
		want cancuoc.Kind
	}{
		{nil, cancuoc.Internal},
		{io.EOF, cancuoc.Internal},
		{context.Canceled, cancuoc.Internal},
		{cancuoc.ErrNotFound, cancuoc.NotFound},
		{cancuoc.InvalidField("op", "pin", "pin_format", "", ""), cancuoc.Invalid},
		{fmt.Errorf("a: %w", fmt.Errorf("b: %w", cancuoc.E(cancuoc.Forbidden, "op", "c", "", ""))), cancuoc.Forbidden},
		{errors.Join(io.EOF, cancuoc.ErrConflict), cancuoc.Conflict},
	}
	for _, tt := range tests {
		if got := cancuoc.KindOf(tt.err); got != tt.want {
			t.Errorf("KindOf(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[cancuoc.Kind]string{cancuoc.Internal: "internal", cancuoc.Invalid: "invalid",
		cancuoc.NotFound: "not_found", cancuoc.Conflict: "conflict", cancuoc.Unauthenticated: "unauthenticated",
		cancuoc.Forbidden: "forbidden", cancuoc.Unavailable: "unavailable", cancuoc.Kind(42): "kind(42)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

func TestWithOp(t *testing.T) {
	if cancuoc.WithOp("op", nil) != nil {
		t.Fatal("WithOp(nil) is not nil")
	}

	// An *Error without an op gets one, and the original is not modified
	// (it may be a shared sentinel).
	bare := cancuoc.InvalidField("", "phone", "phone_invalid", "vi", "en")
	got := cancuoc.WithOp("registry.Update", bare)
	var e *cancuoc.Error
	if !errors.As(got, &e) || e.Op != "registry.Update" || e.Code != "phone_invalid" || e.Field != "phone" || e.Kind != cancuoc.Invalid {
		t.Fatalf("WithOp(bare) = %#v", got)
	}
	if bare.Op != "" {
		t.Error("WithOp modified its argument")
	}
	if cancuoc.WithOp("x", cancuoc.ErrNotFound).(*cancuoc.Error) == cancuoc.ErrNotFound || cancuoc.ErrNotFound.Op != "" {
		t.Error("WithOp changed the ErrNotFound sentinel")
	}

	// An *Error with an op keeps it: the innermost op names where it failed.
	inner := cancuoc.E(cancuoc.Conflict, "sqlite.UpdateCitizen", "stale_version", "vi", "en")
	if got := cancuoc.WithOp("registry.Update", inner); got != error(inner) {
		t.Errorf("WithOp replaced an error that had an op: %v", got)
	}

	// Anything else becomes Internal, keeps its cause, and shows nothing
	// of it to the user.
	cause := errors.New("pq: connection reset; SELECT full_name FROM citizens")
	got = cancuoc.WithOp("registry.Get", cause)
	if !errors.As(got, &e) || e.Kind != cancuoc.Internal || e.Op != "registry.Get" || e.Code != "internal" {
		t.Fatalf("WithOp(plain) = %#v", got)
	}
	if !errors.Is(got, cause) {
		t.Error("WithOp lost the cause")
	}
	if strings.Contains(e.MessageEN, "full_name") || strings.Contains(e.MessageVI, "full_name") {
		t.Error("the user-facing message exposes the cause")
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *cancuoc.Error
		want string
	}{
		{&cancuoc.Error{Kind: cancuoc.NotFound}, "not_found"},
		{cancuoc.E(cancuoc.Forbidden, "registry.Get", "x", "vi", "no"), "registry.Get: no"},
		{cancuoc.InvalidField("ParsePIN", "pin", "pin_format", "vi", "bad"), "ParsePIN: pin: bad"},
		{&cancuoc.Error{Kind: cancuoc.Internal, Op: "op", MessageEN: "internal error", Err: io.EOF}, "op: internal error: EOF"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
