package checkpoint

// MarshalPickle encodes v as a plain pickle (protocol 2) that Python's
// pickle.load reads without torch: what mmengine's dump writes for a .pkl
// file. v may hold the plain values Save accepts (*Dict, List, Tuple,
// strings, ints, floats, bools, None); tensors are refused, since a plain
// pickle has no storage records to point at.
func MarshalPickle(v any) ([]byte, error) {
	p := &pickler{byTensor: map[*Tensor]int{}, dtypes: map[int]DType{}}
	p.buf.WriteByte(opProto)
	p.buf.WriteByte(2)
	if err := p.value(v); err != nil {
		return nil, err
	}
	if len(p.storages) > 0 {
		return nil, UnsupportedError("tensors in a plain pickle")
	}
	p.buf.WriteByte(opStop)
	return p.buf.Bytes(), nil
}
