// Command _gen generates the AVX2+FMA and AVX-512 assembly kernels of package kernels
// with avo. It is its own module so that the main module never depends on
// avo; run it with `go generate ./pkg/kernels/` (see gen.go there) or
//
//	cd pkg/kernels/_gen && go run . -out ../kernels_amd64.s -stubs ../kernels_stub_amd64.go -pkg kernels
//
// Every kernel ends with VZEROUPPER (legacy-SSE code runs right after it, and
// the AVX→SSE transition costs ~110 ns a time on the target machine) and each
// call does micro-tile or row-sized work, so a call never delays the GC for
// long (assembly is not asynchronously preemptible).
//
// The generators: gemm.go (AVX2 GEMM tiles and column kernel), gemm_z.go
// (AVX-512 GEMM tiles), depthwise.go and depthwise_z.go (NCHW 3×3
// depthwise convs), im2col.go, train.go (elementwise, BatchNorm and
// depthwise weight-gradient loops), nchwc*.go (the blocked inference path).
package main

import . "github.com/mmcloughlin/avo/build"

func main() {
	ConstraintExpr("amd64,!purego")
	genSgemm(2) // 6×16
	genSgemm(1) // 6×8
	genDepthwiseS1()
	genDepthwiseS2()
	genDepthwiseS1Plane()
	genDepthwiseS1PlaneZ()
	genDepthwiseS2PlaneZ()
	genIm2colS2Z()
	genElementwise()
	genBatchNorm()
	genDepthwiseS1WeightGrad()
	genPrefetchRows()
	genSgemmCol4()
	genSgemmZ(3, 1) // 18×16
	genSgemmZ(2, 1) // 12×16
	genSgemmZ(1, 1) // 6×16
	genSgemmZ(2, 2) // 12×32
	genSgemmZ(1, 2) // 6×32
	genSgemmZCol(8, 1)
	genSgemmZCol(8, 2)
	genGatherEven()
	genBlocked()
	Generate()
}

const mr = 6
