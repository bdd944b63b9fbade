package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/dispatch"
	"github.com/cancuoc/cancuoc/residence"
	"github.com/cancuoc/cancuoc/workflow"
)

// sweepEvery is how often a node refuses the files whose applicant did not
// resubmit a rejected step within 7 working days.
const sweepEvery = time.Minute

// startWorkflow wires the interlinked procedures: the service, the handler
// that advances files on each completed step (a durable consumer, so any
// node or a NATS consumer may run it), and the periodic refusal of files
// not resubmitted within 7 working days of a rejection. It needs the events (startEvents) first.
// The police steps are the residence capability's.
func (a *app) startWorkflow(ctx context.Context, log *slog.Logger) {
	a.wf = workflow.New(a.store, a.reg, residenceSteps{a.newResidence()}, a.events.Calendar,
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
				log.Warn("refusing files not resubmitted in time failed; retrying next round", "err", err)
			} else if n > 0 {
				log.Info("files refused: not resubmitted within 7 working days of a rejection", "count", n)
			}
		}
	}()
}

// residenceSteps adapts residence.Service to workflow.Residence, whose
// deregistration cause is a plain string.
type residenceSteps struct{ *residence.Service }

func (r residenceSteps) DeregisterTx(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, pin cancuoc.PIN, cause string) error {
	return r.Service.DeregisterTx(ctx, tx, actor, pin, residence.DeregistrationCause(cause))
}
