package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"os"
	"strconv"
	"strings"

	"github.com/nlpodyssey/gopickle/types"
)

// Container formats reported in File.Format.
const (
	FormatZip    = "zip"    // torch >= 1.6 default
	FormatLegacy = "legacy" // _use_new_zipfile_serialization=False
)

// File is a decoded checkpoint.
type File struct {
	Path   string // name given to Load/LoadBytes
	Format string // FormatZip or FormatLegacy
	// Root is the top-level object: for mmengine/mmpretrain checkpoints a
	// *Dict with "meta", "state_dict", ...; for bare state dicts an ordered
	// *Dict of *Tensor.
	Root any
}

// Load reads and decodes the checkpoint at path. Errors are *Error values
// naming the file and wrapping a FormatError, an UnsupportedError or an I/O
// error. Zip files are read through io.ReaderAt (not slurped); legacy files
// are read into memory.
func Load(path string) (*File, error) {
	// Checked before opening: opening a FIFO blocks until a writer comes,
	// where no interrupt reaches, and a checkpoint is read by random
	// access, which only a regular file allows.
	if st, err := os.Stat(path); err == nil && !st.IsDir() && !st.Mode().IsRegular() {
		return nil, &Error{Path: path, Err: FormatError("not a regular file (a FIFO, socket or device): a .pth file is read by random access")}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	if st.IsDir() {
		return nil, &Error{Path: path, Err: FormatError("is a directory, not a .pth file")}
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, &Error{Path: path, Err: err}
	}
	head = head[:n]
	kind, err := sniff(head, st.Size())
	if err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	var root any
	switch kind {
	case FormatZip:
		root, err = guarded(func() (any, error) { return readZip(f, st.Size()) })
	default:
		var data []byte
		data, err = io.ReadAll(io.NewSectionReader(f, 0, st.Size()))
		if err != nil {
			return nil, &Error{Path: path, Err: err}
		}
		root, err = guarded(func() (any, error) { return readLegacy(data) })
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Path = path
			return nil, e
		}
		return nil, &Error{Path: path, Err: err}
	}
	return &File{Path: path, Format: kind, Root: root}, nil
}

// LoadBytes decodes a checkpoint held in memory; name is used in errors and
// File.Path.
func LoadBytes(name string, data []byte) (*File, error) {
	kind, err := sniff(data[:min(len(data), 512)], int64(len(data)))
	if err != nil {
		return nil, &Error{Path: name, Err: err}
	}
	var root any
	if kind == FormatZip {
		root, err = guarded(func() (any, error) { return readZip(bytes.NewReader(data), int64(len(data))) })
	} else {
		root, err = guarded(func() (any, error) { return readLegacy(data) })
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Path = name
			return nil, e
		}
		return nil, &Error{Path: name, Err: err}
	}
	return &File{Path: name, Format: kind, Root: root}, nil
}

// guarded runs fn and turns any panic into a FormatError: the package
// boundary never panics on bad input.
func guarded(fn func() (any, error)) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, formatErrorf("malformed input (decoder panic: %v)", r)
		}
	}()
	return fn()
}

// sniff identifies the container from the first bytes.
func sniff(head []byte, size int64) (string, error) {
	if size == 0 {
		return "", FormatError("empty file")
	}
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return FormatZip, nil
	case bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return "", FormatError("empty zip archive")
	case len(head) >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5:
		return FormatLegacy, nil
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return "", UnsupportedError("tar archive (the pre-2017 torch tar checkpoint format, or not a checkpoint at all)")
	case bytes.Count(head, []byte{0}) == len(head):
		return "", FormatError("file starts with only zero bytes (truncated or preallocated download?)")
	case bytes.HasPrefix(head, []byte("version https://git-lfs")):
		return "", FormatError("Git LFS pointer file, not the checkpoint itself (run `git lfs pull`)")
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "", UnsupportedError("gzip-compressed file; decompress it first")
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n\ufeff")
	lower := strings.ToLower(string(trimmed[:min(len(trimmed), 64)]))
	if strings.HasPrefix(lower, "<!doctype html") || strings.HasPrefix(lower, "<html") || strings.HasPrefix(lower, "<?xml") {
		return "", FormatError("file is an HTML/XML page, not a checkpoint (a failed download?)")
	}
	if len(head) > 0 && head[0] == 0x80 {
		return "", unsupportedf("pickle protocol %d", head[min(1, len(head)-1)])
	}
	return "", formatErrorf("not a PyTorch checkpoint (starts with %q)", head[:min(len(head), 16)])
}

