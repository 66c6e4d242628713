package kernels

import (
	"fmt"
	"math/rand"
	"testing"
)

// s0 deploy pointwise shapes at 224×224 (M=Cout, N=H·W, K=Cin) and the
// training GEMMs of the stage-2 layer.
var gemmBenchShapes = []struct {
	name string
	p    GemmParams
}{
	{"s0-stage1-pw-48x3136x48", GemmParams{M: 48, N: 3136, K: 48}},
	{"s0-stage2-pw-128x784x128", GemmParams{M: 128, N: 784, K: 128}},
	{"s0-stage3-pw-256x196x256", GemmParams{M: 256, N: 196, K: 256}},
	{"s0-stage4-pw-1024x49x256", GemmParams{M: 1024, N: 49, K: 256}},
	{"s0-stem-im2col-48x12544x27", GemmParams{M: 48, N: 12544, K: 27}},
	{"s0-stage2-dX-WT-128x784x128", GemmParams{M: 128, N: 784, K: 128, TransA: true}},
	{"s0-stage2-dW-YXT-128x128x784", GemmParams{M: 128, N: 128, K: 784, TransB: true, Accumulate: true}},
	{"s0-stage3-dW-YXT-256x256x196", GemmParams{M: 256, N: 256, K: 196, TransB: true, Accumulate: true}},
}

func benchPaths(b *testing.B, fn func(b *testing.B)) {
	b.Run("ref", func(b *testing.B) {
		defer disableAVX2()()
		fn(b)
	})
	if useAVX2 {
		b.Run("avx2", func(b *testing.B) {
			defer disableAVX512()()
			fn(b)
		})
	}
	if useAVX512 {
		b.Run("avx512", fn)
	}
}

func reportGFLOPS(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	for _, th := range []int{1, 2} {
		for _, s := range gemmBenchShapes {
			p := s.p
			a, bb, c := randSlice(r, p.M*p.K), randSlice(r, p.K*p.N), randSlice(r, p.M*p.N)
			b.Run(fmt.Sprintf("%s/t%d", s.name, th), func(b *testing.B) {
				benchPaths(b, func(b *testing.B) {
					defer SetThreads(SetThreads(th))
					b.SetBytes(int64(4 * (p.M*p.K + p.K*p.N + p.M*p.N)))
					b.ReportAllocs()
					for b.Loop() {
						Gemm(c, a, bb, p)
					}
					reportGFLOPS(b, 2*float64(p.M*p.N*p.K))
				})
			})
		}
	}
}

// BenchmarkMicroKernel times the tile kernels alone on L1-resident panels
// (k = 256): the AVX2 6×16 kernel and the AVX-512 18×16 one, the ceiling
// the driver can reach under the machine's current load. On a Zen 5 core
// (full 512-bit FMA datapath) the AVX-512 tile runs at ~1.8× the AVX2 one;
// on Zen 4, which splits 512-bit FMAs, expect a tie.
func BenchmarkMicroKernel(b *testing.B) {
	if !useAVX2 {
		b.Skip("no AVX2+FMA kernels in this build or on this CPU")
	}
	r := rand.New(rand.NewSource(1))
	const k = 256
	a, bb, c := randSlice(r, 18*k), randSlice(r, 16*k), make([]float32, 18*16)
	b.Run("avx2-6x16", func(b *testing.B) {
		for b.Loop() {
			sgemmKernel6x16(k, &a[0], &bb[0], 16, &c[0], 16, &zeroBias[0], 0)
		}
		reportGFLOPS(b, 2*6*16*k)
	})
	if useAVX512 {
		b.Run("avx512-18x16", func(b *testing.B) {
			for b.Loop() {
				sgemmKernelZ18x16(k, &a[0], 6*k, &bb[0], 16, &c[0], 16, &zeroBias[0], 0, 18, 0xffff)
			}
			reportGFLOPS(b, 2*18*16*k)
		})
	}
}

func BenchmarkConv(b *testing.B) {
	r := rand.New(rand.NewSource(2))
	for _, th := range []int{1, 2} {
		for _, c := range s0Convs {
			p := c.p
			x, w, bias := randSlice(r, p.InSize()), randSlice(r, p.WeightSize()), randSlice(r, p.OutC)
			out := make([]float32, p.OutSize())
			b.Run(fmt.Sprintf("%s/t%d", c.name, th), func(b *testing.B) {
				benchPaths(b, func(b *testing.B) {
					defer SetThreads(SetThreads(th))
					b.SetBytes(int64(4 * (p.InSize() + p.OutSize())))
					b.ReportAllocs()
					for b.Loop() {
						Conv2D(out, x, w, bias, p, ActReLU)
					}
					reportGFLOPS(b, 2*float64(p.MACs()))
				})
				if useAVX2 {
					pc := NewPackedConv(w, bias, p)
					b.Run("packed", func(b *testing.B) {
						defer SetThreads(SetThreads(th))
						b.SetBytes(int64(4 * (p.InSize() + p.OutSize())))
						b.ReportAllocs()
						for b.Loop() {
							pc.Forward(out, x, ActReLU)
						}
						reportGFLOPS(b, 2*float64(p.MACs()))
					})
				}
			})
		}
	}
}

