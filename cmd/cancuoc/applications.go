package main

import (
	"flag"
	"strconv"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/application"
)

// applicationsConfig holds the time limits of online applications that
// the law leaves to the operator.
type applicationsConfig struct {
	CorrectionDays int // CANCUOC_APP_CORRECTION_DAYS
	Level2Days     int // CANCUOC_APP_LEVEL2_DAYS
}

// bindApplicationsConfig registers the applications' flags on fs.
func bindApplicationsConfig(fs *flag.FlagSet, getenv func(string) string) *applicationsConfig {
	d := application.DefaultConfig()
	ac := &applicationsConfig{}
	num := func(env string, def int) int {
		if n, err := strconv.Atoi(getenv(env)); err == nil && n >= 0 {
			return n
		}
		return def
	}
	fs.IntVar(&ac.CorrectionDays, "app-correction-days", num("CANCUOC_APP_CORRECTION_DAYS", d.Limits[cancuoc.AppCorrection]),
		"working days to decide a citizen's correction request (no legal limit; 7 by default)")
	fs.IntVar(&ac.Level2Days, "app-level2-days", num("CANCUOC_APP_LEVEL2_DAYS", d.Limits[cancuoc.AppEIDLevel2]),
		"working days to decide an eID level-2 request (Decree 69/2024: 3 with a valid card, 7 without)")
	return ac
}

// startApplications wires the online applications over the registry,
// residence and eID (which must be started), with due dates in the
// events' working-day calendar, and registers their dashboard measures.
func (a *app) startApplications(ac *applicationsConfig) {
	if a.eid == nil || a.events == nil {
		return
	}
	cfg := application.DefaultConfig()
	cfg.Limits[cancuoc.AppCorrection] = ac.CorrectionDays
	cfg.Limits[cancuoc.AppEIDLevel2] = ac.Level2Days
	a.apps = application.New(a.reg, a.newResidence(), a.eid, a.audit, a.events.Calendar, cfg)
	application.Register(a.newStats(), a.store, nil)
}
