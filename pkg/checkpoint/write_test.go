package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

// pickleOps disassembles a pickle into its opcodes and GLOBAL names.
func pickleOps(t *testing.T, data []byte) (ops []byte, globals []string) {
	t.Helper()
	pos := 0
	for pos < len(data) {
		op := data[pos]
		info := opTable[op]
		if !info.valid {
			t.Fatalf("unknown opcode 0x%02x at %d", op, pos)
		}
		ops = append(ops, op)
		pos++
		switch info.arg {
		case argFixed:
			pos += info.n
		case argLine, argLine2:
			lines := 1
			if info.arg == argLine2 {
				lines = 2
			}
			var parts []string
			for range lines {
				i := bytes.IndexByte(data[pos:], '\n')
				parts = append(parts, string(data[pos:pos+i]))
				pos += i + 1
			}
			if op == 'c' {
				globals = append(globals, strings.Join(parts, "."))
			}
		case argLen1:
			pos += 1 + int(data[pos])
		case argLen4:
			pos += 4 + int(binary.LittleEndian.Uint32(data[pos:]))
		case argLen8:
			pos += 8 + int(binary.LittleEndian.Uint64(data[pos:]))
		}
		if op == '.' {
			break
		}
	}
	if pos != len(data) {
		t.Fatalf("pickle has %d trailing bytes", len(data)-pos)
	}
	return ops, globals
}

// torch 1.13 _weights_only_unpickler opcodes (pth-format.md §3.3); BINFLOAT
// is accepted only by torch >= 2.x.
var weightsOnly113 = map[byte]bool{
	0x80: true, '.': true, '(': true, 'c': true, 'R': true, 'b': true, 0x81: true, 'Q': true,
	'q': true, 'r': true, 'h': true, 'j': true, 'J': true, 'K': true, 'M': true, 0x8a: true,
	'X': true, 'U': true, 'N': true, 0x88: true, 0x89: true, ')': true, 't': true, 0x85: true,
	0x86: true, 0x87: true, ']': true, 'a': true, 'e': true, '}': true, 's': true, 'u': true, 0x8f: true,
}

func sampleTensors() map[DType]*Tensor {
	return map[DType]*Tensor{
		Float32:  {DType: Float32, Shape: []int{2, 3}, F32: []float32{1, -2, 3.5, float32(math.Inf(1)), 0, -0.125}},
		Float16:  {DType: Float16, Shape: []int{4}, F32: []float32{1, -2, 65504, 5.960464477539063e-08}},
		BFloat16: {DType: BFloat16, Shape: []int{2}, F32: []float32{1.5, math.Float32frombits(0xff7f0000)}},
		Float64:  {DType: Float64, Shape: []int{2}, F32: []float32{0.1, float32(math.Inf(1))}, F64: []float64{0.1, 1e300}},
		Int64:    {DType: Int64, Shape: []int{}, I64: []int64{math.MinInt64}},
		Int32:    {DType: Int32, Shape: []int{3}, I64: []int64{math.MinInt32, 0, math.MaxInt32}},
		Int16:    {DType: Int16, Shape: []int{2}, I64: []int64{-32768, 32767}},
		Int8:     {DType: Int8, Shape: []int{2}, I64: []int64{-128, 127}},
		Uint8:    {DType: Uint8, Shape: []int{1, 2}, I64: []int64{0, 255}},
		Bool:     {DType: Bool, Shape: []int{3}, I64: []int64{1, 0, 1}},
	}
}

func sampleRoot() *Dict {
	sd := NewStateDict()
	sd.Add("a.weight", NewFloat32([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6}))
	sd.Add("a.bn.num_batches_tracked", NewInt64([]int{}, []int64{7}))
	sd.Add("empty", NewFloat32([]int{0, 5}, []float32{}))
	sd.Add("ключ", NewFloat32([]int{1}, []float32{2}))
	sd.Metadata = NewOrderedDict()
	v := NewDict()
	v.Set("version", int64(2))
	sd.Metadata.Set("", v)
	sd.Metadata.Set("a.bn", v)

	meta := NewDict()
	dm := NewDict()
	dm.Set("classes", Tuple{"cat", "dog", "ünïcode"})
	meta.Set("dataset_meta", dm)
	meta.Set("epoch", int64(3))
	meta.Set("big", new(big.Int).Lsh(big.NewInt(1), 70))
	meta.Set("neg", int64(-5))
	meta.Set("flag", true)
	meta.Set("none", nil)
	meta.Set("list", List{int64(1), "x", Tuple{}})
	meta.Set("", "empty key")

	all := NewOrderedDict()
	for _, dt := range []DType{Float32, Float16, BFloat16, Float64, Int64, Int32, Int16, Int8, Uint8, Bool} {
		all.Set(string(dt), sampleTensors()[dt])
	}
	root := NewDict()
	root.Set("meta", meta)
	root.Set("state_dict", sd)
	root.Set("dtypes", all)
	return root
}

