package sqlite

import (
	"testing"

	"github.com/cancuoc/cancuoc/storetest"
)

func TestStepBatch(t *testing.T) { storetest.RunStepBatch(t, openMemory) }
