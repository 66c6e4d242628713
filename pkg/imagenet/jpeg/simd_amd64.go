//go:build amd64 && !purego

package jpeg

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels; it is decided once, at start-up,
// from CPUID (cpu.X86.HasAVX2 includes the OS's saving of the YMM state).
var useAVX2 = cpu.X86.HasAVX2
