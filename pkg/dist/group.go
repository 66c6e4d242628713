package dist

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mobileone-go/mobileone/internal/atomicfile"
)

// DefaultTimeout is how long a rank may stay silent (no heartbeat) before
// the others give up on it: torch.distributed's default collective
// timeout, 30 minutes, is for a stalled collective; a heartbeat notices a
// dead process far sooner, so a few minutes leave room for a slow shared
// file system (NFS caches attributes for up to a minute).
const DefaultTimeout = 5 * time.Minute

// SharedDir is the folder a run's ranks meet in:
// <workDir>/.dist_test/<run id> (mmengine makes its collect folder under
// .dist_test too). The run id keeps concurrent runs of one work dir apart;
// without one from the launcher it is "default".
func SharedDir(workDir string, env Env) string {
	id := env.RunID
	if id == "" {
		id = "default"
	}
	return filepath.Join(workDir, ".dist_test", sanitize(id))
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r == ':' {
			return '_'
		}
		return r
	}, s)
}

// Group is this process's membership of a run: the ranks meet in a
// shared folder, which holds
//
//	session                 rank 0's session id (written last at start)
//	<id>/alive_<rank>       each rank's heartbeat, a counter
//	<id>/<name>/part_<rank>.pkl   Gather's parts (collect_results_cpu's layout)
//	<id>/<name>.pkl         Broadcast's payload
//	<id>/error_<rank>       why a rank failed
//	<id>/done_<rank>        a rank ≠ 0 is finished
//
// Rank 0 clears the folder when it joins and removes it when every rank
// is done. A failed run leaves it for inspection; the next run clears it.
type Group struct {
	Env     Env
	Dir     string        // the shared folder (SharedDir)
	Timeout time.Duration // how long a silent rank is waited for

	session string // <Dir>/<id>
	poll    time.Duration
	beat    time.Duration

	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   chan struct{}
	wg     sync.WaitGroup
	closed bool
}

// RankError is the failure of another rank, as it reported it.
type RankError struct {
	Rank int
	Msg  string
}

func (e *RankError) Error() string { return fmt.Sprintf("dist: rank %d failed: %s", e.Rank, e.Msg) }

// TimeoutError is a rank (or the session of rank 0) not heard from within
// the timeout: the process died, hangs, or does not share the folder.
type TimeoutError struct {
	Rank    int
	What    string
	Timeout time.Duration
	Dir     string
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("dist: %s from rank %d within %s (--dist-timeout): it died, hangs, or %s is not a folder all ranks share", e.What, e.Rank, e.Timeout, e.Dir)
}

type sessionInfo struct {
	ID        string `json:"id"`
	WorldSize int    `json:"world_size"`
}

// Join enters the run of env in dir and starts this rank's heartbeat.
// Rank 0 clears what a previous run left and opens a new session; the
// other ranks wait (up to timeout) until they see a live session of rank
// 0. The returned group's Context is cancelled when another rank fails or
// falls silent; run the work under it. Call Close when done.
func Join(ctx context.Context, env Env, dir string, timeout time.Duration) (*Group, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	g := &Group{Env: env, Dir: dir, Timeout: timeout, stop: make(chan struct{})}
	g.beat = min(max(timeout/10, 100*time.Millisecond), time.Second)
	g.poll = min(g.beat/2, 50*time.Millisecond)
	if env.Rank == 0 {
		if err := g.open(); err != nil {
			return nil, err
		}
	} else if err := g.await(ctx); err != nil {
		return nil, err
	}
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	g.wg.Add(1)
	go g.monitor()
	return g, nil
}