// readRecord reads a zip record completely, requiring exactly want bytes
// (want < 0: any size up to limit), and verifies its CRC-32.
func readRecord(f *zip.File, want int64, limit int64) ([]byte, error) {
	if want >= 0 && f.UncompressedSize64 != uint64(want) {
		return nil, formatErrorf("record %q holds %d bytes, want %d (numel*elemsize)", f.Name, f.UncompressedSize64, want)
	}
	if f.UncompressedSize64 > uint64(limit) {
		return nil, unsupportedf("record %q of %d bytes is too large", f.Name, f.UncompressedSize64)
	}
	switch f.Method {
	case zip.Store:
		if f.CompressedSize64 != f.UncompressedSize64 {
			return nil, formatErrorf("stored record %q has compressed size %d != size %d", f.Name, f.CompressedSize64, f.UncompressedSize64)
		}
	case zip.Deflate:
		// Deflate cannot expand more than ~1032:1; refuse zip bombs before
		// allocating.
		if f.UncompressedSize64 > 1032*f.CompressedSize64+1024 {
			return nil, formatErrorf("record %q claims an impossible compression ratio", f.Name)
		}
	default:
		return nil, unsupportedf("record %q uses zip compression method %d", f.Name, f.Method)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, formatErrorf("record %q: %v", f.Name, err)
	}
	defer rc.Close()
	buf := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(rc, buf); err != nil {
		if errors.Is(err, zip.ErrChecksum) {
			return nil, formatErrorf("record %q: CRC-32 mismatch", f.Name)
		}
		return nil, formatErrorf("record %q is shorter than its declared %d bytes: %v", f.Name, len(buf), err)
	}
	var one [1]byte
	n, err := rc.Read(one[:])
	if n > 0 {
		return nil, formatErrorf("record %q is longer than its declared %d bytes", f.Name, len(buf))
	}
	if err != io.EOF {
		if errors.Is(err, zip.ErrChecksum) {
			return nil, formatErrorf("record %q: CRC-32 mismatch", f.Name)
		}
		if err == nil {
			err = io.ErrNoProgress
		}
		return nil, formatErrorf("record %q: %v", f.Name, err)
	}
	if f.CRC32 == 0 && len(buf) > 0 && crc32.ChecksumIEEE(buf) != 0 {
		// archive/zip skips the check when the header CRC is zero and
		// there is no data descriptor.
		return nil, formatErrorf("record %q: CRC-32 mismatch (header CRC is 0)", f.Name)
	}
	return buf, nil
}

func readZip(ra io.ReaderAt, size int64) (any, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, formatErrorf("%s (truncated or damaged file?)", strings.TrimPrefix(err.Error(), "zip: "))
	}
	if len(zr.File) == 0 {
		return nil, FormatError("zip archive has no records")
	}
	first := zr.File[0].Name
	slash := strings.IndexByte(first, '/')
	if slash <= 0 {
		return nil, formatErrorf("zip record %q is not inside a top folder (not a torch.save archive)", first)
	}
	top := first[:slash+1]
	records := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, top) {
			continue // torch rejects stray records; they are harmless here
		}
		name := f.Name[len(top):]
		if _, dup := records[name]; dup {
			return nil, formatErrorf("duplicate zip record %q", f.Name)
		}
		records[name] = f
		if name == "constants.pkl" || strings.HasPrefix(name, "code/") {
			return nil, UnsupportedError("TorchScript archive (torch.jit.save); load it in Python with torch.jit.load and torch.save its state_dict()")
		}
	}
	for _, name := range []string{".data/version", "version"} {
		if f, ok := records[name]; ok {
			b, err := readRecord(f, -1, 64)
			if err != nil {
				return nil, err
			}
			v, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				return nil, formatErrorf("record %q holds %q, not a version number", f.Name, b)
			}
			if v < 1 || v > 10 {
				return nil, unsupportedf("archive format version %d", v)
			}
			break
		}
	}
	if f, ok := records["byteorder"]; ok {
		b, err := readRecord(f, -1, 64)
		if err != nil {
			return nil, err
		}
		if string(b) != "little" {
			return nil, unsupportedf("byteorder %q (only little-endian archives are supported)", b)
		}
	}
	pf, ok := records["data.pkl"]
	if !ok {
		return nil, formatErrorf("%sdata.pkl not found", top)
	}
	pkl, err := readRecord(pf, -1, maxPickleBytes)
	if err != nil {
		return nil, err
	}
	l := newLoader(size, false)
	v, n, err := l.unpickle(pkl, true)
	if err != nil {
		return nil, err
	}
	if n != len(pkl) {
		return nil, formatErrorf("%d trailing bytes after the pickle in data.pkl", len(pkl)-n)
	}
	for _, r := range l.storages {
		f, ok := records["data/"+r.key]
		if !ok {
			return nil, formatErrorf("storage record %sdata/%s not found", top, r.key)
		}
		r.raw, err = readRecord(f, int64(r.numel)*int64(r.dtype.Size()), size*1032+1024)
		if err != nil {
			return nil, err
		}
		r.ok = true
	}
	return l.convert(v)
}

