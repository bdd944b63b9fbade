package cancuoc

import (
	"context"
	"time"
)

// StepCounter counts procedure steps without reading them: the officers'
// console shows on its home page how many steps wait in an officer's queue
// and how many are past their due time, and a busy queue holds thousands.
type StepCounter interface {
	// CountSteps counts the steps q selects (every field but the paging
	// ones, AfterProcedure, AfterNo and Limit, which it ignores) and, of
	// those, how many are due before dueBefore.
	CountSteps(ctx context.Context, q StepQuery, dueBefore time.Time) (total, due int, err error)
}