func TestRoundTrip(t *testing.T) {
	root := sampleRoot()
	b, err := Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	f, err := LoadBytes("rt.pth", b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Classes() == nil || !equalStrings(f.Classes(), []string{"cat", "dog", "ünïcode"}) {
		t.Errorf("classes %q", f.Classes())
	}
	meta := f.Meta()
	for _, k := range []string{"epoch", "neg", "flag", "none", ""} {
		got, _ := meta.Get(k)
		want, _ := root.Dict("meta").Get(k)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("meta[%q] = %#v, want %#v", k, got, want)
		}
	}
	if got, _ := meta.Get("big"); got.(*big.Int).Cmp(new(big.Int).Lsh(big.NewInt(1), 70)) != 0 {
		t.Errorf("big = %v", got)
	}
	if got, _ := meta.Get("list"); !reflect.DeepEqual(got, List{int64(1), "x", Tuple{}}) {
		t.Errorf("list = %#v", got)
	}
	sd, err := f.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	want := root.getOr("state_dict").(*StateDict)
	if !reflect.DeepEqual(sd.Keys, want.Keys) {
		t.Fatalf("keys %q, want %q", sd.Keys, want.Keys)
	}
	for _, k := range want.Keys {
		if !tensorsEqual(sd.Tensors[k], want.Tensors[k]) {
			t.Errorf("%s: %+v, want %+v", k, sd.Tensors[k], want.Tensors[k])
		}
	}
	if v := metadataVersion(sd, "a.bn.num_batches_tracked"); v != 2 {
		t.Errorf("_metadata version %d", v)
	}
	dts := f.Root.(*Dict).Dict("dtypes")
	if !dts.Ordered {
		t.Error("OrderedDict read back as dict")
	}
	for dt, w := range sampleTensors() {
		v, _ := dts.Get(string(dt))
		got := v.(*Tensor)
		if !tensorsEqual(got, w) {
			t.Errorf("%s: got %+v, want %+v", dt, got, w)
		}
	}
	// Re-save of what was read gives identical bytes.
	b2, err := Marshal(f.Root.(*Dict))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Error("re-save is not byte-identical")
	}
}

func tensorsEqual(a, b *Tensor) bool {
	if a.DType != b.DType || !slices.Equal(a.Shape, b.Shape) || len(a.F32) != len(b.F32) || len(a.I64) != len(b.I64) {
		return false
	}
	for i := range a.F32 {
		if math.Float32bits(a.F32[i]) != math.Float32bits(b.F32[i]) {
			return false
		}
	}
	for i := range a.I64 {
		if a.I64[i] != b.I64[i] {
			return false
		}
	}
	if a.DType == Float64 && len(b.F64) > 0 && !reflect.DeepEqual(a.F64, b.F64) {
		return false
	}
	return true
}

func TestResaveFixtureDeterministic(t *testing.T) {
	for _, name := range []string{"checkpoint/tiny_train.pth", "checkpoint/tiny_deploy.pth", "checkpoint/optimizer_base_lr.pth"} {
		f, err := Load(fixtures.Testdata(t, name))
		if err != nil {
			t.Fatal(err)
		}
		root := f.Root.(*Dict)
		b1, err := Marshal(root)
		if err != nil {
			t.Fatal(err)
		}
		f2, err := LoadBytes("resaved", b1)
		if err != nil {
			t.Fatal(err)
		}
		if !valuesEqual(f.Root, f2.Root) {
			t.Errorf("%s: re-saved values differ", name)
		}
		b2, err := Marshal(f2.Root.(*Dict))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1, b2) {
			t.Errorf("%s: save→load→save not byte-identical", name)
		}
		checkArchive(t, b1, true)
	}
}

