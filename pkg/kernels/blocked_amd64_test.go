//go:build amd64 && !purego

package kernels

import "testing"

// TestBlockedKernelsCovered: on each assembly path, every group and pixel
// tile a BlockedConv built there asks for has an assembly kernel, so
// TestBlockedMatchesNCHW's exact comparison is of the assembly, not of the
// Go twins.
func TestBlockedKernelsCovered(t *testing.T) {
	if !useAVX2 {
		t.Skipf("no assembly kernels on this CPU (%s)", FastPath())
	}
	paths(t, func(t *testing.T) {
		if !useAVX2 {
			return // the go subtest: the Go twins run by design
		}
		for _, p := range blockedCases() {
			c := NewBlockedConv(make([]float32, p.WeightSize()), nil, p)
			if c.kind == blockedDW {
				continue
			}
			for _, nb := range c.groups {
				for _, np := range pwTileSizes(nb) {
					if c.kind == blockedPW && asmKernel(&pwKernels, &pwKernelsY, nb, np) == nil ||
						c.kind == blockedStem && asmKernel(&stemKernels, &stemKernelsY, nb, np) == nil {
						t.Fatalf("%s: no kernel for %d blocks × %d pixels (%+v)", FastPath(), nb, np, p)
					}
				}
			}
		}
	})
}