// BenchmarkBlockedConv times s0's convs on blocked activations
// (BlockedConv), next to BenchmarkConv's packed NCHW ones.
func BenchmarkBlockedConv(b *testing.B) {
	r := rand.New(rand.NewSource(2))
	for _, th := range []int{1, 2} {
		for _, c := range s0Convs {
			p := c.p
			if !BlockedSupported(p) {
				continue
			}
			x, w, bias := randSlice(r, p.InSize()), randSlice(r, p.WeightSize()), randSlice(r, p.OutC)
			out := make([]float32, p.OutSize())
			bc := NewBlockedConv(w, bias, p)
			b.Run(fmt.Sprintf("%s/t%d", c.name, th), func(b *testing.B) {
				defer SetThreads(SetThreads(th))
				b.SetBytes(int64(4 * (p.InSize() + p.OutSize())))
				b.ReportAllocs()
				for b.Loop() {
					bc.Forward(out, x, ActReLU)
				}
				reportGFLOPS(b, 2*float64(p.MACs()))
			})
		}
	}
}

// BenchmarkBlockedConvColdWeights times the pointwise convs of s3 and s4
// whose weights (2.4-7.3 MB) do not stay in cache from one image to the
// next, as in a whole model (s3: 40 MB of weights): each iteration runs
// the next of 8 copies of the conv, so every one reads its weights from
// memory.
func BenchmarkBlockedConvColdWeights(b *testing.B) {
	r := rand.New(rand.NewSource(2))
	for _, s := range []struct {
		name        string
		in, out, hw int
	}{
		{"s3-stage3-pw-768x768-14x14", 768, 768, 14},
		{"s3-stage4-pw-768x2048-7x7", 768, 2048, 7},
		{"s4-stage4-pw-896x2048-7x7", 896, 2048, 7},
	} {
		p := ConvParams{N: 1, InC: s.in, InH: s.hw, InW: s.hw, OutC: s.out, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1}
		x, w, bias := randSlice(r, p.InSize()), randSlice(r, p.WeightSize()), randSlice(r, p.OutC)
		out := make([]float32, p.OutSize())
		var convs [8]*BlockedConv
		for i := range convs {
			convs[i] = NewBlockedConv(w, bias, p)
		}
		b.Run(s.name, func(b *testing.B) {
			defer SetThreads(SetThreads(1))
			i := 0
			for b.Loop() {
				convs[i%len(convs)].Forward(out, x, ActReLU)
				i++
			}
			reportGFLOPS(b, 2*float64(p.MACs()))
		})
	}
}

// BenchmarkLinear is the classifier head of s0 (1024 → 1000) on a batch of
// 32 necks: BlockedConv.Linear against the NCHW GEMM over the batch that
// PackedConv runs, on one and two threads.
func BenchmarkLinear(b *testing.B) {
	r := rand.New(rand.NewSource(3))
	const n, in, outC = 32, 1024, 1000
	p := ConvParams{N: 1, InC: in, InH: 1, InW: 1, OutC: outC, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1}
	x, w, bias := randSlice(r, n*in), randSlice(r, p.WeightSize()), randSlice(r, outC)
	out := make([]float32, n*outC)
	blocked := NewBlockedConv(w, bias, p)
	packed := NewPackedConv(w, bias, p).WithBatch(n)
	var cold [16]*BlockedConv
	for i := range cold {
		cold[i] = NewBlockedConv(w, bias, p)
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("blocked/threads=%d", threads), func(b *testing.B) {
			defer SetThreads(SetThreads(threads))
			for b.Loop() {
				blocked.Linear(out, x, n)
			}
			reportGFLOPS(b, 2*float64(n*p.MACs()))
		})
		b.Run(fmt.Sprintf("blocked-cold/threads=%d", threads), func(b *testing.B) {
			defer SetThreads(SetThreads(threads))
			i := 0
			for b.Loop() {
				cold[i%len(cold)].Linear(out, x, n)
				i++
			}
			reportGFLOPS(b, 2*float64(n*p.MACs()))
		})
		b.Run(fmt.Sprintf("gemm/threads=%d", threads), func(b *testing.B) {
			defer SetThreads(SetThreads(threads))
			for b.Loop() {
				packed.Forward(out, x, ActNone)
			}
			reportGFLOPS(b, 2*float64(n*p.MACs()))
		})
	}
}
