package cancuoc

import (
	"context"
	"time"
)

// ConsumerStore keeps the cursors of durable event consumers: for each
// consumer, by name, the Seq of the last outbox event it has handled (or
// relayed). A consumer resumes after its cursor, so a cursor is advanced
// only once everything up to it is done, and events are delivered at least
// once.
type ConsumerStore interface {
	// Cursor returns the consumer's cursor: 0 when it has none yet, so a
	// new consumer starts from the first event.
	Cursor(ctx context.Context, name string) (int64, error)
	// AdvanceCursor moves the consumer's cursor forward to seq, creating it
	// if needed. A seq at or below the stored cursor changes nothing: two
	// nodes running the same consumer never move it back.
	AdvanceCursor(ctx context.Context, name string, seq int64) error
	// ResetCursor sets the consumer's cursor to seq even if that is
	// backwards, for operators who replay events. Invalid if seq < 0.
	ResetCursor(ctx context.Context, name string, seq int64) error
	// Cursors lists every consumer's cursor, by name.
	Cursors(ctx context.Context) ([]Cursor, error)
}

// Cursor is a consumer's position in the outbox.
type Cursor struct {
	Name      string    `json:"name"`
	Seq       int64     `json:"seq"`
	UpdatedAt time.Time `json:"updated_at"`
}
