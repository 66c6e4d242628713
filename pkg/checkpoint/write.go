package checkpoint

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"

	"github.com/mobileone-go/mobileone/internal/atomicfile"
)

// Pickle opcodes used by the writer. All are in torch 1.13's weights-only
// allowlist except BINFLOAT (accepted by torch >= 2.x weights-only).
const (
	opProto      = 0x80
	opStop       = '.'
	opMark       = '('
	opGlobal     = 'c'
	opReduce     = 'R'
	opBuild      = 'b'
	opBinPersID  = 'Q'
	opBinInt     = 'J'
	opBinInt1    = 'K'
	opBinInt2    = 'M'
	opLong1      = 0x8a
	opBinUnicode = 'X'
	opBinFloat   = 'G'
	opNone       = 'N'
	opNewTrue    = 0x88
	opNewFalse   = 0x89
	opEmptyTuple = ')'
	opTuple      = 't'
	opTuple1     = 0x85
	opTuple2     = 0x86
	opTuple3     = 0x87
	opEmptyList  = ']'
	opAppends    = 'e'
	opEmptyDict  = '}'
	opSetItems   = 'u'
)

// topFolder is the archive's top folder. torch uses the file stem; a fixed
// name makes the bytes independent of the file name (any name loads).
const topFolder = "archive"

type pickler struct {
	buf      bytes.Buffer
	storages [][]byte        // raw little-endian storage records, key = index
	byTensor map[*Tensor]int // tensors already written share their storage
	dtypes   map[int]DType   // storage key -> dtype
	depth    int
	plain    bool // a plain pickle: tensors carry their storage (MarshalPickle)
}

// Marshal encodes root as a torch zip checkpoint (see Save) and returns the
// bytes.
func Marshal(root *Dict) ([]byte, error) {
	var b bytes.Buffer
	if err := encode(&b, root); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Save writes root to path as a torch.save zip checkpoint, atomically: the
// data goes to a temporary file in the same directory, which is synced and
// then renamed over path.
//
// Values may be *Dict (written as dict, or OrderedDict when Ordered, with
// Attrs applied by BUILD), List, Tuple, string, int/int64/int32/*big.Int
// (|x| < 2^2039), bool, nil, float64/float32 (BINFLOAT: torch 1.13 with
// weights_only=True refuses floats, so keep them out of "meta"), *Tensor of
// any supported dtype and *StateDict (an OrderedDict with _metadata). Other
// values (bytes, sets, *Object) give an UnsupportedError.
//
// The pickle uses protocol 2 and only the globals collections.OrderedDict,
// torch._utils._rebuild_tensor_v2 and torch.<Type>Storage; every record is
// STORED and 64-byte aligned (torch's "FB" padding extra field); the archive
// has version "3\n" and byteorder "little", no timestamps, and is
// byte-for-byte deterministic.
func Save(path string, root *Dict) error {
	return SaveContext(context.Background(), path, root)
}

// SaveContext is Save that stops when ctx is done (Ctrl-C): the
// destination is then left as it was and no temporary file remains.
func SaveContext(ctx context.Context, path string, root *Dict) error {
	if err := atomicfile.WriteContext(ctx, path, func(w io.Writer) error { return encode(w, root) }); err != nil {
		return &Error{Path: path, Err: err}
	}
	return nil
}

func encode(w io.Writer, root *Dict) error {
	if root == nil {
		return UnsupportedError("nil root")
	}
	p := &pickler{byTensor: map[*Tensor]int{}, dtypes: map[int]DType{}}
	p.buf.WriteByte(opProto)
	p.buf.WriteByte(2)
	if err := p.value(root); err != nil {
		return err
	}
	p.buf.WriteByte(opStop)
	return writeArchive(w, p.buf.Bytes(), p.storages)
}

type record struct {
	name string
	data []byte
}

// writeArchive writes the zip: data.pkl, byteorder, data/0..n-1, version.
func writeArchive(w io.Writer, pkl []byte, storages [][]byte) error {
	recs := []record{{topFolder + "/data.pkl", pkl}, {topFolder + "/byteorder", []byte("little")}}
	for i, s := range storages {
		recs = append(recs, record{topFolder + "/data/" + strconv.Itoa(i), s})
	}
	recs = append(recs, record{topFolder + "/version", []byte("3\n")})
	zw := zip.NewWriter(w)
	var off int64
	for _, r := range recs {
		// Local header: 30 bytes + name + extra ("FB", uint16 length, pad).
		base := off + 30 + int64(len(r.name)) + 4
		pad := int((64 - base%64) % 64)
		extra := make([]byte, 4+pad)
		extra[0], extra[1] = 'F', 'B'
		binary.LittleEndian.PutUint16(extra[2:], uint16(pad))
		for i := 4; i < len(extra); i++ {
			extra[i] = 'Z'
		}
		fh := &zip.FileHeader{
			Name:               r.name,
			Method:             zip.Store,
			CRC32:              crc32.ChecksumIEEE(r.data),
			CompressedSize64:   uint64(len(r.data)),
			UncompressedSize64: uint64(len(r.data)),
			Extra:              extra,
			ReaderVersion:      20,
			CreatorVersion:     20,
		}
		fw, err := zw.CreateRaw(fh)
		if err != nil {
			return err
		}
		if _, err := fw.Write(r.data); err != nil {
			return err
		}
		off = base + int64(pad) + int64(len(r.data))
		if len(r.data) >= math.MaxUint32 || off >= math.MaxUint32 {
			// archive/zip switches to zip64 sizes; local headers keep no
			// zip64 extra, so the offsets above stay exact.
		}
	}
	return zw.Close()
}

func (p *pickler) global(module, name string) {
	p.buf.WriteByte(opGlobal)
	p.buf.WriteString(module)
	p.buf.WriteByte('\n')
	p.buf.WriteString(name)
	p.buf.WriteByte('\n')
}

func (p *pickler) str(s string) error {
	if !utf8.ValidString(s) {
		return unsupportedf("string %q is not valid UTF-8", s)
	}
	if len(s) > math.MaxUint32 {
		return UnsupportedError("string longer than 4 GiB")
	}
	p.buf.WriteByte(opBinUnicode)
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(s)))
	p.buf.Write(n[:])
	p.buf.WriteString(s)
	return nil
}

