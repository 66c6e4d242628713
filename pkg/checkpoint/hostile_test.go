package checkpoint

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"errors"
	"math/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

// loadWithin runs LoadBytes with a timeout (gopickle hangs on some inputs).
func loadWithin(t *testing.T, data []byte) (*File, error) {
	t.Helper()
	type res struct {
		f   *File
		err error
	}
	ch := make(chan res, 1)
	go func() {
		f, err := LoadBytes("hostile.pth", data)
		ch <- res{f, err}
	}()
	select {
	case r := <-ch:
		return r.f, r.err
	case <-time.After(10 * time.Second):
		t.Fatal("LoadBytes did not return within 10s")
		return nil, nil
	}
}

// mustFail checks that data is rejected with an *Error wrapping a
// FormatError or UnsupportedError whose message contains want.
func mustFail(t *testing.T, data []byte, want string) {
	t.Helper()
	_, err := loadWithin(t, data)
	if err == nil {
		t.Fatalf("loaded without error, want %q", want)
	}
	var e *Error
	var fe FormatError
	var ue UnsupportedError
	if !errors.As(err, &e) || e.Path != "hostile.pth" {
		t.Errorf("error %v is not an *Error naming the file", err)
	}
	if !errors.As(err, &fe) && !errors.As(err, &ue) {
		t.Errorf("error %v is neither FormatError nor UnsupportedError", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not mention %q", err, want)
	}
}

type zrec struct {
	name   string
	data   []byte
	method uint16
}

func makeZip(t *testing.T, recs ...zrec) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, r := range recs {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: r.name, Method: r.method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(r.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// tensorPickle is a protocol-2 pickle of {'t': _rebuild_tensor_v2(...)} with
// the given persistent id items (after 'storage') and view.
func tensorPickle(pid func(p *pickler), offset int, size, stride []int) []byte {
	p := &pickler{}
	p.buf.WriteString("\x80\x02}(")
	_ = p.str("t")
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.buf.WriteByte('(')
	p.buf.WriteByte('(')
	_ = p.str("storage")
	pid(p)
	p.buf.WriteByte('t')
	p.buf.WriteByte('Q')
	p.int64(int64(offset))
	p.intTuple(size)
	p.intTuple(stride)
	p.buf.WriteByte(0x89)
	p.global("collections", "OrderedDict")
	p.buf.WriteString(")Rt")
	p.buf.WriteString("Ru.")
	return p.buf.Bytes()
}

func floatPID(key string, numel int) func(p *pickler) {
	return func(p *pickler) {
		p.global("torch", "FloatStorage")
		_ = p.str(key)
		_ = p.str("cpu")
		p.int64(int64(numel))
	}
}

func archiveWith(t *testing.T, pkl []byte, data0 []byte, extra ...zrec) []byte {
	recs := []zrec{{name: "archive/data.pkl", data: pkl}, {name: "archive/version", data: []byte("3\n")}}
	if data0 != nil {
		recs = append(recs, zrec{name: "archive/data/0", data: data0})
	}
	return makeZip(t, append(recs, extra...)...)
}

func TestHandmadeArchiveLoads(t *testing.T) {
	// The helpers above build a valid file; the hostile variants below
	// differ from it in one respect each.
	pkl := tensorPickle(floatPID("0", 3), 1, []int{2}, []int{1})
	f, err := loadWithin(t, archiveWith(t, pkl, make([]byte, 12)))
	if err != nil {
		t.Fatal(err)
	}
	if tn, _ := f.Root.(*Dict).Get("t"); tn.(*Tensor).Numel() != 2 {
		t.Fatalf("got %v", tn)
	}
}

func TestHostileInputs(t *testing.T) {
	tiny, err := os.ReadFile(fixtures.Testdata(t, "checkpoint/tiny_deploy.pth"))
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := os.ReadFile(fixtures.Testdata(t, "checkpoint/views_legacy.pth"))
	if err != nil {
		t.Fatal(err)
	}
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	tw.WriteHeader(&tar.Header{Name: "sys_info", Mode: 0o644, Size: 3})
	tw.Write([]byte("abc"))
	tw.Close()
	rng := rand.New(rand.NewSource(1))
	text := make([]byte, 2000)
	for i := range text {
		text[i] = byte('a' + rng.Intn(26))
	}
	good := tensorPickle(floatPID("0", 3), 0, []int{3}, []int{1})

	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty file"},
		{"zeros", make([]byte, 1024), "zero bytes"},
		{"tar", tarBuf.Bytes(), "tar"},
		{"0xff", []byte{0xff, 0xff, 0xff}, "not a PyTorch checkpoint"},
		{"text", text, "not a PyTorch checkpoint"},
		{"html", []byte("<!DOCTYPE html><html>404</html>"), "HTML"},
		{"lfs", []byte("version https://git-lfs.github.com/spec/v1\noid sha256:abc\n"), "Git LFS"},
		{"truncated zip", tiny[:len(tiny)/2], "zip"},
		{"truncated zip end", tiny[:len(tiny)-10], "zip"},
		{"short record", archiveWith(t, good, make([]byte, 8)), "holds 8 bytes, want 12"},
		{"long record", archiveWith(t, good, make([]byte, 16)), "holds 16 bytes, want 12"},
		{"missing record", archiveWith(t, good, nil), "not found"},
		{"huge declared size", archiveWith(t, tensorPickle(floatPID("0", 1<<40), 0, []int{3}, []int{1}), make([]byte, 12)), "want 4398046511104"},
		{"torchscript", archiveWith(t, good, make([]byte, 12), zrec{name: "archive/constants.pkl", data: []byte("\x80\x02).")}), "TorchScript"},
		{"no top folder", makeZip(t, zrec{name: "data.pkl", data: good}), "top folder"},
		{"no data.pkl", makeZip(t, zrec{name: "archive/version", data: []byte("3\n")}), "data.pkl not found"},
		{"big endian", archiveWith(t, good, make([]byte, 12), zrec{name: "archive/byteorder", data: []byte("big")}), "byteorder"},
		{"bad version", makeZip(t, zrec{name: "archive/data.pkl", data: good}, zrec{name: "archive/version", data: []byte("99\n")}, zrec{name: "archive/data/0", data: make([]byte, 12)}), "version 99"},
		{"pid arity", archiveWith(t, tensorPickle(func(p *pickler) { p.global("torch", "FloatStorage"); _ = p.str("0") }, 0, []int{3}, []int{1}), make([]byte, 12)), "persistent id with 3 items"},
		{"pid typename", archiveWith(t, []byte("\x80\x02(X\x04\x00\x00\x00blahctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x03tQ."), make([]byte, 12)), "persistent id of type"},
		{"pid class", archiveWith(t, tensorPickle(func(p *pickler) { p.global("os", "system"); _ = p.str("0"); _ = p.str("cpu"); p.int64(3) }, 0, []int{3}, []int{1}), make([]byte, 12)), "not a torch storage class"},
		{"complex storage", archiveWith(t, tensorPickle(func(p *pickler) {
			p.global("torch", "ComplexFloatStorage")
			_ = p.str("0")
			_ = p.str("cpu")
			p.int64(3)
		}, 0, []int{3}, []int{1}), make([]byte, 24)), "ComplexFloatStorage"},
		{"view out of range", archiveWith(t, tensorPickle(floatPID("0", 3), 1, []int{3}, []int{1}), make([]byte, 12)), "exceeds its storage"},
		{"stride out of range", archiveWith(t, tensorPickle(floatPID("0", 3), 0, []int{2, 2}, []int{1, 5}), make([]byte, 12)), "exceeds its storage"},
		{"expand bomb", archiveWith(t, tensorPickle(floatPID("0", 1), 0, []int{1 << 20, 1 << 10}, []int{0, 0}), make([]byte, 4)), "expand far beyond"},
		{"opcode 0xff", archiveWith(t, []byte("\x80\x02\xff."), nil), "opcode 0xff"},
		{"no STOP", archiveWith(t, []byte("\x80\x02}"), nil), "no STOP"},
		{"stack underflow", archiveWith(t, []byte("\x80\x02R."), nil), "underflow"},
		{"deep marks", archiveWith(t, append(append([]byte("\x80\x02"), bytes.Repeat([]byte("("), 5000)...), '.'), nil), "nesting"},
		{"deep lists", archiveWith(t, append(append(append([]byte("\x80\x02"), bytes.Repeat([]byte("]"), 3000)...), bytes.Repeat([]byte("a"), 2999)...), '.'), nil), "nested deeper"},
		{"huge string", archiveWith(t, []byte("\x80\x02X\xff\xff\xff\x7f."), nil), "runs past the end"},
		{"huge frame", archiveWith(t, []byte("\x95\xff\xff\xff\xff\xff\xff\xff\x7f}."), nil), "frame"},
		{"huge long", archiveWith(t, append([]byte("\x80\x02\x8b\x00\x00\x10\x00"), make([]byte, 1<<20)...), nil), "integer of"},
		{"empty long1", archiveWith(t, []byte("\x80\x02\x8a\x00."), nil), "LONG1"},
		{"self reference", archiveWith(t, []byte("\x80\x02]q\x00h\x00a."), nil), "recursive"},
		{"bad setitems", archiveWith(t, []byte("\x80\x02K\x01(K\x01K\x02u."), nil), "malformed pickle"},
		{"torch v3", archiveWith(t, []byte("\x80\x02ctorch._utils\n_rebuild_tensor_v3\n)R."), nil), "rebuild_tensor_v3"},
		{"trailing pickle bytes", archiveWith(t, []byte("\x80\x02}.junk"), nil), "trailing"},
		{"not torch legacy", []byte("\x80\x02}."), "magic"},
		{"module pid", archiveWith(t, []byte("\x80\x02(X\x06\x00\x00\x00moduleK\x01K\x02K\x03tQ."), nil), "nn.Module"},
	}
	for i := 1; i < 12; i++ {
		cut := len(legacy) * i / 12
		cases = append(cases, struct {
			name string
			data []byte
			want string
		}{"truncated legacy " + string(rune('a'+i)), legacy[:cut], ""})
	}
	cases = append(cases, struct {
		name string
		data []byte
		want string
	}{"legacy trailing", append(append([]byte{}, legacy...), 0), "trailing"})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { mustFail(t, c.data, c.want) })
	}
}

