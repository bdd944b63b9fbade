package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc/eid"
)

// parseRateLimit reads a limit written "MAX/WINDOW", e.g. "5/1h" or
// "20/30m"; "0" (or "off") disables the limit.
func parseRateLimit(s string) (eid.RateLimit, error) {
	s = strings.TrimSpace(s)
	if s == "0" || s == "off" {
		return eid.RateLimit{}, nil
	}
	bad := fmt.Errorf("the limit %q must read COUNT/WINDOW, e.g. 5/1h (5 per hour, window 1s to 744h), or 0 to turn it off", s)
	n, w, ok := strings.Cut(s, "/")
	if !ok {
		return eid.RateLimit{}, bad
	}
	max, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || max < 0 || max > 1_000_000 {
		return eid.RateLimit{}, bad
	}
	win, err := time.ParseDuration(strings.TrimSpace(w))
	if err != nil || win < time.Second || win > 31*24*time.Hour {
		return eid.RateLimit{}, bad
	}
	return eid.RateLimit{Max: max, Window: win}, nil
}
