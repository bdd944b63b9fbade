package postgres_test

import (
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

func TestStepCount(t *testing.T) {
	serverURL(t)
	t.Parallel()
	storetest.RunStepCount(t, func(t *testing.T) cancuoc.Store { return open(t) })
}
