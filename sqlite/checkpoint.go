package sqlite

import (
	"database/sql"
	"time"

	msqlite "modernc.org/sqlite"
)

// Checkpoints off the writer. In WAL mode each commit appends its pages to
// the WAL, and by default the commit that takes the WAL past 1000 pages
// also copies them back into the database file (an automatic checkpoint),
// in the single writer's time: it was a third of the cost of commits, and
// a tenth of the writer's work, under a steady load of procedures. The
// writer's connection has automatic checkpoints off, and a connection of
// its own runs a PASSIVE checkpoint every checkpointEvery, in parallel
// with the writer. PASSIVE is what the automatic checkpoint does: it
// copies what no reader still needs, never waits for the writer or the
// readers, and leaves durability as it was (a commit is durable in the
// WAL; a crash replays the WAL on the next open).

// checkpointEvery is how often the WAL is copied back: short enough that
// the WAL stays small (a few thousand pages at hundreds of procedures per
// second), long enough that an idle database costs nothing noticeable.
const checkpointEvery = 100 * time.Millisecond

// checkpointer runs the periodic checkpoints of a file database.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
}

// startCheckpointer opens a connection with dsn and checkpoints through it
// until stopped.
func startCheckpointer(dsn string) (*checkpointer, error) {
	c, err := msqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	cp := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go cp.run()
	return cp, nil
}

func (cp *checkpointer) run() {
	defer close(cp.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-cp.stop:
			return
		case <-t.C:
		}
		// A failure (the database busy with a long transaction) is retried
		// at the next tick; nothing depends on one checkpoint.
		_, _ = cp.db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
	}
}

// close stops the checkpoints and closes the connection.
func (cp *checkpointer) close() error {
	if cp == nil {
		return nil
	}
	close(cp.stop)
	<-cp.done
	return cp.db.Close()
}
