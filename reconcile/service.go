package reconcile

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cancuoc/cancuoc"
)

// Service runs reconciliation jobs submitted through the API: the upload
// is streamed to a file in its directory, the job runs in the background,
// and its owner polls it and downloads the report.
//
// The callers are API-key principals with the ministry_system or
// national_admin role, and partners' systems (cancuoc.PartnerPrincipal)
// whose policy allows the reconcile operation (WithPartners; the Runner's
// Policy is then a PartnerPolicy, so their reports reveal what their policy
// allows). Each job is its owner's: another caller gets NotFound.
type Service struct {
	runner   *Runner
	partners Partners
	dir      string
	maxSize  int64
	log      *slog.Logger
	base     context.Context // the server's lifetime: jobs stop (at a checkpoint) with it
	stop     context.CancelFunc
	sem      chan struct{}
	wg       sync.WaitGroup
	keep     time.Duration
}

// DefaultKeep is how long a finished job's report is kept when the
// service is not told otherwise (WithRetention): long enough for a partner
// to download it, short enough that reports naming millions of citizens do
// not pile up on the server.
const DefaultKeep = 7 * 24 * time.Hour

// NewService returns a Service keeping uploads and reports in dir, running
// at most parallel jobs at once. Jobs stop at a checkpoint when ctx ends.
func NewService(ctx context.Context, r *Runner, dir string, maxSize int64, parallel int, log *slog.Logger) (*Service, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	base, stop := context.WithCancel(ctx)
	return &Service{runner: r, dir: dir, maxSize: maxSize, log: log, base: base, stop: stop,
		sem: make(chan struct{}, max(parallel, 1)), keep: DefaultKeep}, nil
}

// WithRetention sets how long finished jobs' reports are kept (after the
// job's last update) before Sweep deletes them.
func (s *Service) WithRetention(keep time.Duration) *Service {
	if keep > 0 {
		s.keep = keep
	}
	return s
}

// owned tells whether a path is one of this service's files: uploads and
// reports in its directory. Jobs run from the console read and write the
// operator's own files, which are never deleted.
func (s *Service) owned(path string) bool {
	return path != "" && filepath.Dir(path) == filepath.Clean(s.dir)
}

// dropInput deletes a finished job's uploaded input: once the report is
// complete the partner's data set has served its purpose.
func (s *Service) dropInput(job *cancuoc.Reconciliation) error {
	if job.Status != cancuoc.ReconDone || !s.owned(job.Input) {
		return nil
	}
	if err := os.Remove(job.Input); err != nil && !errors.Is(err, os.ErrNotExist) {
		return cancuoc.WithOp("reconcile.retention", err)
	}
	return nil
}

// expire deletes a finished job's files and seen keys and marks it
// expired.
func (s *Service) expire(ctx context.Context, job *cancuoc.Reconciliation) error {
	const op = "reconcile.retention"
	for _, p := range []string{job.Input, job.Report} {
		if !s.owned(p) {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return cancuoc.WithOp(op, err)
		}
	}
	if err := s.runner.Store.ForgetSeen(ctx, job.ID); err != nil {
		return err
	}
	job.Status, job.UpdatedAt = cancuoc.ReconExpired, s.runner.now()
	return s.runner.Store.CheckpointReconciliation(ctx, job)
}

// Sweep applies the retention rules to this service's finished jobs: the
// inputs of done jobs are deleted (also those a crash left behind), and
// the reports of jobs finished more than the retention period ago are
// deleted and the jobs marked expired. It returns how many jobs expired.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.runner.now()
	n := 0
	for {
		jobs, err := s.runner.Store.FinishedReconciliations(ctx, now, 500)
		if err != nil {
			return n, err
		}
		progressed := false
		for _, j := range jobs {
			if !s.owned(j.Report) {
				continue
			}
			if err := s.dropInput(j); err != nil {
				return n, err
			}
			if now.Sub(j.UpdatedAt) < s.keep {
				continue
			}
			if err := s.expire(ctx, j); err != nil {
				return n, err
			}
			n++
			progressed = true
		}
		if len(jobs) < 500 || !progressed {
			return n, nil
		}
	}
}

