// Package kernels holds the numeric kernels of the MobileOne model: 2-D
// convolution (dense, depthwise and grouped) forward and backward, GEMM,
// BatchNorm in eval and train mode, pooling, activations and the linear layer.
//
// Every kernel is destination first: the caller owns the memory and passes
// the output slice before the inputs. Shapes travel in small structs of named
// fields (ConvParams) instead of positional ints. Tensors are float32 in NCHW
// layout, row-major, with no padding between rows.
//
// Each exported kernel has a plain-Go reference implementation (the *Ref
// functions, always compiled) that tests compare the production path with.
// Argument errors (a slice too short, an impossible shape) are programmer
// errors and panic with a constant "kernels: ..." message.
//
// On amd64 the kernels are AVX2+FMA assembly (generated with avo, see
// gen.go); where the CPU has AVX-512F and VL (chosen once from CPUID;
// FastPath names the path; GODEBUG=cpu.avx512f=off forces the AVX2 kernels)
// the GEMM runs AVX-512 tiles (12×32 on full column pairs of B read in
// place, up to 18×16 otherwise, ragged ones through row and column masks),
// the 3×3 depthwise convs whole-plane kernels (stride 1: 16-column strips
// with the input rows kept in registers; stride 2: even/odd lane splits),
// and the stem's im2col a stride-2 row kernel. Every path sums each output
// in the same order (a GEMM entry as one FMA chain in k order, a depthwise
// output as the AVX2 row kernels do), so results are the same bit for bit
// on AVX-512 and AVX2, and do not depend on the tile, edge or column kernel
// that computed an entry, nor on the batch size or thread count.
//
// For inference on AVX-512 and AVX2 machines, BlockedConv runs pointwise,
// 3×3 depthwise and stem convs on blocked (NCHWc) activations, 16 channels
// per block (blocked.go): the pointwise tiles vectorise over output
// channels instead of pixels, so no tile is wasted on a ragged plane, and
// the stem reads the padded image without an im2col. On AVX2 a block is
// two YMM halves: the pointwise and stem tiles take one block at up to 6
// pixels, the depthwise kernel a row half by half. These kernels keep the
// sums of the NCHW kernels too (TestBlockedMatchesNCHW), so a model gives
// the same logits on either layout and either instruction set.
//
// Work is split over a few long-lived worker goroutines (parallel.go) that
// poll for a millisecond before they park; SetThreads sets how many parts a
// kernel call is split into (default GOMAXPROCS).
package kernels