// open is rank 0's start: a fresh folder with its heartbeat, then the
// session file that the others wait for.
func (g *Group) open() error {
	if err := os.RemoveAll(g.Dir); err != nil {
		return fmt.Errorf("dist: clearing the shared folder: %w", err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	g.session = filepath.Join(g.Dir, id)
	if err := os.MkdirAll(g.session, 0o755); err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	if err := g.heartbeat(1); err != nil {
		return err
	}
	data, _ := json.Marshal(sessionInfo{ID: id, WorldSize: g.Env.WorldSize})
	if err := atomicfile.WriteFile(filepath.Join(g.Dir, "session"), data); err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	return nil
}

// await is the start of ranks ≠ 0: wait for a session whose rank 0 is
// alive (its heartbeat changes). A session left by a killed run has a
// still heartbeat and is cleared by the new rank 0, after which the new
// session is read.
func (g *Group) await(ctx context.Context) error {
	start := time.Now()
	var cur sessionInfo
	var beat0 string
	for {
		data, err := os.ReadFile(filepath.Join(g.Dir, "session"))
		var s sessionInfo
		if err == nil && json.Unmarshal(data, &s) == nil && s.ID != "" {
			if s != cur {
				cur, beat0 = s, ""
				start = time.Now()
			}
			b, err := os.ReadFile(filepath.Join(g.Dir, s.ID, "alive_0"))
			if err == nil {
				if beat0 == "" {
					beat0 = string(b)
				} else if string(b) != beat0 {
					if s.WorldSize != g.Env.WorldSize {
						return fmt.Errorf("dist: rank 0 runs with world size %d, this rank with %d", s.WorldSize, g.Env.WorldSize)
					}
					g.session = filepath.Join(g.Dir, s.ID)
					return g.heartbeat(1)
				}
			}
		}
		if time.Since(start) > g.Timeout {
			return &TimeoutError{Rank: 0, What: "no live session in " + g.Dir, Timeout: g.Timeout, Dir: g.Dir}
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(g.poll):
		}
	}
}

func (g *Group) heartbeat(seq int) error {
	err := atomicfile.WriteFile(filepath.Join(g.session, "alive_"+strconv.Itoa(g.Env.Rank)), []byte(strconv.Itoa(seq)))
	if err != nil {
		return fmt.Errorf("dist: writing the heartbeat: %w", err)
	}
	return nil
}

// Context is cancelled, with a *RankError or *TimeoutError as its cause,
// when another rank fails or falls silent.
func (g *Group) Context() context.Context { return g.ctx }

// monitor beats and watches: rank 0 watches every rank, the others watch
// rank 0 (which reports any other rank's failure).
func (g *Group) monitor() {
	defer g.wg.Done()
	type seen struct {
		beat    string
		changed time.Time
	}
	peers := map[int]*seen{}
	now := time.Now()
	for r := 0; r < g.Env.WorldSize; r++ {
		if r != g.Env.Rank && (g.Env.Rank == 0 || r == 0) {
			peers[r] = &seen{changed: now}
		}
	}
	t := time.NewTicker(g.beat)
	defer t.Stop()
	for seq := 2; ; seq++ {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		if err := g.heartbeat(seq); err != nil {
			g.cancel(err)
			return
		}
		if err := g.failure(); err != nil {
			g.cancel(err)
			return
		}
		now := time.Now()
		for r, p := range peers {
			if g.exists("done_" + strconv.Itoa(r)) {
				delete(peers, r)
				continue
			}
			b, _ := os.ReadFile(filepath.Join(g.session, "alive_"+strconv.Itoa(r)))
			if string(b) != p.beat {
				p.beat, p.changed = string(b), now
			} else if now.Sub(p.changed) > g.Timeout {
				g.cancel(&TimeoutError{Rank: r, What: "no heartbeat", Timeout: g.Timeout, Dir: g.Dir})
				return
			}
		}
	}
}

// failure returns the first failure another rank reported.
func (g *Group) failure() error {
	entries, err := os.ReadDir(g.session)
	if err != nil {
		return fmt.Errorf("dist: the shared folder %s: %w (removed by another run?)", g.session, err)
	}
	for _, e := range entries {
		rs, ok := strings.CutPrefix(e.Name(), "error_")
		if !ok || rs == strconv.Itoa(g.Env.Rank) {
			continue
		}
		r, err := strconv.Atoi(rs)
		if err != nil {
			continue
		}
		msg, _ := os.ReadFile(filepath.Join(g.session, e.Name()))
		return &RankError{Rank: r, Msg: string(msg)}
	}
	return nil
}

func (g *Group) exists(name string) bool {
	_, err := os.Stat(filepath.Join(g.session, name))
	return err == nil
}

// wait polls for the file name in the session until it exists or the
// group's context ends.
func (g *Group) wait(name string) ([]byte, error) {
	path := filepath.Join(g.session, name)
	for {
		data, err := os.ReadFile(path)
		if err == nil {
			return data, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("dist: %w", err)
		}
		select {
		case <-g.ctx.Done():
			return nil, context.Cause(g.ctx)
		case <-time.After(g.poll):
		}
	}
}

// Gatherer is the exchange of a run's results across processes (a
// *Group; a fake in tests): every rank hands in its part, rank 0 gets
// them all in rank order.
type Gatherer interface {
	Gather(name string, part []byte) ([][]byte, error)
}

// Gather is collect_results_cpu's exchange: every rank writes its part to
// <name>/part_<rank>.pkl; rank 0 waits for all of them and returns them
// in rank order, the other ranks return nil at once.
func (g *Group) Gather(name string, part []byte) ([][]byte, error) {
	dir := filepath.Join(g.session, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dist: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, fmt.Sprintf("part_%d.pkl", g.Env.Rank)), part); err != nil {
		return nil, fmt.Errorf("dist: %w", err)
	}
	if g.Env.Rank != 0 {
		return nil, nil
	}
	parts := make([][]byte, g.Env.WorldSize)
	for r := range parts {
		var err error
		if parts[r], err = g.wait(filepath.Join(name, fmt.Sprintf("part_%d.pkl", r))); err != nil {
			return nil, err
		}
	}
	return parts, nil
}

// Broadcast sends rank 0's data to every rank (broadcast_object_list):
// rank 0 writes <name>.pkl and returns data, the others wait for it.
func (g *Group) Broadcast(name string, data []byte) ([]byte, error) {
	if g.Env.Rank == 0 {
		if err := atomicfile.WriteFile(filepath.Join(g.session, name+".pkl"), data); err != nil {
			return nil, fmt.Errorf("dist: %w", err)
		}
		return data, nil
	}
	return g.wait(name + ".pkl")
}

// Close ends this rank's part. With a non-nil err (this rank failed) the
// failure is written for the others to see and the folder is left as it
// is. Otherwise a rank ≠ 0 reports it is done, and rank 0 waits until
// every rank is done (or silent past the timeout) and removes the folder.
// Close returns an error only when rank 0 could not clean up.
func (g *Group) Close(err error) error {
	if g.closed {
		return nil
	}
	g.closed = true
	if err != nil {
		var re *RankError
		if !errors.As(err, &re) {
			_ = atomicfile.WriteFile(filepath.Join(g.session, "error_"+strconv.Itoa(g.Env.Rank)), []byte(err.Error()))
		}
		g.halt()
		return nil
	}
	if g.Env.Rank != 0 {
		g.halt()
		return atomicfile.WriteFile(filepath.Join(g.session, "done_"+strconv.Itoa(g.Env.Rank)), nil)
	}
	// Rank 0 keeps beating and watching while the others finish.
	for r := 1; r < g.Env.WorldSize; r++ {
		if _, err := g.wait("done_" + strconv.Itoa(r)); err != nil {
			g.halt()
			return fmt.Errorf("dist: the results are complete, but rank %d did not finish: %w", r, err)
		}
	}
	g.halt()
	if err := os.RemoveAll(g.Dir); err != nil {
		return fmt.Errorf("dist: removing the shared folder: %w", err)
	}
	_ = os.Remove(filepath.Dir(g.Dir)) // .dist_test, when no other run uses it
	return nil
}

func (g *Group) halt() {
	close(g.stop)
	g.wg.Wait()
	g.cancel(context.Canceled)
}

// Failure returns the cause of ctx's end when it is another rank's failure
// or silence (a *RankError or *TimeoutError from a Group's Context), and
// nil otherwise (e.g. an interrupt).
func Failure(ctx context.Context) error {
	cause := context.Cause(ctx)
	var re *RankError
	var te *TimeoutError
	if errors.As(cause, &re) || errors.As(cause, &te) {
		return cause
	}
	return nil
}
