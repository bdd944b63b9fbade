package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
)

// Problem is an RFC 9457 problem details object, with the project's
// extensions: a stable code, the offending field, and the message in both
// languages (detail is in the language the client asked for, Vietnamese by
// default).
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Instance  string `json:"instance,omitempty"`
	Code      string `json:"code"`
	Field     string `json:"field,omitempty"`
	MessageVI string `json:"message_vi"`
	MessageEN string `json:"message_en"`
	RequestID string `json:"request_id,omitempty"`
}

// statusOf is the one map from error kind to HTTP status.
func statusOf(k cancuoc.Kind) int {
	switch k {
	case cancuoc.Invalid:
		return http.StatusBadRequest
	case cancuoc.NotFound:
		return http.StatusNotFound
	case cancuoc.Conflict:
		return http.StatusConflict
	case cancuoc.Unauthenticated:
		return http.StatusUnauthorized
	case cancuoc.Forbidden:
		return http.StatusForbidden
	case cancuoc.Unavailable:
		return http.StatusServiceUnavailable
	case cancuoc.TooManyRequests:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// ProblemTypeBase prefixes problem codes to form the type URI. A URN needs
// no server to resolve it; the OpenAPI document lists the codes.
const ProblemTypeBase = "urn:cancuoc:problem:"

// WriteError answers with problem details; other packages' handlers (the
// OpenID provider's client API) use it so every error looks the same.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	writeError(w, r, log, err)
}

// writeError answers with problem details. Only Internal errors are logged
// in full; their detail is never shown, since it may hold internals.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *cancuoc.Error
	if !errors.As(err, &e) || e.Kind == cancuoc.Internal {
		log.Error("internal error", "request_id", requestID(r.Context()), "route", r.Pattern, "err", err)
		e = cancuoc.E(cancuoc.Internal, "", "internal", "Lỗi hệ thống; vui lòng thử lại sau hoặc báo quản trị viên kèm mã yêu cầu.",
			"Internal error; try again later or report the request ID to the operator.")
	}
	if e.Kind == cancuoc.Unavailable {
		// The caller is told to try again; the operator needs to know why
		// (the stores' errors hold no personal data: postgres.dbErr).
		log.Warn("unavailable", "request_id", requestID(r.Context()), "route", r.Pattern, "code", e.Code, "err", err)
	}
	if e.RetryAfter > 0 {
		// Whole seconds, rounded up: waiting less would only be refused again.
		w.Header().Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
	writeProblem(w, r, statusOf(e.Kind), e.Code, e.Field, e.MessageVI, e.MessageEN)
}

// writeProblem writes one RFC 9457 problem, its detail in the language the
// caller prefers.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, code, field, vi, en string) {
	p := Problem{Type: ProblemTypeBase + code, Title: http.StatusText(status), Status: status, Code: code,
		Field: field, MessageVI: vi, MessageEN: en, RequestID: requestID(r.Context())}
	p.Detail = p.MessageVI
	if prefersEnglish(r) {
		p.Detail = p.MessageEN
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cancuoc"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Content-Language", map[bool]string{true: "en", false: "vi"}[prefersEnglish(r)])
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// prefersEnglish reads Accept-Language: Vietnamese unless English is
// preferred over it (a simple first-match reading is enough for two languages).
func prefersEnglish(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "vi"):
			return false
		case strings.HasPrefix(tag, "en"):
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