// int64 writes an int with the smallest weights-only-safe opcode:
// BININT1 (0..255), BININT2 (256..65535), BININT (other int32, including all
// negatives >= -2^31), else LONG1 with minimal two's complement bytes.
func (p *pickler) int64(v int64) {
	switch {
	case v >= 0 && v <= 0xff:
		p.buf.WriteByte(opBinInt1)
		p.buf.WriteByte(byte(v))
	case v >= 0 && v <= 0xffff:
		p.buf.WriteByte(opBinInt2)
		p.buf.WriteByte(byte(v))
		p.buf.WriteByte(byte(v >> 8))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		p.buf.WriteByte(opBinInt)
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(int32(v)))
		p.buf.Write(b[:])
	default:
		b, _ := encodeLong(big.NewInt(v))
		p.buf.WriteByte(opLong1)
		p.buf.WriteByte(byte(len(b)))
		p.buf.Write(b)
	}
}

// encodeLong is Python's pickle.encode_long: minimal little-endian two's
// complement bytes.
func encodeLong(x *big.Int) ([]byte, error) {
	if x.Sign() == 0 {
		return nil, nil
	}
	nbytes := x.BitLen()>>3 + 1
	if nbytes > 256 {
		return nil, UnsupportedError("integer too large for LONG1")
	}
	// two's complement of x in nbytes bytes
	v := new(big.Int).Set(x)
	if x.Sign() < 0 {
		v.Add(v, new(big.Int).Lsh(big.NewInt(1), uint(8*nbytes)))
	}
	be := v.Bytes()
	out := make([]byte, nbytes)
	for i := range be {
		out[i] = be[len(be)-1-i]
	}
	if x.Sign() < 0 && nbytes > 1 && out[nbytes-1] == 0xff && out[nbytes-2]&0x80 != 0 {
		out = out[:nbytes-1]
	}
	if len(out) > 255 {
		return nil, UnsupportedError("integer too large for LONG1")
	}
	return out, nil
}

