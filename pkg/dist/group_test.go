package dist

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// joinAll joins world ranks in goroutines (rank 0 last, after delay) and
// returns their groups in rank order.
func joinAll(t *testing.T, dir string, world int, timeout, delay time.Duration) []*Group {
	t.Helper()
	groups := make([]*Group, world)
	errs := make([]error, world)
	var wg sync.WaitGroup
	for r := world - 1; r >= 0; r-- {
		if r == 0 {
			time.Sleep(delay)
		}
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			groups[r], errs[r] = Join(context.Background(), Env{Launcher: "pytorch", Rank: r, WorldSize: world}, dir, timeout)
		}(r)
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	return groups
}

func TestGroupGatherBroadcast(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".dist_test", "default")
	const world = 3
	groups := joinAll(t, dir, world, 5*time.Second, 0)
	var wg sync.WaitGroup
	got := make([]string, world)
	errs := make([]error, world)
	for r, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts, err := g.Gather("results", []byte(fmt.Sprintf("part of %d", r)))
			if err != nil {
				errs[r] = err
				return
			}
			var msg []byte
			if r == 0 {
				if len(parts) != world {
					errs[r] = fmt.Errorf("%d parts", len(parts))
					return
				}
				for i, p := range parts {
					if string(p) != fmt.Sprintf("part of %d", i) {
						errs[r] = fmt.Errorf("part %d = %q", i, p)
						return
					}
				}
				msg = []byte("metrics")
			} else if parts != nil {
				errs[r] = fmt.Errorf("rank %d got parts", r)
				return
			}
			b, err := g.Broadcast("metrics", msg)
			got[r] = string(b)
			errs[r] = errors.Join(err, g.Close(nil))
		}()
	}
	wg.Wait()
	for r := range groups {
		if errs[r] != nil {
			t.Fatalf("rank %d: %v", r, errs[r])
		}
		if got[r] != "metrics" {
			t.Errorf("rank %d received %q", r, got[r])
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the shared folder is left after success: %v", err)
	}
}

// A rank that dies (its heartbeat stops, no part) stops rank 0 within
// the timeout with a TimeoutError naming it, and rank 0's failure reaches
// the surviving rank.
func TestGroupDeadRank(t *testing.T) {
	dir := t.TempDir()
	const timeout = 600 * time.Millisecond
	groups := joinAll(t, dir, 3, timeout, 0)
	groups[2].halt() // killed: no error file, no done file, no heartbeat
	start := time.Now()
	if _, err := groups[1].Gather("results", []byte("1")); err != nil {
		t.Fatal(err)
	}
	_, err := groups[0].Gather("results", []byte("0"))
	var te *TimeoutError
	if !errors.As(err, &te) || te.Rank != 2 {
		t.Fatalf("rank 0: got %v, want a TimeoutError for rank 2", err)
	}
	if d := time.Since(start); d > 3*timeout {
		t.Errorf("rank 0 noticed after %s (timeout %s)", d, timeout)
	}
	groups[0].Close(err)
	_, err = groups[1].Broadcast("metrics", nil)
	var re *RankError
	if !errors.As(err, &re) || re.Rank != 0 {
		t.Fatalf("rank 1: got %v, want rank 0's failure", err)
	}
	groups[1].Close(err)
	if _, err := os.Stat(filepath.Join(groups[0].session, "error_0")); err != nil {
		t.Errorf("rank 0's failure is not in the folder: %v", err)
	}
}

// A rank that fails says so, and the others stop at once rather than at
// the timeout.
func TestGroupFailureStopsOthers(t *testing.T) {
	groups := joinAll(t, t.TempDir(), 2, time.Minute, 0)
	start := time.Now()
	groups[1].Close(errors.New("bad image x.jpg"))
	_, err := groups[0].Gather("results", nil)
	var re *RankError
	if !errors.As(err, &re) || re.Rank != 1 || re.Msg != "bad image x.jpg" {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
	if ctxErr := context.Cause(groups[0].Context()); !errors.As(ctxErr, &re) {
		t.Errorf("context cause %v", ctxErr)
	}
	groups[0].Close(err)
}

// A folder left by a killed run (a session whose rank 0 is silent) is not
// joined: the ranks wait for the new rank 0, even when it starts last.
func TestGroupStaleSession(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "deadbeef")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(stale, "alive_0"), []byte("7"), 0o644)
	os.WriteFile(filepath.Join(dir, "session"), []byte(`{"id":"deadbeef","world_size":2}`), 0o644)
	groups := joinAll(t, dir, 2, 5*time.Second, 500*time.Millisecond)
	if groups[0].session != groups[1].session || groups[1].session == stale {
		t.Fatalf("rank 1 joined %s, rank 0 opened %s", groups[1].session, groups[0].session)
	}
	for _, g := range groups[1:] {
		g.Close(nil)
	}
	if err := groups[0].Close(nil); err != nil {
		t.Fatal(err)
	}
}

// Without rank 0 (or a folder that is not shared) the others stop.
func TestGroupNoRankZero(t *testing.T) {
	start := time.Now()
	_, err := Join(context.Background(), Env{Rank: 1, WorldSize: 2}, t.TempDir(), 300*time.Millisecond)
	var te *TimeoutError
	if !errors.As(err, &te) || te.Rank != 0 {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestGroupWorldSizeMismatch(t *testing.T) {
	dir := t.TempDir()
	g0, err := Join(context.Background(), Env{Rank: 0, WorldSize: 2}, dir, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer g0.Close(errors.New("test over"))
	if _, err := Join(context.Background(), Env{Rank: 1, WorldSize: 3}, dir, 2*time.Second); err == nil {
		t.Fatal("world size 3 joined a session of 2")
	}
}
