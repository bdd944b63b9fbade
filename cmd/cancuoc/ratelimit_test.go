package main

import (
	"testing"
	"time"

	"github.com/cancuoc/cancuoc/eid"
)

func TestParseRateLimit(t *testing.T) {
	for in, want := range map[string]eid.RateLimit{"5/1h": {Max: 5, Window: time.Hour}, " 20 / 30m ": {Max: 20, Window: 30 * time.Minute}, "0": {}, "off": {}} {
		if got, err := parseRateLimit(in); err != nil || got != want {
			t.Errorf("parseRateLimit(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "5", "5/", "/1h", "-1/1h", "5/0s", "5/1x", "x/1h", "5/100000h"} {
		if _, err := parseRateLimit(in); err == nil {
			t.Errorf("parseRateLimit(%q) accepted", in)
		}
	}
}

func FuzzParseRateLimit(f *testing.F) {
	for _, s := range []string{"5/1h", "0", "off", "20/30m", "1/1s", "x", "5/-1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseRateLimit(s)
		if err == nil && (l.Max < 0 || (l.Max > 0 && l.Window < time.Second)) {
			t.Fatalf("%q gave %v", s, l)
		}
	})
}
