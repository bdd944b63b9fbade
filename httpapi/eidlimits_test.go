package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc/clientaddr"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/httpapi"
)

func trusting(t *testing.T, cidrs string) envOption {
	r, err := clientaddr.Parse(cidrs)
	if err != nil {
		t.Fatal(err)
	}
	return envOption{api: func(a *httpapi.API) { a.WithTrustedProxies(r) }}
}

// TestSMSRateLimitProblem: the per-phone limit answers 429 with a
// Retry-After header and the sms_rate_limited problem.
func TestSMSRateLimitProblem(t *testing.T) {
	e := newEIDEnv(t, envOption{cfg: func(c *eid.Config) { c.SMSPerPhone = eid.RateLimit{Max: 2, Window: time.Hour} }})
	body := map[string]any{"pin": e.adult.PIN, "full_name": "nguyen van duc", "birth_date": "1990-05-17", "phone": "0912345678"}
	for range 2 {
		e.do("POST", "/v1/eid/registrations", "", body).want(t, http.StatusAccepted, nil)
	}
	r := e.do("POST", "/v1/eid/registrations", "", body)
	r.problem(t, http.StatusTooManyRequests, "sms_rate_limited")
	raw, _ := json.Marshal(body)
	res, err := http.Post(e.srv.URL+"/v1/eid/registrations", "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if res.StatusCode != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 3600 {
		t.Errorf("status %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
}

// TestForwardedSource: behind a trusted proxy the per-source limit counts
// the forwarded client address; without trusted proxies the header is
// ignored, so a client cannot escape the limit by writing addresses.
func TestForwardedSource(t *testing.T) {
	limit := envOption{cfg: func(c *eid.Config) { c.SMSPerSource = eid.RateLimit{Max: 1, Window: time.Hour} }}
	reset := func(e *eidEnv) int {
		return e.do("POST", "/v1/eid/password-resets", "", map[string]string{"pin": "001090999999"}).status
	}
	t.Run("trusted proxy", func(t *testing.T) {
		e := newEIDEnv(t, limit, trusting(t, "127.0.0.0/8, ::1"))
		e.xff = "198.51.100.1"
		if s := reset(e); s != http.StatusAccepted {
			t.Fatalf("first reset: %d", s)
		}
		if s := reset(e); s != http.StatusTooManyRequests {
			t.Errorf("second reset from the same client: %d", s)
		}
		// Another client behind the same proxy has its own count.
		e.xff = "198.51.100.2"
		if s := reset(e); s != http.StatusAccepted {
			t.Errorf("another forwarded client: %d", s)
		}
		// A forged left-most entry does not change the client the proxy saw.
		e.xff = "203.0.113.99, 198.51.100.2"
		if s := reset(e); s != http.StatusTooManyRequests {
			t.Errorf("forged X-Forwarded-For escaped the limit: %d", s)
		}
	})
	t.Run("no trusted proxy", func(t *testing.T) {
		e := newEIDEnv(t, limit)
		e.xff = "198.51.100.1"
		if s := reset(e); s != http.StatusAccepted {
			t.Fatalf("first reset: %d", s)
		}
		e.xff = "198.51.100.2"
		if s := reset(e); s != http.StatusTooManyRequests {
			t.Errorf("X-Forwarded-For believed without a trusted proxy: %d", s)
		}
	})
}