// valuesEqual compares decoded values deeply (tensors bitwise).
func valuesEqual(a, b any) bool {
	switch x := a.(type) {
	case *Tensor:
		y, ok := b.(*Tensor)
		return ok && tensorsEqual(x, y)
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || x.Ordered != y.Ordered || len(x.Items) != len(y.Items) {
			return false
		}
		for i := range x.Items {
			if !keyEqual(x.Items[i].Key, y.Items[i].Key) || !valuesEqual(x.Items[i].Value, y.Items[i].Value) {
				return false
			}
		}
		if (x.Attrs == nil) != (y.Attrs == nil) {
			return false
		}
		return x.Attrs == nil || valuesEqual(x.Attrs, y.Attrs)
	case List:
		y, ok := b.(List)
		return ok && slicesEqual(x, y)
	case Tuple:
		y, ok := b.(Tuple)
		return ok && slicesEqual(x, y)
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	}
	return reflect.DeepEqual(a, b)
}

func slicesEqual(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !valuesEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

// checkArchive verifies the container rules of pth-format.md §3.1 and audits
// the pickle's opcodes and globals (§3.3).
func checkArchive(t *testing.T, b []byte, allowFloat bool) {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("PK\x03\x04")) {
		t.Fatal("does not start with a local file header")
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var pkl []byte
	seen := map[string]bool{}
	for _, f := range zr.File {
		seen[f.Name] = true
		if !strings.HasPrefix(f.Name, "archive/") {
			t.Errorf("record %q outside the top folder", f.Name)
		}
		if f.Method != zip.Store {
			t.Errorf("%s: method %d", f.Name, f.Method)
		}
		if strings.Contains(f.Name, ".format_version") || strings.Contains(f.Name, ".storage_alignment") {
			t.Errorf("unexpected record %s", f.Name)
		}
		off, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		if off%64 != 0 {
			t.Errorf("%s: data at offset %d, not 64-aligned", f.Name, off)
		}
		if !f.Modified.IsZero() && f.ModifiedTime != 0 {
			t.Errorf("%s: has a timestamp", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc) // checks the CRC at EOF
		if err != nil {
			t.Errorf("%s: %v", f.Name, err)
		}
		switch f.Name {
		case "archive/version":
			if string(data) != "3\n" {
				t.Errorf("version %q", data)
			}
		case "archive/data.pkl":
			pkl = data
		}
	}
	if !seen["archive/version"] || pkl == nil {
		t.Fatal("version or data.pkl missing")
	}
	ops, globals := pickleOps(t, pkl)
	if ops[0] != 0x80 || pkl[1] != 2 {
		t.Errorf("not protocol 2")
	}
	for _, op := range ops {
		if !weightsOnly113[op] && !(allowFloat && op == 'G') {
			t.Errorf("opcode 0x%02x not in torch 1.13's weights-only set", op)
		}
	}
	for _, g := range globals {
		if g != "collections.OrderedDict" && g != "torch._utils._rebuild_tensor_v2" && !(strings.HasPrefix(g, "torch.") && strings.HasSuffix(g, "Storage") && strings.Count(g, ".") == 1) {
			t.Errorf("global %s not allowed", g)
		}
	}
	// Record lengths equal numel*elemsize: LoadBytes checks them exactly.
	if _, err := LoadBytes("check", b); err != nil {
		t.Error(err)
	}
}

func TestWrittenArchiveStructure(t *testing.T) {
	root := sampleRoot()
	b, err := Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	checkArchive(t, b, false)
	// A float in the data needs BINFLOAT (refused by 1.13 weights-only).
	root.Dict("meta").Set("lr", 0.1)
	b, err = Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	ops, _ := pickleOps(t, extractPickle(t, b))
	if bytes.IndexByte(ops, 'G') < 0 {
		t.Error("float not written as BINFLOAT")
	}
}

func extractPickle(t *testing.T, b []byte) []byte {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open("archive/data.pkl")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	return data
}

func TestIntEncoding(t *testing.T) {
	cases := []struct {
		v    int64
		want []byte
	}{
		{0, []byte{'K', 0}},
		{255, []byte{'K', 0xff}},
		{256, []byte{'M', 0, 1}},
		{65535, []byte{'M', 0xff, 0xff}},
		{65536, []byte{'J', 0, 0, 1, 0}},
		{-1, []byte{'J', 0xff, 0xff, 0xff, 0xff}},
		{math.MinInt32, []byte{'J', 0, 0, 0, 0x80}},
		{math.MaxInt32, []byte{'J', 0xff, 0xff, 0xff, 0x7f}},
		{math.MaxInt32 + 1, []byte{0x8a, 5, 0, 0, 0, 0x80, 0}},
		{math.MinInt32 - 1, []byte{0x8a, 5, 0xff, 0xff, 0xff, 0x7f, 0xff}},
		{math.MaxInt64, []byte{0x8a, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
		{math.MinInt64, []byte{0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x80}},
		{1 << 40, []byte{0x8a, 6, 0, 0, 0, 0, 0, 1}},
	}
	for _, c := range cases {
		p := &pickler{}
		p.int64(c.v)
		if !bytes.Equal(p.buf.Bytes(), c.want) {
			t.Errorf("%d: % x, want % x", c.v, p.buf.Bytes(), c.want)
		}
		// And it decodes back through the full reader, also as shape/numel.
		root := NewDict()
		root.Set("v", c.v)
		b, err := Marshal(root)
		if err != nil {
			t.Fatal(err)
		}
		f, err := LoadBytes("int", b)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := f.Root.(*Dict).Get("v"); got != c.v {
			t.Errorf("%d read back as %v", c.v, got)
		}
	}
	// Python: encode_long(255) == b'\xff\x00', encode_long(-256) == b'\x00\xff'.
	for _, c := range []struct {
		v    int64
		want []byte
	}{{255, []byte{0xff, 0}}, {-256, []byte{0, 0xff}}, {-128, []byte{0x80}}, {128, []byte{0x80, 0}}, {-129, []byte{0x7f, 0xff}}} {
		got, _ := encodeLong(big.NewInt(c.v))
		if !bytes.Equal(got, c.want) {
			t.Errorf("encodeLong(%d) = % x, want % x", c.v, got, c.want)
		}
	}
	// Big ints beyond int64.
	for _, s := range []string{"18446744073709551616", "-18446744073709551617", "170141183460469231731687303715884105727"} {
		x, _ := new(big.Int).SetString(s, 10)
		root := NewDict()
		root.Set("v", x)
		b, err := Marshal(root)
		if err != nil {
			t.Fatal(err)
		}
		f, err := LoadBytes("big", b)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := f.Root.(*Dict).Get("v")
		if g, ok := got.(*big.Int); !ok || g.Cmp(x) != 0 {
			t.Errorf("%s read back as %v", s, got)
		}
	}
}

func TestSaveAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.pth")
	if err := Save(path, sampleRoot()); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(path)
	if err := Save(path, sampleRoot()); err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(path)
	if !bytes.Equal(b1, b2) {
		t.Error("not deterministic")
	}
	// A failing save leaves the old file and no temporary behind.
	bad := NewDict()
	bad.Set("x", &Object{Module: "a", Name: "b"})
	err := Save(path, bad)
	var ue UnsupportedError
	if !errors.As(err, &ue) {
		t.Errorf("err = %v, want UnsupportedError", err)
	}
	b3, _ := os.ReadFile(path)
	if !bytes.Equal(b1, b3) {
		t.Error("failed save changed the file")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries", len(ents))
	}
	if _, err := Load(path); err != nil {
		t.Error(err)
	}
}

func TestHalfConversion(t *testing.T) {
	// Every float16 bit pattern survives half→float32→half.
	for h := 0; h < 1<<16; h++ {
		f := halfToFloat32(uint16(h))
		if f != f { // NaN payloads are kept only approximately
			continue
		}
		if g := float32ToHalf(f); g != uint16(h) {
			t.Fatalf("0x%04x -> %v -> 0x%04x", h, f, g)
		}
	}
	if float32ToHalf(65520) != 0x7c00 || float32ToHalf(1+1.0/2048) != 0x3c00 || float32ToHalf(1+3.0/2048) != 0x3c02 {
		t.Error("rounding")
	}
	if float32ToBFloat16(1.00390625) != 0x3f80 || float32ToBFloat16(1.01171875) != 0x3f82 {
		t.Error("bfloat16 rounding")
	}
}
