package kernels

import (
	"testing"
	"time"
)

// TestWakeRousesParkedWorkers: a worker parked after spinFor without work
// polls again after Wake, and Wake never blocks, not even when called far
// more often than a worker's mailbox holds; split work still runs right
// after.
func TestWakeRousesParkedWorkers(t *testing.T) {
	defer SetThreads(SetThreads(2))
	var hits [2]int
	split := func() {
		hits = [2]int{}
		runParallel(&funcTask{n: 2, parts: 2, fn: func(lo, hi int) { hits[lo]++ }}, 2)
	}
	split() // the worker has run and spins
	w := startWorkers(1)[0]
	deadline := time.Now().Add(5 * time.Second)
	for w.spinning.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the worker never parked")
		}
		time.Sleep(spinFor)
	}
	done := make(chan struct{})
	go func() {
		for i := 0; i < 10*cap(w.mail); i++ {
			Wake()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Wake blocked")
	}
	for !w.spinning.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the worker did not wake")
		}
		time.Sleep(10 * time.Microsecond)
	}
	split()
	if hits != [2]int{1, 1} {
		t.Errorf("parts run %v times after Wake, want once each", hits)
	}
}
