package main

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc/dispatch"
	"github.com/cancuoc/cancuoc/partner"
)

// startMatchProjection gives the node its live in-memory match projection
// (partner.Projection): loaded in the background by one scan of the
// registry (checks read the store until it is ready) and kept current by
// the registry's events about citizens. The consumer is the node's own (named after
// its host), so in JetStream mode each node receives every event rather
// than sharing them with the other nodes.
func (a *app) startMatchProjection(ctx context.Context, log *slog.Logger) {
	proj := partner.NewProjection(a.store)
	a.verify.UseProjection(proj)
	a.matchProj = proj
	log = log.With("component", "match-projection")
	name := matchConsumer()
	go proj.LoadLoop(ctx, a.store, func(err error, took time.Duration) {
		if err != nil {
			log.Warn("loading the match projection failed; checks read the store meanwhile", "err", err, "took", took)
			return
		}
		log.Info("match projection loaded", "people", proj.Len(), "bytes", proj.Bytes(), "seq", proj.Seq(),
			"took", took.Round(time.Millisecond))
		// The consumer starts after the load's snapshot, which holds every
		// earlier event's change (a node's first start would otherwise
		// read the whole outbox). Its cursor cannot be past the snapshot:
		// it only ever reached events sequenced before it.
		if ctx.Err() != nil {
			return // stopping
		}
		if err := a.store.AdvanceCursor(ctx, name, proj.Seq()); err != nil {
			log.Warn("moving the match projection's cursor failed; it reads the older events and skips them", "err", err)
		}
		// Only the registry's events: every change to a citizen's record
		// is one (citizen.born, .updated, .married…), and the projection
		// has nothing to do with the others. In JetStream mode the
		// consumer's filter keeps them from being delivered at all (a
		// birth file makes a dozen procedure events). A batch's records
		// are read in one query.
		a.events.Subscribe(name, []string{"citizen.>"}, proj.Handle, dispatch.Concurrency(8), dispatch.PrepareBatch(proj.Prepare))
	})
}

// matchConsumer is this node's consumer name: partner-match- and the host
// name, cut to the characters and length a consumer name allows.
func matchConsumer() string {
	host, _ := os.Hostname()
	var b strings.Builder
	b.WriteString("partner-match-")
	for _, r := range strings.ToLower(host) {
		if b.Len() == 64 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}
