package cancuoc

import "context"

// LogSequencer is implemented by stores that write access-log entries and
// outbox events unsequenced and give them their places afterwards, in
// batches (PostgreSQL: no global lock is held to commit; see
// postgres/sequencer.go). Until then an entry is durable and shows in
// AuditSearch/AuditFor with ID 0 and no hash, but not in AuditSize,
// AuditRange or EventsAfter; an event is not yet delivered. Stores that
// sequence as they append (SQLite's single writer) do not implement it.
type LogSequencer interface {
	// WaitSequenced returns once every entry and event committed before
	// the call has its place (or ctx ends).
	WaitSequenced(ctx context.Context) error
	// OnSequenced registers f, called (never concurrently with itself)
	// after each batch that gave events their places: a dispatcher's
	// Notify, so consumers wake at once instead of at their next poll.
	OnSequenced(f func())
}

// WaitSequenced waits until s has sequenced everything committed before
// the call; at once for a store that sequences as it appends.
func WaitSequenced(ctx context.Context, s any) error {
	if ls, ok := s.(LogSequencer); ok {
		return ls.WaitSequenced(ctx)
	}
	return nil
}