func TestBadCRC(t *testing.T) {
	b, err := Marshal(sampleRoot())
	if err != nil {
		t.Fatal(err)
	}
	zr, _ := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	for _, f := range zr.File {
		if f.Name != "archive/data/0" {
			continue
		}
		off, _ := f.DataOffset()
		bad := append([]byte{}, b...)
		bad[off] ^= 1
		mustFail(t, bad, "CRC-32 mismatch")
		return
	}
	t.Fatal("no data/0")
}

func TestDeflatedRecordLoads(t *testing.T) {
	pkl := tensorPickle(floatPID("0", 3), 0, []int{3}, []int{1})
	data := makeZip(t, zrec{name: "a/data.pkl", data: pkl, method: zip.Deflate}, zrec{name: "a/version", data: []byte("3\n")},
		zrec{name: "a/data/0", data: []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40}, method: zip.Deflate})
	f, err := loadWithin(t, data)
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := f.Root.(*Dict).Get("t")
	if got := tn.(*Tensor).F32; len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Errorf("got %v", got)
	}
}

func TestLoadErrorsNameFile(t *testing.T) {
	_, err := Load("/nonexistent/x.pth")
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "/nonexistent/x.pth") {
		t.Errorf("err = %v", err)
	}
	p := t.TempDir() + "/empty.pth"
	os.WriteFile(p, nil, 0o644)
	_, err = Load(p)
	var fe FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), p) {
		t.Errorf("err = %v", err)
	}
}
