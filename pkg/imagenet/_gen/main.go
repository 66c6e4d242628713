// Command _gen generates the AVX2 assembly kernels of package imagenet's
// Pillow-exact resize with avo. It is its own module so that the main
// module never depends on avo; run it with `go generate ./pkg/imagenet/`
// (see gen.go there) or
//
//	cd pkg/imagenet/_gen && go run . -out ../resize_amd64.s -stubs ../resize_stub_amd64.go -pkg imagenet
//
// Every kernel computes exactly the bytes of its Go twin in
// resize_kernels.go: the sums are the same int32 terms (VPMULLD and VPADDD
// wrap modulo 2³² as Go's int32 arithmetic does, and integer addition does
// not depend on order), the shift is arithmetic and clip8's clamp is a pair
// of saturating packs. Each kernel ends with VZEROUPPER and does one row
// per call.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// precisionBits is Pillow's PRECISION_BITS (resize.go).
const precisionBits = 22

// Kernels specialized (unrolled) by tap count; longer kernels use the
// looping ones.
const (
	maxVTaps = 4
	maxHTaps = 8
)

func main() {
	ConstraintExpr("amd64,!purego")
	c := consts{
		half:    splat("resizeHalf", 1<<(precisionBits-1)),
		permute: dwords("resizeDwordOrder", [8]uint32{0, 4, 1, 5, 2, 6, 3, 7}),
	}
	for t := 1; t <= maxVTaps; t++ {
		genVRow(c, t)
	}
	genVRowN(c)
	c.taps = tapMasks()
	c.compact = compactMask()
	for t := 2; t <= maxHTaps; t++ {
		genHRow(c, t)
	}
	genHRow(c, 0)
	Generate()
}

// consts are the kernels' shared read-only constants.
type consts struct {
	half    Mem    // 1<<(precisionBits-1) in eight int32 lanes
	permute Mem    // VPERMD indices undoing the lane interleave of the packs
	taps    [5]Mem // VPSHUFB masks: pixel k of 16 bytes -> 3 int32 lanes and a zero
	compact Mem    // VPSHUFB mask: 4 pixels of 4 bytes -> 12 bytes
}

// splat defines a read-only 32-byte constant holding v in all eight
// 32-bit lanes.
func splat(name string, v int32) Mem {
	var d [8]uint32
	for i := range d {
		d[i] = uint32(v)
	}
	return dwords(name, d)
}

func dwords(name string, d [8]uint32) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for i, v := range d {
		DATA(4*i, U32(v))
	}
	return m
}

// bytesInLanes defines a 32-byte constant holding b in both 128-bit lanes
// (VPSHUFB works within lanes).
func bytesInLanes(name string, b [16]byte) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for lane := 0; lane < 2; lane++ {
		for i, v := range b {
			DATA(16*lane+i, U8(v))
		}
	}
	return m
}

const zero = 0x80 // a VPSHUFB index that writes a zero byte

func tapMasks() [5]Mem {
	var ms [5]Mem
	for k := range ms {
		var b [16]byte
		for d := 0; d < 4; d++ {
			b[4*d], b[4*d+1], b[4*d+2], b[4*d+3] = zero, zero, zero, zero
			if d < 3 {
				b[4*d] = byte(3*k + d)
			}
		}
		ms[k] = bytesInLanes("resizeTap"+string(rune('0'+k)), b)
	}
	return ms
}

func compactMask() Mem {
	var b [16]byte
	for i := range b {
		b[i] = zero
		if i < 12 {
			b[i] = byte(i/3*4 + i%3)
		}
	}
	return bytesInLanes("resizeCompact", b)
}
