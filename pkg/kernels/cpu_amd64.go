//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels. It is decided once, at start-up;
// tests flip it with disableAVX2 to run the portable path on the same
// machine.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// asmKernels reports whether this build contains the assembly kernels.
const asmKernels = true
