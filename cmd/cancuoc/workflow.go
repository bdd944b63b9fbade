package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/cancuoc/cancuoc/dispatch"
	"github.com/cancuoc/cancuoc/workflow"
	"github.com/cancuoc/cancuoc/workflow/wftest"
)

// sweepEvery is how often a node refuses the files past their deadline.
const sweepEvery = time.Minute

// startWorkflow wires the interlinked procedures: the service, the handler
// that advances files on each completed step (a durable consumer, so any
// node or a NATS consumer may run it), and the periodic refusal of files
// past their 7 working days. It needs the events (startEvents) first.
//
// Residence registration is the minimal one of package wftest until the
// residence capability is merged; it then replaces it here through a small
// adapter, since its DeregisterTx takes a residence.DeregistrationCause
// where workflow.Residence passes a string ("death").
func (a *app) startWorkflow(ctx context.Context, log *slog.Logger) {
	a.wf = workflow.New(a.store, a.reg, wftest.Residence{}, a.events.Calendar,
		workflow.WithNotify(a.events.Notify), workflow.WithAuditWriter(a.audit))
	a.events.Subscribe(workflow.ConsumerName, []string{workflow.EventStepCompleted}, a.wf.HandleEvent, dispatch.Concurrency(16))
	go func() {
		t := time.NewTicker(sweepEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if n, err := a.wf.Sweep(ctx); err != nil {
				log.Warn("refusing files past their deadline failed; retrying next round", "err", err)
			} else if n > 0 {
				log.Info("files refused after 7 working days", "count", n)
			}
		}
	}()
}
