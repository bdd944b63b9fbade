package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cancuoc/cancuoc"
)

// Worker sends due deliveries. Several workers (on several nodes) may run
// against one database: claims never overlap.
type Worker struct {
	s      *Service
	client *http.Client

	delivered, retried, dead, gone prometheus.Counter
}

// NewWorker returns a worker of s sending with client (a client with the
// configured timeout when nil). The client must not follow redirects to
// other hosts silently: by default redirects are not followed at all, so
// a 3xx is a failure the partner sees on the dead-letter list.
func (s *Service) NewWorker(client *http.Client) *Worker {
	if client == nil {
		// Keep as many idle connections per partner as requests in flight
		// (Go keeps 2 by default), so busy partners reuse connections
		// instead of opening one per webhook.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = s.cfg.Concurrency
		tr.Proxy = nil // the address check must see the receiver, not a proxy
		tr.DialContext = s.cfg.dialer().DialContext
		client = &http.Client{Timeout: s.cfg.Timeout, Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "cancuoc_webhook_" + name + "_total", Help: help})
	}
	return &Worker{s: s, client: client,
		delivered: c("delivered", "Webhooks the receiver accepted (2xx)."),
		retried:   c("retried", "Webhook attempts that failed and were scheduled again."),
		dead:      c("dead", "Webhooks given up and put on the dead-letter list."),
		gone:      c("gone", "Subscriptions disabled because the receiver answered 410 Gone."),
	}
}

// Describe implements prometheus.Collector.
func (w *Worker) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range w.counters() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (w *Worker) Collect(ch chan<- prometheus.Metric) {
	for _, c := range w.counters() {
		c.Collect(ch)
	}
}

func (w *Worker) counters() []prometheus.Counter {
	return []prometheus.Counter{w.delivered, w.retried, w.dead, w.gone}
}

// lease is how long a claimed delivery is hidden from other workers: the
// request's timeout and a margin to record the outcome.
func (w *Worker) lease() time.Duration { return w.s.cfg.Timeout + 30*time.Second }

// Run sends deliveries until ctx ends. Up to Concurrency requests are in
// flight; a slot is freed as soon as its outcome is recorded, so one slow
// receiver holds one slot, not the whole worker. Outcomes that finish
// together are recorded in one transaction.
func (w *Worker) Run(ctx context.Context) {
	slots := make(chan struct{}, w.s.cfg.Concurrency)
	freed := make(chan struct{}, 1)
	done := make(chan finished, w.s.cfg.Concurrency)
	var wg sync.WaitGroup
	recorder := make(chan struct{})
	go func() {
		defer close(recorder)
		for f := range done {
			batch := []finished{f}
			for len(batch) < cap(done) {
				select {
				case f := <-done:
					batch = append(batch, f)
					continue
				default:
				}
				break
			}
			w.record(ctx, batch)
			for range batch {
				<-slots
			}
			select {
			case freed <- struct{}{}:
			default:
			}
		}
	}()
	defer func() {
		wg.Wait()
		close(done)
		<-recorder
	}()
	var lastClaim time.Time
	for ctx.Err() == nil {
		free := cap(slots) - len(slots)
		var ds []*cancuoc.WebhookDelivery
		var subs map[string]*cancuoc.WebhookSubscription
		var err error
		// A claim scans the line of due deliveries, so it is made for a
		// quarter of the slots at least, unless the worker is idle or a
		// poll interval has passed.
		if free > 0 && (free*4 >= cap(slots) || free == cap(slots) || time.Since(lastClaim) >= w.s.cfg.Poll) {
			lastClaim = time.Now()
			ds, subs, err = w.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				w.s.log.Warn("webhook: claiming deliveries failed; retrying", "err", err)
			}
		}
		for _, d := range ds {
			slots <- struct{}{}
			wg.Go(func() {
				if f, ok := w.attempt(ctx, subs[d.SubscriptionID], d); ok {
					done <- f // the recorder frees the slot
					return
				}
				<-slots
			})
		}
		if len(ds) == free && free > 0 {
			continue // there may be more due now
		}
		select {
		case <-ctx.Done():
		case <-w.s.wake:
		case <-freed:
		case <-time.After(w.s.cfg.Poll):
		}
	}
}

// claim takes up to n due deliveries with their subscriptions.
func (w *Worker) claim(ctx context.Context, n int) ([]*cancuoc.WebhookDelivery, map[string]*cancuoc.WebhookSubscription, error) {
	ds, err := w.s.store.ClaimWebhookDeliveries(ctx, w.s.now().UTC(), w.lease(), n)
	if err != nil || len(ds) == 0 {
		return nil, nil, err
	}
	subs := map[string]*cancuoc.WebhookSubscription{}
	for _, d := range ds {
		if subs[d.SubscriptionID] == nil {
			sub, err := w.s.store.WebhookSubscription(ctx, d.SubscriptionID)
			if err != nil {
				return nil, nil, err // the lease runs out and another claim takes them
			}
			subs[d.SubscriptionID] = sub
		}
	}
	return ds, subs, nil
}

