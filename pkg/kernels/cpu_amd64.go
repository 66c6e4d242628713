//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels and useAVX512 the AVX-512 GEMM tile
// kernels among them. Both are decided once, at start-up, from CPUID (and
// the OS's saving of the ZMM state, which cpu.X86.HasAVX512F includes);
// tests flip them with disableAVX2 and disableAVX512 to run every path the
// machine has. The AVX-512 path needs VL as well as F: the column kernels
// (sgemmKernelZCol*) use masked YMM instructions, which a CPU with F alone
// (Xeon Phi) would fault on.
var (
	useAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	useAVX512 = useAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL
)

// asmKernels reports whether this build contains the assembly kernels.
const asmKernels = true
