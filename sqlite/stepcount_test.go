package sqlite

import (
	"testing"

	"github.com/cancuoc/cancuoc/storetest"
)

func TestStepCount(t *testing.T) { storetest.RunStepCount(t, openMemory) }
