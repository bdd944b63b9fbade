package eid

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

func TestWebhookSender(t *testing.T) {
	secret := []byte("chia sẻ bí mật")
	var calls atomic.Int32
	var got webhookMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get("X-Cancuoc-Timestamp")
		if r.Header.Get("X-Cancuoc-Signature") != SignWebhook(secret, ts, string(body)) {
			t.Errorf("bad signature")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Header.Get("Content-Type") != "application/json" || r.Method != http.MethodPost {
			t.Errorf("request %s %s", r.Method, r.Header.Get("Content-Type"))
		}
		if n < 3 {
			w.WriteHeader(http.StatusBadGateway) // transient: retried
			return
		}
		_ = json.Unmarshal(body, &got)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	s := &WebhookSender{URL: srv.URL, Secret: secret, Backoff: time.Millisecond, Now: func() time.Time { return time.Unix(1700000000, 0) }}
	if err := s.Send(t.Context(), "+84912345678", "Ma xac thuc: 123456"); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 || got.To != "+84912345678" || got.Message != "Ma xac thuc: 123456" || got.ID == "" {
		t.Errorf("calls %d, message %+v", calls.Load(), got)
	}
}

func TestWebhookSenderFailures(t *testing.T) {
	for _, tc := range []struct {
		status    int
		wantCalls int32
	}{
		{http.StatusBadRequest, 1},         // final: not retried
		{http.StatusServiceUnavailable, 3}, // retried, then given up
		{http.StatusTooManyRequests, 3},
	} {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.WriteHeader(tc.status)
		}))
		s := &WebhookSender{URL: srv.URL, Secret: []byte("k"), Backoff: time.Millisecond}
		err := s.Send(t.Context(), "+84912345678", "x")
		srv.Close()
		if cancuoc.KindOf(err) != cancuoc.Unavailable || calls.Load() != tc.wantCalls {
			t.Errorf("status %d: %v after %d calls; want Unavailable after %d", tc.status, err, calls.Load(), tc.wantCalls)
		}
	}
	// A gateway that hangs: each attempt times out.
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	s := &WebhookSender{URL: srv.URL, Secret: []byte("k"), Timeout: 20 * time.Millisecond, Attempts: 2, Backoff: time.Millisecond}
	if err := s.Send(t.Context(), "+84912345678", "x"); cancuoc.KindOf(err) != cancuoc.Unavailable || strings.Contains(err.Error(), srv.URL) {
		t.Errorf("timeout: %v", err)
	}
	// A cancelled context stops the retries.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Send(ctx, "+84912345678", "x"); cancuoc.KindOf(err) != cancuoc.Unavailable {
		t.Errorf("cancelled: %v", err)
	}
}

func TestDevSender(t *testing.T) {
	var buf bytes.Buffer
	d := DevSender{Log: slog.New(slog.NewTextHandler(&buf, nil))}
	if err := d.Send(t.Context(), "+84912345678", "Ma xac thuc: 654321"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "654321") || strings.Contains(out, "912345678") || !strings.Contains(out, "***678") {
		t.Errorf("dev log %q: want the code and a masked phone", out)
	}
}
