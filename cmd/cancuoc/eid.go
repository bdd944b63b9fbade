package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/cancuoc/cancuoc/eid"
)

// startEID wires the electronic identity service from the environment:
//
//	CANCUOC_EID_RPID           WebAuthn relying party ID (default: the host of --addr)
//	CANCUOC_EID_ORIGINS        comma-separated origins pages are served from (default http://--addr)
//	CANCUOC_SMS_WEBHOOK_URL    SMS gateway webhook; codes are POSTed there, signed
//	CANCUOC_SMS_WEBHOOK_SECRET HMAC key of the webhook (or CANCUOC_SMS_WEBHOOK_SECRET_FILE)
//	CANCUOC_EID_DEV_SMS=1      write one-time codes to the log instead (development only)
//	CANCUOC_SMS_PER_PHONE      codes per phone number (and PIN), e.g. 5/1h (default); 0 turns it off
//	CANCUOC_SMS_PER_SOURCE     codes per client address, e.g. 20/1h (default)
//	CANCUOC_ARGON2_*, CANCUOC_LOCKOUT_*  password cost and lockout (see eidSecurity)
//
// TOTP secrets are sealed under a key derived from the server secret (the
// OpenID provider's, see oidcConfig.secret).
//
// Without a gateway the development sender is used only when the server
// listens on loopback (a laptop); otherwise the eID routes answer 503, so a
// production server never logs codes by accident.
func (a *app) startEID(c *Config, oc *oidcConfig, getenv func(string) string, log *slog.Logger) error {
	cfg := eid.DefaultConfig()
	if err := eidSecurity(&cfg, getenv); err != nil {
		return err
	}
	var err error
	if cfg.Secret, err = oc.secret(c); err != nil {
		return err
	}
	for _, l := range []struct {
		env string
		dst *eid.RateLimit
	}{{"CANCUOC_SMS_PER_PHONE", &cfg.SMSPerPhone}, {"CANCUOC_SMS_PER_SOURCE", &cfg.SMSPerSource}} {
		if v := getenv(l.env); v != "" {
			if *l.dst, err = parseRateLimit(v); err != nil {
				return fmt.Errorf("%s: %w", l.env, err)
			}
		}
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		host = "localhost"
	}
	cfg.RPID = getenv("CANCUOC_EID_RPID")
	if cfg.RPID == "" {
		cfg.RPID = host
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			cfg.RPID = "localhost"
		}
	}
	cfg.RPOrigins = []string{"http://" + c.Addr}
	if o := getenv("CANCUOC_EID_ORIGINS"); o != "" {
		cfg.RPOrigins = strings.Split(o, ",")
	}
	var sender eid.Sender
	secret := getenv("CANCUOC_SMS_WEBHOOK_SECRET")
	if f := getenv("CANCUOC_SMS_WEBHOOK_SECRET_FILE"); secret == "" && f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read CANCUOC_SMS_WEBHOOK_SECRET_FILE: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	switch url := getenv("CANCUOC_SMS_WEBHOOK_URL"); {
	case url != "":
		if secret == "" {
			return fmt.Errorf("CANCUOC_SMS_WEBHOOK_URL needs CANCUOC_SMS_WEBHOOK_SECRET (or _FILE)")
		}
		sender = &eid.WebhookSender{URL: url, Secret: []byte(secret)}
		log.Info("eid: one-time codes go to the SMS webhook")
	case getenv("CANCUOC_EID_DEV_SMS") == "1" || loopback:
		sender = eid.DevSender{Log: log}
		log.Warn("eid: DEVELOPMENT SMS sender: one-time codes are written to this log, not sent")
	default:
		log.Warn("eid: no SMS gateway (CANCUOC_SMS_WEBHOOK_URL); electronic identity routes are disabled")
		return nil
	}
	s, err := eid.New(a.store, sender, cfg)
	if err != nil {
		return err
	}
	a.eid = s
	return nil
}
