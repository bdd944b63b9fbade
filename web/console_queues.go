package web

import (
	"context"
	"net/http"

	"github.com/cancuoc/cancuoc"
)

// WorkQueue is one of the officers' work queues, summarised on the console
// home with its open and overdue counts and a link to its page. Each
// capability that gives officers work adds its own with WithWorkQueue:
// the interlinked procedures' steps (added by WithConsole when the
// workflow is wired), citizens' applications, corrections…
type WorkQueue struct {
	ID     string // stable HTML id, e.g. "procedures"
	Path   string // the queue's page, e.g. /console/procedures
	VI, EN string // its name
	// Count answers how many items wait for officer p and how many of them
	// are overdue; ok is false when p has no such queue (the home page then
	// leaves it out). Counting must apply the same rights as the queue page.
	Count func(ctx context.Context, p *cancuoc.Principal) (c QueueCount, ok bool, err error)
}

// QueueCount is a queue's summary for one officer.
type QueueCount struct {
	Open, Overdue int
	// More is true when there are more open items than were counted.
	More bool
}

// WithWorkQueue adds a work queue to the console home.
func (s *Site) WithWorkQueue(q WorkQueue) *Site {
	s.queues = append(s.queues, q)
	return s
}

// queueSummary is a queue as the home page shows it.
type queueSummary struct {
	WorkQueue
	QueueCount
	Failed bool // the count could not be read (logged); shown as a dash
}

// queueSummaries counts every queue p has. A failing count does not take
// the home page down: it is logged (route and error only) and shown as
// unavailable.
func (s *Site) queueSummaries(r *http.Request, p *cancuoc.Principal) []queueSummary {
	var out []queueSummary
	for _, q := range s.queues {
		c, ok, err := q.Count(r.Context(), p)
		if err != nil {
			s.log.Error("console queue count", "queue", q.ID, "err", err)
			out = append(out, queueSummary{WorkQueue: q, Failed: true})
			continue
		}
		if ok {
			out = append(out, queueSummary{WorkQueue: q, QueueCount: c})
		}
	}
	return out
}
