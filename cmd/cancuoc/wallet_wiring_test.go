package main

import (
	"testing"

	"github.com/cancuoc/cancuoc/wallet"
	"github.com/cancuoc/cancuoc/workflow"
)

// TestWalletFollowsProcedures: the wallet's handler listens to the event
// the workflow writes, and the procedures' document kinds are wallet types.
func TestWalletFollowsProcedures(t *testing.T) {
	if wallet.EventProcedureStepCompleted != workflow.EventStepCompleted {
		t.Errorf("wallet listens to %q, the workflow writes %q", wallet.EventProcedureStepCompleted, workflow.EventStepCompleted)
	}
	for _, k := range []string{workflow.DocBirthCertificate, workflow.DocHealthCard} {
		if wallet.Types[k] == nil {
			t.Errorf("procedure document %q is no wallet type", k)
		}
	}
}