func (p *pickler) value(v any) error {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxValueDepth {
		return unsupportedf("values nested deeper than %d", maxValueDepth)
	}
	switch x := v.(type) {
	case nil:
		p.buf.WriteByte(opNone)
	case bool:
		if x {
			p.buf.WriteByte(opNewTrue)
		} else {
			p.buf.WriteByte(opNewFalse)
		}
	case int:
		p.int64(int64(x))
	case int64:
		p.int64(x)
	case int32:
		p.int64(int64(x))
	case *big.Int:
		if x.IsInt64() {
			p.int64(x.Int64())
			return nil
		}
		b, err := encodeLong(x)
		if err != nil {
			return err
		}
		p.buf.WriteByte(opLong1)
		p.buf.WriteByte(byte(len(b)))
		p.buf.Write(b)
	case float64:
		p.buf.WriteByte(opBinFloat)
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], math.Float64bits(x))
		p.buf.Write(b[:])
	case float32:
		return p.value(float64(x))
	case string:
		return p.str(x)
	case Tuple:
		return p.tuple(x)
	case []any:
		return p.tuple(x)
	case List:
		p.buf.WriteByte(opEmptyList)
		if len(x) > 0 {
			p.buf.WriteByte(opMark)
			for _, it := range x {
				if err := p.value(it); err != nil {
					return err
				}
			}
			p.buf.WriteByte(opAppends)
		}
	case []string:
		l := make(List, len(x))
		for i, s := range x {
			l[i] = s
		}
		return p.value(l)
	case *Dict:
		return p.dict(x)
	case *StateDict:
		return p.dict(x.Dict())
	case *Tensor:
		if p.plain {
			return p.plainTensor(x)
		}
		return p.tensor(x)
	default:
		return unsupportedf("cannot write a value of type %T", v)
	}
	return nil
}

func (p *pickler) tuple(items []any) error {
	switch len(items) {
	case 0:
		p.buf.WriteByte(opEmptyTuple)
		return nil
	case 1, 2, 3:
		for _, it := range items {
			if err := p.value(it); err != nil {
				return err
			}
		}
		p.buf.WriteByte([]byte{opTuple1, opTuple2, opTuple3}[len(items)-1])
		return nil
	}
	p.buf.WriteByte(opMark)
	for _, it := range items {
		if err := p.value(it); err != nil {
			return err
		}
	}
	p.buf.WriteByte(opTuple)
	return nil
}

func (p *pickler) intTuple(v []int) {
	switch len(v) {
	case 0:
		p.buf.WriteByte(opEmptyTuple)
		return
	case 1, 2, 3:
	default:
		p.buf.WriteByte(opMark)
	}
	for _, n := range v {
		p.int64(int64(n))
	}
	if len(v) <= 3 {
		p.buf.WriteByte([]byte{opTuple1, opTuple2, opTuple3}[len(v)-1])
	} else {
		p.buf.WriteByte(opTuple)
	}
}

func (p *pickler) dict(d *Dict) error {
	if d == nil {
		p.buf.WriteByte(opNone)
		return nil
	}
	if d.Ordered {
		p.global("collections", "OrderedDict")
		p.buf.WriteByte(opEmptyTuple)
		p.buf.WriteByte(opReduce)
	} else {
		p.buf.WriteByte(opEmptyDict)
	}
	if len(d.Items) > 0 {
		p.buf.WriteByte(opMark)
		for _, it := range d.Items {
			if err := p.value(it.Key); err != nil {
				return err
			}
			if err := p.value(it.Value); err != nil {
				return fmt.Errorf("key %v: %w", it.Key, err)
			}
		}
		p.buf.WriteByte(opSetItems)
	}
	if d.Attrs != nil && d.Attrs.Len() > 0 {
		if !d.Ordered {
			return UnsupportedError("attributes on a plain dict")
		}
		a := *d.Attrs
		a.Ordered = false
		a.Attrs = nil
		if err := p.dict(&a); err != nil {
			return err
		}
		p.buf.WriteByte(opBuild)
	}
	return nil
}

