package postgres_test

import (
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

func TestStepBatch(t *testing.T) {
	serverURL(t)
	t.Parallel()
	storetest.RunStepBatch(t, func(t *testing.T) cancuoc.Store { return open(t) })
}