// Once claims the deliveries due now (up to the concurrency), sends them in
// parallel and records each outcome; it returns how many it claimed.
func (w *Worker) Once(ctx context.Context) (int, error) {
	ds, subs, err := w.claim(ctx, w.s.cfg.Concurrency)
	if err != nil {
		return 0, err
	}
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		fs []finished
	)
	for _, d := range ds {
		wg.Go(func() {
			if f, ok := w.attempt(ctx, subs[d.SubscriptionID], d); ok {
				mu.Lock()
				fs = append(fs, f)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(fs) > 0 {
		w.record(ctx, fs)
	}
	return len(ds), nil
}

// finished is an attempt made, waiting to be recorded.
type finished struct {
	sub *cancuoc.WebhookSubscription
	d   *cancuoc.WebhookDelivery
	o   cancuoc.WebhookOutcome
}

// attempt sends d once and decides the outcome; false when stopping
// (nothing to record: the lease runs out and the attempt is made again).
func (w *Worker) attempt(ctx context.Context, sub *cancuoc.WebhookSubscription, d *cancuoc.WebhookDelivery) (finished, bool) {
	status, err := w.send(ctx, sub.URL, d)
	now := w.s.now().UTC()
	o := cancuoc.WebhookOutcome{LastStatus: status, At: now}
	switch {
	case err == nil && status >= 200 && status < 300:
		o.Status = cancuoc.DeliveryDelivered
	case err == nil && status == http.StatusGone:
		// The receiver says the endpoint is gone: stop sending to it. The
		// delivery stays pending, first in line when the partner enables
		// the subscription again (Enable), so nothing is lost.
		o.Status, o.NextAt, o.LastError = cancuoc.DeliveryPending, now, "410 Gone: subscription disabled"
		if err := w.s.store.SetWebhookStatus(ctx, sub.ID, cancuoc.WebhookDisabled, now); err != nil {
			w.s.log.Warn("webhook: disabling a gone subscription failed", "subscription", sub.ID, "err", err)
		} else {
			w.gone.Inc()
		}
	default:
		o.LastError = failure(status, err)
		if d.Attempts >= w.s.cfg.MaxAttempts || now.Sub(d.EnqueuedAt) >= w.s.cfg.MaxAge {
			o.Status = cancuoc.DeliveryDead
		} else {
			o.Status, o.NextAt = cancuoc.DeliveryPending, now.Add(w.s.backoff(d.Attempts))
		}
	}
	if ctx.Err() != nil && o.Status != cancuoc.DeliveryDelivered {
		return finished{}, false
	}
	return finished{sub: sub, d: d, o: o}, true
}

// record writes the outcomes of several attempts in one transaction (one
// commit for many webhooks), then counts them.
func (w *Worker) record(ctx context.Context, fs []finished) {
	ctx = context.WithoutCancel(ctx)
	stored := make([]bool, len(fs))
	err := w.s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		for i, f := range fs {
			ok, err := tx.FinishWebhookDelivery(ctx, f.d.ID, f.d.Attempts, f.o)
			if err != nil {
				return err
			}
			stored[i] = ok
		}
		return nil
	})
	if err != nil {
		// Nothing was recorded: the leases run out and the webhooks are
		// sent again, which receivers deduplicate by webhook-id.
		w.s.log.Warn("webhook: recording attempts failed", "attempts", len(fs), "err", err)
		return
	}
	for i, f := range fs {
		if !stored[i] {
			// The lease ran out and another worker took it.
			w.s.log.Warn("webhook: an attempt was recorded by another worker first", "delivery", f.d.ID)
			continue
		}
		switch f.o.Status {
		case cancuoc.DeliveryDelivered:
			w.delivered.Inc()
		case cancuoc.DeliveryPending:
			if f.o.LastStatus != http.StatusGone { // counted as gone when disabled
				w.retried.Inc()
			}
		case cancuoc.DeliveryDead:
			w.dead.Inc()
			w.s.log.Warn("webhook: delivery given up (dead letter)", "delivery", f.d.ID, "subscription", f.sub.ID,
				"event", f.d.EventID, "attempts", f.d.Attempts, "last", f.o.LastError)
		}
	}
}

// failure describes a failed attempt for operators, without the body the
// receiver answered (which might echo data).
func failure(status int, err error) string {
	if err != nil {
		s := err.Error()
		if len(s) > 300 {
			s = s[:300]
		}
		return s
	}
	return strconv.Itoa(status) + " " + http.StatusText(status)
}

// send POSTs the signed payload and returns the status.
func (w *Worker) send(ctx context.Context, url string, d *cancuoc.WebhookDelivery) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, w.s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, err
	}
	ts := w.s.now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cancuoc-webhooks/1")
	// The event ID is the message ID: the same on every retry and for
	// every subscription, so a receiver deduplicates on it.
	req.Header.Set(HeaderID, d.EventID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	sig, err := w.s.signature(ctx, d.EventID, ts, d.Payload)
	if err != nil {
		return 0, fmt.Errorf("signing: %w", err)
	}
	req.Header.Set(HeaderSignature, sig)
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("POST failed: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return resp.StatusCode, nil
}

// backoff is the delay after attempt number attempts failed: doubling
// from FirstRetry up to MaxRetry, less up to a fifth at random so that
// retries of many deliveries do not arrive in step.
func (s *Service) backoff(attempts int) time.Duration {
	b := s.cfg.FirstRetry << min(max(attempts-1, 0), 30)
	if b > s.cfg.MaxRetry || b <= 0 {
		b = s.cfg.MaxRetry
	}
	return b - time.Duration(rand.Int64N(int64(b)/5+1))
}
