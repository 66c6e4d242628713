package bufpool

import (
	"testing"

	"github.com/mobileone-go/mobileone/internal/race"
)

// TestPool: Get gives the length asked for, reuses a returned slice whose
// capacity suffices (same memory, old values kept) and allocates anew,
// zeroed, when it does not; Get and Put of a recycled slice allocate
// nothing.
func TestPool(t *testing.T) {
	var p Pool[float32]
	b := p.Get(10)
	if len(*b) != 10 || cap(*b) != 10 {
		t.Fatalf("len %d cap %d, want 10", len(*b), cap(*b))
	}
	(*b)[3] = 7
	first := &(*b)[0]
	p.Put(b)
	c := p.Get(4)
	if len(*c) != 4 {
		t.Fatalf("len %d, want 4", len(*c))
	}
	if !race.Enabled && (&(*c)[0] != first || (*c)[3] != 7) { // sync.Pool drops items at random under -race
		// sync.Pool keeps a Put item for the next Get on the same P
		// unless a GC runs in between, which this test does not cause.
		t.Fatalf("reused %v, value %v: want the returned slice cut to 4", &(*c)[0] == first, (*c)[3])
	}
	p.Put(c)
	d := p.Get(100)
	if len(*d) != 100 || (*d)[3] != 0 {
		t.Fatalf("a larger Get: len %d, value %v, want 100 new zeroed values", len(*d), (*d)[3])
	}
	p.Put(d)
	if race.Enabled {
		return // sync.Pool drops items at random under the race detector
	}
	if n := testing.AllocsPerRun(100, func() { p.Put(p.Get(50)) }); n != 0 {
		t.Errorf("%v allocations per Get and Put, want 0", n)
	}
}