// SweepEvery runs Sweep at once and then every interval until the service
// closes; failures are logged and retried at the next round.
func (s *Service) SweepEvery(interval time.Duration) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if n, err := s.Sweep(s.base); err != nil && s.base.Err() == nil {
				s.log.Error("reconciliation retention sweep failed", "err", err)
			} else if n > 0 {
				s.log.Info("reconciliation reports expired", "jobs", n)
			}
			select {
			case <-s.base.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Delete is the owner's acknowledgement that it has the report: the job's
// report and input are deleted at once and the job marked expired. A
// running job cannot be deleted (Conflict).
func (s *Service) Delete(ctx context.Context, p *cancuoc.Principal, id string) (*cancuoc.Reconciliation, error) {
	job, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	switch job.Status {
	case cancuoc.ReconExpired:
		return job, nil
	case cancuoc.ReconRunning:
		return nil, cancuoc.E(cancuoc.Conflict, "reconcile.Delete", "reconciliation_running",
			"Phiên đối soát đang chạy; hãy chờ phiên kết thúc rồi xoá.",
			"The reconciliation is still running; wait until it finishes, then delete it.")
	}
	if err := s.expire(ctx, job); err != nil {
		return nil, err
	}
	return job, nil
}

// Close stops the running jobs at their last checkpoint and waits for them.
func (s *Service) Close() {
	s.stop()
	s.wg.Wait()
}

// WithPartners lets partners' systems run jobs, as their policies allow.
func (s *Service) WithPartners(p Partners) *Service {
	s.partners = p
	return s
}

var errRole = cancuoc.E(cancuoc.Forbidden, "reconcile.authorize", "role_forbidden",
	"Chỉ hệ thống của bộ, ngành, đối tác được phép hoặc quản trị viên quốc gia được đối soát dữ liệu hàng loạt.",
	"Only ministry systems, partners allowed to reconcile and national administrators may run bulk reconciliations.")

// authorize admits a ministry system, a national administrator, or a
// partner whose policy allows reconciliation. A partner's submission
// (counted) is charged to its quota; following a job is not.
func (s *Service) authorize(ctx context.Context, p *cancuoc.Principal, counted bool) error {
	if id, ok := cancuoc.PartnerOf(p); ok {
		if s.partners == nil {
			return errRole
		}
		if counted {
			return s.partners.Authorize(ctx, id, cancuoc.OpReconcile)
		}
		_, err := s.partners.Check(ctx, id, cancuoc.OpReconcile)
		return err
	}
	if p == nil || (p.Role != cancuoc.RoleMinistrySystem && p.Role != cancuoc.RoleNationalAdmin) {
		return errRole
	}
	return nil
}

// Submit stores an uploaded data set and starts its job. format and
// reportFmt are csv or jsonl.
func (s *Service) Submit(ctx context.Context, p *cancuoc.Principal, body io.Reader, format, reportFmt string) (*cancuoc.Reconciliation, error) {
	const op = "reconcile.Submit"
	if err := s.authorize(ctx, p, true); err != nil {
		return nil, err
	}
	if reportFmt == "" {
		reportFmt = FormatCSV
	}
	id := NewID()
	input := filepath.Join(s.dir, id+".in")
	f, err := os.OpenFile(input, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	n, err := io.Copy(f, io.LimitReader(body, s.maxSize+1))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > s.maxSize {
		err = cancuoc.InvalidField(op, "body", "reconcile_too_large", "Tệp dữ liệu vượt quá giới hạn cho phép.",
			"The data set is larger than the server accepts; split it into several jobs.")
	}
	if err != nil {
		_ = os.Remove(input)
		return nil, cancuoc.WithOp(op, err)
	}
	job, err := s.runner.Create(ctx, Spec{Owner: p.ID, Input: input, Report: filepath.Join(s.dir, id+".report"),
		Format: format, ReportFmt: reportFmt})
	if err != nil {
		_ = os.Remove(input)
		return nil, err
	}
	s.start(job.ID)
	return job, nil
}

// staleAfter is how long a running job must have gone without a
// checkpoint before a starting server takes it for abandoned.
const staleAfter = time.Minute

// Resume restarts the jobs a previous run of this server left running:
// those whose files are in this server's directory (uploads live on the
// node that received them) and that have not checkpointed for a minute,
// so a job another process is running is left alone. It returns how many
// it restarted.
func (s *Service) Resume(ctx context.Context) (int, error) {
	jobs, err := s.runner.Store.RunningReconciliations(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, j := range jobs {
		if filepath.Dir(j.Input) != filepath.Clean(s.dir) || time.Since(j.UpdatedAt) < staleAfter {
			continue
		}
		if _, err := os.Stat(j.Input); err != nil {
			continue
		}
		s.start(j.ID)
		n++
	}
	return n, nil
}

// start runs a job in the background, waiting for a free slot.
func (s *Service) start(id string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case s.sem <- struct{}{}:
		case <-s.base.Done():
			return
		}
		defer func() { <-s.sem }()
		job, err := s.runner.Run(s.base, id)
		if err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("reconciliation failed", "job", id, "err", err)
		}
		if err == nil {
			if err := s.dropInput(job); err != nil {
				s.log.Error("reconciliation input not deleted", "job", id, "err", err)
			}
		}
	}()
}

// Get returns a job of the caller's (a national administrator sees all).
func (s *Service) Get(ctx context.Context, p *cancuoc.Principal, id string) (*cancuoc.Reconciliation, error) {
	if err := s.authorize(ctx, p, false); err != nil {
		return nil, err
	}
	job, err := s.runner.Store.Reconciliation(ctx, id)
	if err != nil {
		return nil, err
	}
	if job.Owner != p.ID && p.Role != cancuoc.RoleNationalAdmin {
		// The same answer as for a job that does not exist: IDs of other
		// partners' jobs are not confirmed.
		return nil, cancuoc.E(cancuoc.NotFound, "reconcile.Get", "reconciliation_not_found",
			"Không tìm thấy phiên đối soát.", "No such reconciliation.")
	}
	return job, nil
}

// Report opens a job's report; only its first job.ReportSize bytes are
// committed (all of it once the job is done). The file is nil while the
// report is still empty.
func (s *Service) Report(ctx context.Context, p *cancuoc.Principal, id string) (*cancuoc.Reconciliation, *os.File, error) {
	job, err := s.Get(ctx, p, id)
	if err == nil && job.Status == cancuoc.ReconExpired {
		return nil, nil, cancuoc.E(cancuoc.NotFound, "reconcile.Report", "reconciliation_report_expired",
			"Báo cáo đã bị xoá (hết thời hạn lưu giữ hoặc theo yêu cầu của chủ phiên).",
			"The report was deleted (its retention period ended, or its owner deleted it).")
	}
	if err != nil || job.ReportSize == 0 {
		return job, nil, err
	}
	f, err := os.Open(job.Report)
	if err != nil {
		return nil, nil, cancuoc.WithOp("reconcile.Report", err)
	}
	return job, f, nil
}