// legacyMagic is torch.serialization.MAGIC_NUMBER.
var legacyMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

func readLegacy(data []byte) (any, error) {
	root, l, err := parseLegacy(data, 0)
	if err != nil {
		return nil, err
	}
	return l.convert(root)
}

// parseLegacy reads a legacy torch.save file: it returns the main pickle's
// decoded value, whose storages (in the returned loader) are filled.
// depth is 1 for a storage embedded in a plain pickle.
func parseLegacy(data []byte, depth int) (any, *loader, error) {
	l := newLoader(int64(len(data)), true)
	l.depth = depth
	pos := 0
	next := func(what string, storages bool) (any, error) {
		v, n, err := l.unpickle(data[pos:], storages)
		if err != nil {
			switch e := err.(type) {
			case FormatError:
				return nil, FormatError(what + ": " + string(e))
			case UnsupportedError:
				return nil, UnsupportedError(what + ": " + string(e))
			}
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		pos += n
		return v, nil
	}
	magic, err := next("legacy header", false)
	if err != nil {
		return nil, nil, err
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagic) != 0 {
		return nil, nil, FormatError("a pickle, but not a torch.save file (magic number missing)")
	}
	proto, err := next("legacy header", false)
	if err != nil {
		return nil, nil, err
	}
	if p, ok := proto.(int); !ok || p != 1001 {
		return nil, nil, unsupportedf("legacy protocol version %v", proto)
	}
	sys, err := next("legacy header", false)
	if err != nil {
		return nil, nil, err
	}
	if d, ok := sys.(*types.Dict); ok {
		if le, ok := d.Get("little_endian"); ok && le != true {
			return nil, nil, UnsupportedError("big-endian legacy checkpoint")
		}
	}
	root, err := next("legacy main pickle", true)
	if err != nil {
		return nil, nil, err
	}
	keysV, err := next("legacy storage key list", false)
	if err != nil {
		return nil, nil, err
	}
	keys, ok := keysV.(*types.List)
	if !ok {
		return nil, nil, FormatError("legacy storage key list is not a list")
	}
	seen := map[string]bool{}
	for _, kv := range *keys {
		key, ok := kv.(string)
		if !ok {
			return nil, nil, FormatError("legacy storage key is not a string")
		}
		r, ok := l.storages[key]
		if !ok || seen[key] {
			return nil, nil, formatErrorf("legacy storage %q is not referenced by the pickle (or listed twice)", key)
		}
		seen[key] = true
		if len(data)-pos < 8 {
			return nil, nil, formatErrorf("legacy file truncated before storage %q", key)
		}
		numel := int64(binary.LittleEndian.Uint64(data[pos:]))
		pos += 8
		if numel != int64(r.numel) {
			return nil, nil, formatErrorf("legacy storage %q holds %d elements, the pickle declares %d", key, numel, r.numel)
		}
		nbytes := numel * int64(r.dtype.Size())
		if nbytes > int64(len(data)-pos) {
			return nil, nil, formatErrorf("legacy file truncated in storage %q (%d bytes declared, %d left)", key, nbytes, len(data)-pos)
		}
		r.raw = data[pos : pos+int(nbytes)]
		r.ok = true
		pos += int(nbytes)
	}
	if len(seen) != len(l.storages) {
		return nil, nil, FormatError("legacy file lacks data for some storages")
	}
	if pos != len(data) {
		return nil, nil, formatErrorf("%d trailing bytes after the last legacy storage", len(data)-pos)
	}
	return root, l, nil
}
