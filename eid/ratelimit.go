package eid

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/cancuoc/cancuoc"
)

// allow counts one event under key against lim and refuses it, with the
// time until the window ends, once the window holds more than lim.Max.
// The count is one statement on the store's throttle counters (the
// lockout's), so concurrent requests on several nodes all count; a refused
// event counts too, which only keeps a flood refused.
func (s *Service) allow(ctx context.Context, op, key string, lim RateLimit) error {
	if lim.Max <= 0 {
		return nil
	}
	now := s.clock()
	start := now.Truncate(lim.Window)
	t, err := s.store.AddFailure(ctx, key, now, start)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	if t.Failures <= lim.Max {
		return nil
	}
	return smsLimited(op, start.Add(lim.Window).Sub(now))
}

func smsLimited(op string, wait time.Duration) error {
	mins := int(math.Ceil(wait.Minutes()))
	e := cancuoc.E(cancuoc.TooManyRequests, op, "sms_rate_limited",
		fmt.Sprintf("Đã gửi quá nhiều mã xác thực qua SMS. Vui lòng thử lại sau %d phút.", mins),
		fmt.Sprintf("Too many codes were sent by SMS. Try again in %d minutes.", mins))
	e.RetryAfter = wait
	return e
}

// allowSMS applies the per-source limit and then the per-recipient limits
// (a phone number, a PIN) before a code is sent.
func (s *Service) allowSMS(ctx context.Context, op, source string, recipients ...[2]string) error {
	if source != "" {
		if err := s.allow(ctx, op, s.seal.limitKey("src", source), s.cfg.SMSPerSource); err != nil {
			return err
		}
	}
	for _, r := range recipients {
		if err := s.allow(ctx, op, s.seal.limitKey(r[0], r[1]), s.cfg.SMSPerPhone); err != nil {
			return err
		}
	}
	return nil
}
