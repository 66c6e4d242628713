package checkpoint

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// gather materialises the strided view (offset, shape, stride, all in
// elements) of a raw little-endian storage of storageNumel elements of dtype
// dt into a contiguous tensor. Every index is bounds-checked before any
// element is read; budget (in bytes, decremented) caps the memory the
// materialised tensors may take, so that a tiny file cannot expand into a
// huge tensor through zero strides.
func gather(raw []byte, dt DType, storageNumel int, offset int, shape, stride []int, budget *int64) (*Tensor, error) {
	size := dt.Size()
	if size == 0 {
		return nil, unsupportedf("dtype %q", dt)
	}
	if len(raw) != storageNumel*size {
		return nil, formatErrorf("storage holds %d bytes, want %d", len(raw), storageNumel*size)
	}
	if len(shape) != len(stride) {
		return nil, formatErrorf("tensor size %v and stride %v differ in length", shape, stride)
	}
	if offset < 0 {
		return nil, formatErrorf("negative storage offset %d", offset)
	}
	numel := 1
	for i, d := range shape {
		if d < 0 || stride[i] < 0 {
			return nil, formatErrorf("invalid tensor size %v / stride %v", shape, stride)
		}
		hi, lo := bits.Mul64(uint64(numel), uint64(d))
		if hi != 0 || lo > math.MaxInt32*8 {
			return nil, unsupportedf("tensor of size %v is too large", shape)
		}
		numel = int(lo)
	}
	perElem := int64(4)
	switch {
	case dt == Float64:
		perElem = 12
	case !dt.IsFloat():
		perElem = 8
	}
	if int64(numel)*perElem > *budget {
		return nil, unsupportedf("tensor of size %v would expand far beyond the file size", shape)
	}
	*budget -= int64(numel) * perElem
	t := &Tensor{DType: dt, Shape: append([]int{}, shape...)}
	var idx []int
	contiguous := true
	if numel > 0 {
		last := offset
		for i, d := range shape {
			hi, lo := bits.Mul64(uint64(d-1), uint64(stride[i]))
			if hi != 0 || lo > math.MaxInt64/4 {
				return nil, formatErrorf("tensor stride %v out of range", stride)
			}
			last += int(lo)
			if last < 0 || last > math.MaxInt64/4 {
				return nil, formatErrorf("tensor stride %v out of range", stride)
			}
		}
		if last >= storageNumel {
			return nil, formatErrorf("tensor view (offset %d, size %v, stride %v) exceeds its storage of %d elements", offset, shape, stride, storageNumel)
		}
		// C-contiguous unless a dimension of size > 1 has a non-standard stride.
		expect := 1
		for i := len(shape) - 1; i >= 0; i-- {
			if shape[i] != 1 && stride[i] != expect {
				contiguous = false
				break
			}
			expect *= shape[i]
		}
		if !contiguous {
			idx = make([]int, numel)
			counter := make([]int, len(shape))
			cur := offset
			for k := range numel {
				idx[k] = cur
				for d := len(shape) - 1; d >= 0; d-- {
					counter[d]++
					cur += stride[d]
					if counter[d] < shape[d] {
						break
					}
					cur -= stride[d] * shape[d]
					counter[d] = 0
				}
			}
		}
	}
	at := func(k int) int {
		if idx != nil {
			return idx[k]
		}
		return offset + k
	}
	le := binary.LittleEndian
	switch dt {
	case Float32:
		t.F32 = make([]float32, numel)
		for k := range t.F32 {
			t.F32[k] = math.Float32frombits(le.Uint32(raw[4*at(k):]))
		}
	case Float16:
		t.F32 = make([]float32, numel)
		for k := range t.F32 {
			t.F32[k] = halfToFloat32(le.Uint16(raw[2*at(k):]))
		}
	case BFloat16:
		t.F32 = make([]float32, numel)
		for k := range t.F32 {
			t.F32[k] = math.Float32frombits(uint32(le.Uint16(raw[2*at(k):])) << 16)
		}
	case Float64:
		t.F32 = make([]float32, numel)
		t.F64 = make([]float64, numel)
		for k := range t.F64 {
			v := math.Float64frombits(le.Uint64(raw[8*at(k):]))
			t.F64[k] = v
			t.F32[k] = float32(v)
		}
	case Int64:
		t.I64 = make([]int64, numel)
		for k := range t.I64 {
			t.I64[k] = int64(le.Uint64(raw[8*at(k):]))
		}
	case Int32:
		t.I64 = make([]int64, numel)
		for k := range t.I64 {
			t.I64[k] = int64(int32(le.Uint32(raw[4*at(k):])))
		}
	case Int16:
		t.I64 = make([]int64, numel)
		for k := range t.I64 {
			t.I64[k] = int64(int16(le.Uint16(raw[2*at(k):])))
		}
	case Int8:
		t.I64 = make([]int64, numel)
		for k := range t.I64 {
			t.I64[k] = int64(int8(raw[at(k)]))
		}
	case Uint8:
		t.I64 = make([]int64, numel)
		for k := range t.I64 {
			t.I64[k] = int64(raw[at(k)])
		}
	case Bool:
		t.I64 = make([]int64, numel)
		for k := range t.I64 {
			if raw[at(k)] != 0 {
				t.I64[k] = 1
			}
		}
	}
	return t, nil
}

// halfToFloat32 converts IEEE 754 binary16 bits to float32 (exact).
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf / nan
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: normalise
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | e<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// float32ToHalf converts float32 to binary16 bits, rounding to nearest even.
func float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff { // inf / nan
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - e)
		half := mant >> shift
		rem := mant & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || (rem == mid && half&1 == 1) {
			half++
		}
		return sign | uint16(half)
	}
	half := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++ // may carry into the exponent, which is correct
	}
	return sign | uint16(half)
}

// float32ToBFloat16 converts float32 to bfloat16 bits, rounding to nearest
// even (as torch does).
func float32ToBFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // nan
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}
