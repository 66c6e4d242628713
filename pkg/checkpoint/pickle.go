package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MarshalPickle encodes v as a plain pickle (protocol 2): what mmengine's
// dump writes for a .pkl file, e.g. tools/test.py --out. v may hold the
// values Save accepts (*Dict, List, Tuple, strings, ints, floats, bools,
// None, *Tensor). A tensor is written as pickle.dumps(tensor) writes it:
// torch._utils._rebuild_tensor_v2 over a storage that pickles itself as
// torch.storage._load_from_bytes(<a legacy torch.save of the storage>),
// its bytes as _codecs.encode(<latin-1 text>, 'latin1') (protocol 2 has no
// bytes opcode). Every tensor gets its own contiguous storage. Python's
// pickle.load (with torch installed) and mmengine.load read the result.
func MarshalPickle(v any) ([]byte, error) {
	p := &pickler{byTensor: map[*Tensor]int{}, dtypes: map[int]DType{}, plain: true}
	p.buf.WriteByte(opProto)
	p.buf.WriteByte(2)
	if err := p.value(v); err != nil {
		return nil, err
	}
	p.buf.WriteByte(opStop)
	return p.buf.Bytes(), nil
}

// legacySysInfo is the third pickle of a legacy torch.save, byte for byte
// as torch 1.13 writes it (memo opcodes included): {'protocol_version':
// 1001, 'little_endian': True, 'type_sizes': {'short': 2, 'int': 4,
// 'long': 4}}.
const legacySysInfo = "\x80\x02}q\x00(X\x10\x00\x00\x00protocol_versionq\x01M\xe9\x03X\r\x00\x00\x00little_endianq\x02\x88" +
	"X\n\x00\x00\x00type_sizesq\x03}q\x04(X\x05\x00\x00\x00shortq\x05K\x02X\x03\x00\x00\x00intq\x06K\x04X\x04\x00\x00\x00longq\x07K\x04uu."

// legacyStorage returns torch.save(storage, _use_new_zipfile_serialization=
// False) of one storage, as TypedStorage.__reduce__ embeds it: the magic
// number, the protocol version, the system info, the storage's persistent
// id ('storage', torch.<X>Storage, key, 'cpu', numel, None), the key list,
// then numel (int64) and the raw little-endian elements.
func legacyStorage(dt DType, raw []byte) []byte {
	const key = "0"
	numel := len(raw) / dt.Size()
	var b bytes.Buffer
	// pickle.dumps(MAGIC_NUMBER, protocol=2) and of 1001
	b.WriteString("\x80\x02\x8a\x0a")
	magic := legacyMagic.Bytes() // big-endian
	for i := len(magic) - 1; i >= 0; i-- {
		b.WriteByte(magic[i])
	}
	b.WriteString(".\x80\x02M\xe9\x03.")
	b.WriteString(legacySysInfo)
	p := &pickler{}
	p.buf.WriteString("\x80\x02(")
	_ = p.str("storage")
	p.buf.WriteString("q\x00")
	p.global("torch", dtypeInfo[dt].storage)
	p.buf.WriteString("q\x01")
	_ = p.str(key)
	p.buf.WriteString("q\x02")
	_ = p.str("cpu")
	p.buf.WriteString("q\x03")
	p.int64(int64(numel))
	p.buf.WriteString("Ntq\x04Q.\x80\x02]q\x00")
	_ = p.str(key)
	p.buf.WriteString("q\x01a.")
	b.Write(p.buf.Bytes())
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(numel))
	b.Write(n[:])
	b.Write(raw)
	return b.Bytes()
}

// latin1 decodes bytes as latin-1 into a (UTF-8) Go string: each byte is
// the code point of the same value.
func latin1(b []byte) string {
	var s strings.Builder
	s.Grow(len(b) * 2)
	for _, c := range b {
		s.WriteRune(rune(c))
	}
	return s.String()
}

