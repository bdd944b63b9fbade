package main

import (
	"context"
	"flag"
	"log/slog"
	"time"

	"github.com/cancuoc/cancuoc/quality"
	"github.com/cancuoc/cancuoc/stats"
	"github.com/cancuoc/cancuoc/workflow"
)

// qualityConfig is the data-quality lists' and the dashboard's snapshots'
// part of the configuration.
type qualityConfig struct {
	Recount  time.Duration // CANCUOC_QUALITY_RECOUNT: how often suspected duplicates are found again
	Snapshot time.Duration // CANCUOC_STATS_SNAPSHOT: how often the dashboard's measures are stored for trends
}

func bindQuality(fs *flag.FlagSet, getenv func(string) string) *qualityConfig {
	qc := &qualityConfig{}
	dur := func(name string, def time.Duration) time.Duration {
		if v, err := time.ParseDuration(getenv(name)); err == nil && v > 0 {
			return v
		}
		return def
	}
	fs.DurationVar(&qc.Recount, "quality-recount", dur("CANCUOC_QUALITY_RECOUNT", 6*time.Hour),
		"how often the suspected duplicates of the officers' data-quality lists are found again (a scan of the registry; CANCUOC_QUALITY_RECOUNT)")
	fs.DurationVar(&qc.Snapshot, "stats-snapshot", dur("CANCUOC_STATS_SNAPSHOT", 24*time.Hour),
		"how often the dashboard's measures are stored to draw their trends (CANCUOC_STATS_SNAPSHOT)")
	return qc
}

// startQuality wires the officers' work lists and registers the other
// capabilities' dashboard measures (runFigures starts the background
// counts). Logs carry counts and durations only.
func (a *app) startQuality(ctx context.Context, qc *qualityConfig, log *slog.Logger) {
	a.lists = quality.New(a.store, a.audit)
	// Measures of other capabilities join the dashboard here, before the
	// first snapshot; a measure registered later appears on its own.
	for _, m := range workflow.Measures(a.store, time.Now) {
		a.newStats().Register(m)
	}
	a.newStats().Register(stats.Documents(a.store))
}

// runFigures starts the background counts: the duplicate recount, the
// dashboard's snapshots and its first national figures. serve calls it
// once the registry holds its data (after a first start's demo seed), so
// that none of them first counts an empty registry and keeps that result
// for hours (the recount and snapshots) or a minute (the figures).
func (a *app) runFigures(ctx context.Context, qc *qualityConfig, log *slog.Logger) {
	go a.lists.RunRecount(ctx, qc.Recount, func(pairs int, took time.Duration, err error) {
		if err != nil {
			log.Warn("quality: duplicate recount failed", "err", err)
			return
		}
		log.Info("quality: suspected duplicates found again", "pairs", pairs, "took", took.Round(time.Millisecond))
	})
	go a.newStats().RunSnapshots(ctx, qc.Snapshot, func(err error) {
		if err != nil {
			log.Warn("stats: snapshot incomplete", "err", err)
		}
	})
	a.newStats().Warm()
}
