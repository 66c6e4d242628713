package kernels

// disableAVX2 switches the package to its portable plain-Go kernels until
// restore is called. It exists for tests and benchmarks, which run both
// paths on one machine; it must not race with running kernels.
func disableAVX2() (restore func()) {
	old, old512 := useAVX2, useAVX512
	useAVX2, useAVX512 = false, false
	return func() { useAVX2, useAVX512 = old, old512 }
}

// disableAVX512 switches the GEMM to the AVX2 tile kernels until restore
// is called (tests and benchmarks; it must not race with running kernels).
func disableAVX512() (restore func()) {
	old := useAVX512
	useAVX512 = false
	return func() { useAVX512 = old }
}

// FastPath reports which implementation the kernels use: "avx512f" for the
// assembly kernels with the AVX-512 GEMM tiles, "avx2+fma" for the AVX2
// assembly kernels alone, "go" for the portable ones (non-amd64, the purego
// build tag, or a CPU without AVX2 and FMA).
func FastPath() string {
	if useAVX512 {
		return "avx512f"
	}
	if useAVX2 {
		return "avx2+fma"
	}
	return "go"
}