// plainTensor writes t as pickle.dumps(tensor) does (see MarshalPickle).
func (p *pickler) plainTensor(t *Tensor) error {
	raw, dt, err := tensorBytes(t)
	if err != nil {
		return err
	}
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.buf.WriteByte(opMark)
	p.global("torch.storage", "_load_from_bytes")
	p.global("_codecs", "encode")
	if err := p.str(latin1(legacyStorage(dt, raw))); err != nil {
		return err
	}
	_ = p.str("latin1")
	p.buf.WriteByte(opTuple2)
	p.buf.WriteByte(opReduce)
	p.buf.WriteByte(opTuple1)
	p.buf.WriteByte(opReduce)
	p.rebuildTail(t)
	return nil
}

func contiguousStride(shape []int) []int {
	stride := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		stride[i] = acc
		acc *= shape[i]
	}
	return stride
}

// loadFromBytes implements torch.storage._load_from_bytes(b): a legacy
// torch.save of one storage, which becomes the storage of the tensor
// rebuilt around it.
func (l *loader) loadFromBytes(args []any) (any, error) {
	if len(args) != 1 {
		return nil, formatErrorf("_load_from_bytes with %d arguments", len(args))
	}
	b, ok := args[0].([]byte)
	if !ok {
		return nil, formatErrorf("_load_from_bytes of %T, not bytes", args[0])
	}
	if l.depth > 0 {
		return nil, FormatError("_load_from_bytes nested in _load_from_bytes")
	}
	root, inner, err := parseLegacy(b, l.depth+1)
	if err != nil {
		return nil, fmt.Errorf("embedded storage: %w", err)
	}
	r, ok := root.(*storageRef)
	if !ok || !r.ok {
		return nil, FormatError("embedded torch.save holds no storage")
	}
	_ = inner
	return r, nil
}

// ResultsFile is a plain pickle read back: a results file of tools/test.py
// --out (a list of DataSample dicts) or --out-item metrics (a dict), or
// any other pickle of plain values and tensors.
type ResultsFile struct {
	Path string
	Root any // *Dict, List, ... with *Tensor values (see the package doc)
}

// LoadPickle reads a plain pickle written by mmengine.dump / pickle.dump
// (protocol 2 to 5), decoding tensors pickled with pickle.dumps(tensor)
// (legacy storages embedded by torch.storage._load_from_bytes). Errors
// name the file and wrap a FormatError or an UnsupportedError; nothing
// panics on a damaged or hostile file.
func LoadPickle(path string) (*ResultsFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, &Error{Path: path, Err: FormatError("is a directory, not a .pkl file")}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	return UnmarshalPickle(path, data)
}

// UnmarshalPickle is LoadPickle of bytes in memory; name is used in errors.
func UnmarshalPickle(name string, data []byte) (*ResultsFile, error) {
	fail := func(err error) (*ResultsFile, error) {
		var e *Error
		if errors.As(err, &e) {
			e.Path = name
			return nil, e
		}
		return nil, &Error{Path: name, Err: err}
	}
	if len(data) == 0 {
		return fail(FormatError("empty file"))
	}
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return fail(FormatError("a torch.save zip archive (a checkpoint?), not a plain pickle"))
	}
	if data[0] != 0x80 || len(data) < 2 || data[1] < 2 || data[1] > 5 {
		return fail(formatErrorf("not a pickle of protocol 2 to 5 (starts with %q)", data[:min(len(data), 16)]))
	}
	root, err := guarded(func() (any, error) {
		l := newLoader(int64(len(data)), false)
		l.maxBytes = len(data)
		v, n, err := l.unpickle(data, false)
		if err != nil {
			return nil, err
		}
		if n != len(data) {
			return nil, formatErrorf("%d trailing bytes after the pickle", len(data)-n)
		}
		return l.convert(v)
	})
	if err != nil {
		return fail(err)
	}
	return &ResultsFile{Path: name, Root: root}, nil
}
