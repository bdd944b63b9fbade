package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/prometheus/client_golang/prometheus"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyPrincipal
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

func principal(ctx context.Context) *cancuoc.Principal {
	p, _ := ctx.Value(keyPrincipal).(*cancuoc.Principal)
	return p
}

// statusWriter remembers the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Metrics are the HTTP metrics, registered by the caller on its registry.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics creates and registers the HTTP metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cancuoc_http_requests_total",
			Help: "HTTP requests by route pattern and status."}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cancuoc_http_request_duration_seconds",
			Help: "HTTP request duration by route pattern.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// observe wraps the mux: request ID, panic recovery, access log and metrics.
// The log line names the route pattern, never the path, because paths hold
// PINs and personal data stays out of logs.
func observe(next http.Handler, log *slog.Logger, m *Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if id == "" || len(id) > 64 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-ID", id)
		r = r.WithContext(context.WithValue(r.Context(), keyRequestID, id))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				log.Error("panic", "request_id", id, "route", r.Pattern, "panic", v)
				if sw.status == 0 {
					writeError(sw, r, log, cancuoc.E(cancuoc.Internal, "", "internal", "", ""))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			if m != nil {
				m.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
				m.duration.WithLabelValues(route).Observe(d.Seconds())
			}
			log.LogAttrs(r.Context(), slog.LevelDebug, "request", slog.String("request_id", id), slog.String("route", route),
				slog.Int("status", sw.status), slog.Duration("duration", d))
		}()
		next.ServeHTTP(sw, r)
	})
}

// APIKey reads the API key of a request: Authorization: Bearer, or the
// X-API-Key header. Unauthenticated "api_key_missing" when there is none.
func APIKey(r *http.Request) (string, error) {
	key := r.Header.Get("X-API-Key")
	// The scheme name is case-insensitive (RFC 9110, section 11.1).
	if a := r.Header.Get("Authorization"); len(a) >= 7 && strings.EqualFold(a[:7], "Bearer ") {
		key = strings.TrimSpace(a[7:])
	}
	if key == "" {
		return "", cancuoc.E(cancuoc.Unauthenticated, "", "api_key_missing",
			"Thiếu khoá API: gửi tiêu đề Authorization: Bearer <khoá>.", "Missing API key: send the header Authorization: Bearer <key>.")
	}
	return key, nil
}

// authed resolves the API key (Authorization: Bearer, or X-API-Key) and puts
// the principal in the context; without a valid key the request ends here.
func (a *API) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := APIKey(r)
		if err != nil {
			writeError(w, r, a.log, err)
			return
		}
		p, err := a.reg.Authenticate(r.Context(), key)
		if err != nil {
			writeError(w, r, a.log, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), keyPrincipal, p)))
	}
}
