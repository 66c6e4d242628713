package kernels

// disableAVX2 switches the package to its portable plain-Go kernels until
// restore is called. It exists for tests and benchmarks, which run both
// paths on one machine; it must not race with running kernels.
func disableAVX2() (restore func()) {
	old := useAVX2
	useAVX2 = false
	return func() { useAVX2 = old }
}

// FastPath reports which implementation the kernels use: "avx2+fma" for the
// assembly kernels, "go" for the portable ones (non-amd64, the purego build
// tag, or a CPU without AVX2 and FMA).
func FastPath() string {
	if useAVX2 {
		return "avx2+fma"
	}
	return "go"
}
