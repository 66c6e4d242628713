package checkpoint

import (
	"math"
)

// numpyDType maps a numpy dtype object (numpy.dtype('f4') etc.) to a DType.
// Only little-endian or byte-order-free numeric dtypes are recognised.
func numpyDType(v any) (DType, bool) {
	o, ok := v.(*Object)
	if !ok || o.Name != "dtype" || (o.Module != "numpy" && o.Module != "numpy.core.multiarray" && o.Module != "numpy._core.multiarray") || len(o.Args) == 0 {
		return "", false
	}
	code, _ := o.Args[0].(string)
	if st, ok := o.State.(Tuple); ok && len(st) > 1 {
		if order, _ := st[1].(string); order == ">" {
			return "", false
		}
	}
	switch code {
	case "f2":
		return Float16, true
	case "f4":
		return Float32, true
	case "f8":
		return Float64, true
	case "i1":
		return Int8, true
	case "i2":
		return Int16, true
	case "i4":
		return Int32, true
	case "i8":
		return Int64, true
	case "u1":
		return Uint8, true
	case "b1":
		return Bool, true
	}
	return "", false
}

// decodeNumpy turns numpy arrays (numpy.core.multiarray._reconstruct + BUILD)
// into *Tensor and numpy scalars (numpy.core.multiarray.scalar) into int64,
// float64 or bool. Anything else (object arrays, big-endian, unusual dtypes)
// stays an opaque *Object.
func decodeNumpy(o *Object) (any, bool) {
	if o.Module != "numpy.core.multiarray" && o.Module != "numpy._core.multiarray" {
		return nil, false
	}
	switch o.Name {
	case "scalar":
		if len(o.Args) != 2 {
			return nil, false
		}
		dt, ok := numpyDType(o.Args[0])
		raw, ok2 := o.Args[1].([]byte)
		if !ok || !ok2 || len(raw) != dt.Size() {
			return nil, false
		}
		budget := int64(64)
		t, err := gather(raw, dt, 1, 0, nil, nil, &budget)
		if err != nil {
			return nil, false
		}
		switch {
		case dt == Float64:
			return t.F64[0], true
		case dt.IsFloat():
			return float64(t.F32[0]), true
		case dt == Bool:
			return t.I64[0] != 0, true
		}
		return t.I64[0], true
	case "_reconstruct":
		st, ok := o.State.(Tuple)
		if !ok || len(st) != 5 {
			return nil, false
		}
		shapeT, ok := st[1].(Tuple)
		if !ok {
			return nil, false
		}
		dt, ok := numpyDType(st[2])
		if !ok {
			return nil, false
		}
		fortran, _ := st[3].(bool)
		raw, ok := st[4].([]byte)
		if !ok {
			if s, isStr := st[4].(string); isStr { // py2-era pickles
				raw = []byte(s)
			} else {
				return nil, false
			}
		}
		shape := make([]int, len(shapeT))
		numel := 1
		for i, d := range shapeT {
			n, ok := d.(int64)
			if !ok || n < 0 || n > math.MaxInt32 {
				return nil, false
			}
			shape[i] = int(n)
			numel *= shape[i]
			if numel > math.MaxInt32 {
				return nil, false
			}
		}
		if len(raw) != numel*dt.Size() {
			return nil, false
		}
		stride := make([]int, len(shape))
		acc := 1
		if fortran {
			for i := range shape {
				stride[i] = acc
				acc *= shape[i]
			}
		} else {
			for i := len(shape) - 1; i >= 0; i-- {
				stride[i] = acc
				acc *= shape[i]
			}
		}
		budget := int64(numel)*12 + 64
		t, err := gather(raw, dt, numel, 0, shape, stride, &budget)
		if err != nil {
			return nil, false
		}
		return t, true
	}
	return nil, false
}