// tensor writes torch._utils._rebuild_tensor_v2(storage, 0, size, stride,
// requires_grad, OrderedDict()) with a contiguous stride.
func (p *pickler) tensor(t *Tensor) error {
	key, ok := p.byTensor[t]
	if !ok {
		raw, dt, err := tensorBytes(t)
		if err != nil {
			return err
		}
		key = len(p.storages)
		p.storages = append(p.storages, raw)
		p.dtypes[key] = dt
		p.byTensor[t] = key
	}
	dt := p.dtypes[key]
	numel := len(p.storages[key]) / dt.Size()
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.buf.WriteByte(opMark)
	// persistent id ('storage', torch.<X>Storage, key, 'cpu', numel)
	p.buf.WriteByte(opMark)
	_ = p.str("storage")
	p.global("torch", dtypeInfo[dt].storage)
	_ = p.str(strconv.Itoa(key))
	_ = p.str("cpu")
	p.int64(int64(numel))
	p.buf.WriteByte(opTuple)
	p.buf.WriteByte(opBinPersID)
	p.rebuildTail(t)
	return nil
}

// rebuildTail ends _rebuild_tensor_v2's arguments after the storage:
// offset 0, size, contiguous stride, requires_grad, OrderedDict() (no
// backward hooks); then the call.
func (p *pickler) rebuildTail(t *Tensor) {
	p.int64(0)
	p.intTuple(t.Shape)
	p.intTuple(contiguousStride(t.Shape))
	if t.RequiresGrad {
		p.buf.WriteByte(opNewTrue)
	} else {
		p.buf.WriteByte(opNewFalse)
	}
	p.global("collections", "OrderedDict")
	p.buf.WriteByte(opEmptyTuple)
	p.buf.WriteByte(opReduce)
	p.buf.WriteByte(opTuple)
	p.buf.WriteByte(opReduce)
}

// tensorBytes encodes a tensor's values as its dtype's little-endian storage.
func tensorBytes(t *Tensor) ([]byte, DType, error) {
	dt := t.DType
	if dt == "" {
		if t.I64 != nil && t.F32 == nil {
			dt = Int64
		} else {
			dt = Float32
		}
	}
	if !dt.Valid() {
		return nil, "", unsupportedf("dtype %q", dt)
	}
	numel := 1
	for _, d := range t.Shape {
		if d < 0 {
			return nil, "", unsupportedf("negative size in shape %v", t.Shape)
		}
		numel *= d
	}
	size := dt.Size()
	raw := make([]byte, numel*size)
	le := binary.LittleEndian
	if dt.IsFloat() {
		if dt == Float64 && len(t.F64) == numel {
			for i, v := range t.F64 {
				le.PutUint64(raw[8*i:], math.Float64bits(v))
			}
			return raw, dt, nil
		}
		if len(t.F32) != numel {
			return nil, "", unsupportedf("%v holds %d float values, want %d", t, len(t.F32), numel)
		}
		for i, v := range t.F32 {
			switch dt {
			case Float32:
				le.PutUint32(raw[4*i:], math.Float32bits(v))
			case Float16:
				le.PutUint16(raw[2*i:], float32ToHalf(v))
			case BFloat16:
				le.PutUint16(raw[2*i:], float32ToBFloat16(v))
			case Float64:
				le.PutUint64(raw[8*i:], math.Float64bits(float64(v)))
			}
		}
		return raw, dt, nil
	}
	if len(t.I64) != numel {
		return nil, "", unsupportedf("%v holds %d integer values, want %d", t, len(t.I64), numel)
	}
	for i, v := range t.I64 {
		switch dt {
		case Int64:
			le.PutUint64(raw[8*i:], uint64(v))
		case Int32:
			le.PutUint32(raw[4*i:], uint32(int32(v)))
		case Int16:
			le.PutUint16(raw[2*i:], uint16(int16(v)))
		case Int8, Uint8:
			raw[i] = byte(v)
		case Bool:
			if v != 0 {
				raw[i] = 1
			}
		}
	}
	return raw, dt, nil
}
