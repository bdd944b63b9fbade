package eid

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/cancuoc/cancuoc"
)

// Sender delivers a text message (a one-time code) to a phone number.
// Implementations return an Unavailable error when the message could not be
// handed over, so that the caller can tell the user to retry.
type Sender interface {
	Send(ctx context.Context, phone, message string) error
}

// DevSender writes messages to the server log instead of sending them, for
// development and demos without an SMS gateway. It is the one place where
// a one-time code may appear in a log, and it must never be wired in
// production (cmd/cancuoc uses it only when told to, and says so at start).
type DevSender struct {
	Log *slog.Logger
}

// Send logs the message with the phone number masked to its last digits.
func (d DevSender) Send(ctx context.Context, phone, message string) error {
	d.Log.WarnContext(ctx, "DEV SMS (not sent; development sender)", "to", MaskPhone(phone), "message", message)
	return nil
}

// MaskPhone keeps the last three digits of a phone number, enough for a
// person to recognise their own number in a message or log.
func MaskPhone(phone string) string {
	if len(phone) <= 3 {
		return "***"
	}
	return "***" + phone[len(phone)-3:]
}

// WebhookSender posts each message as JSON to an SMS gateway:
//
//	POST URL
//	Content-Type: application/json
//	X-Cancuoc-Timestamp: <unix seconds>
//	X-Cancuoc-Signature: sha256=<hex HMAC-SHA256(Secret, timestamp + "." + body)>
//	{"id": "<unique message id>", "to": "+84…", "message": "…"}
//
// The signature over the timestamp and body lets the gateway refuse forged
// or replayed requests; the id lets it drop a retry it already delivered.
// Server errors (5xx), 429 and network failures are retried with a growing
// pause; other answers are final.
type WebhookSender struct {
	URL    string
	Secret []byte
	// Client makes the requests; nil means a client with Timeout.
	Client *http.Client
	// Timeout bounds each attempt (default 5 s).
	Timeout time.Duration
	// Attempts is the number of tries in all (default 3).
	Attempts int
	// Backoff is the pause before the first retry, doubled each time
	// (default 200 ms).
	Backoff time.Duration
	// Now gives the signing time (default time.Now).
	Now func() time.Time
}

// webhookMessage is the body posted to the gateway.
type webhookMessage struct {
	ID      string `json:"id"`
	To      string `json:"to"`
	Message string `json:"message"`
}

// SignWebhook computes the signature header value of a request body sent at
// timestamp ts, so a gateway written in Go can check it the same way.
func SignWebhook(secret []byte, ts, body string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

var errSMS = cancuoc.E(cancuoc.Unavailable, "eid.WebhookSender", "sms_unavailable",
	"Không gửi được tin nhắn mã xác thực; vui lòng thử lại sau.", "The code could not be sent by SMS; try again later.")

// Send posts the message, retrying transient failures.
func (w *WebhookSender) Send(ctx context.Context, phone, message string) error {
	timeout, attempts, backoff, now := w.Timeout, w.Attempts, w.Backoff, w.Now
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	if attempts <= 0 {
		attempts = 3
	}
	if backoff <= 0 {
		backoff = 200 * time.Millisecond
	}
	if now == nil {
		now = time.Now
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	body, err := json.Marshal(webhookMessage{ID: hex.EncodeToString(id[:]), To: phone, Message: message})
	if err != nil {
		return cancuoc.WithOp("eid.WebhookSender", err)
	}
	var last error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return withCause(errSMS, ctx.Err())
			case <-time.After(backoff << (i - 1)):
			}
		}
		retry, err := w.post(ctx, client, timeout, body, now())
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return withCause(errSMS, last)
}

// post makes one attempt and says whether a failure is worth retrying.
func (w *WebhookSender) post(ctx context.Context, client *http.Client, timeout time.Duration, body []byte, at time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Cancuoc-Timestamp", ts)
	req.Header.Set("X-Cancuoc-Signature", SignWebhook(w.Secret, ts, string(body)))
	resp, err := client.Do(req)
	if err != nil {
		// The URL may carry a token; keep only the kind of failure.
		var ue interface{ Timeout() bool }
		if errors.As(err, &ue) && ue.Timeout() {
			return true, errors.New("sms gateway: timeout")
		}
		return true, errors.New("sms gateway: request failed")
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return true, fmt.Errorf("sms gateway: status %d", resp.StatusCode)
	}
	return false, fmt.Errorf("sms gateway: status %d", resp.StatusCode)
}

// withCause returns a copy of e that keeps err for logs.
func withCause(e *cancuoc.Error, err error) error {
	c := *e
	c.Err = err
	return &c
}
