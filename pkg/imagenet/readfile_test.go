package imagenet

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

// TestReadFileBounded: what is not an image is refused after its first
// bytes, whatever its size, and a stream without end is not read whole.
func TestReadFileBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.bin")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("this is not an image")
	f.Truncate(300 << 20) // 300 MB, sparse
	f.Close()
	huge := filepath.Join(dir, "huge.png")
	f, _ = os.Create(huge)
	f.WriteString("\x89PNG\r\n\x1a\n")
	f.Truncate(MaxFileBytes + 1)
	f.Close()
	for _, c := range []struct{ name, path, want string }{
		{"a folder", dir, dir + ": imagenet: invalid format: is a directory, not an image file"},
		{"300 MB of something else", big, big + ": imagenet: invalid format: not an image in a known format"},
		{"/dev/zero", "/dev/zero", "/dev/zero: imagenet: invalid format: not an image in a known format"},
		{"a PNG over MaxFileBytes", huge, huge + ": imagenet: unsupported: file of 1073741825 bytes is larger than the 1073741824 bytes"},
		{"missing", filepath.Join(dir, "nope.jpg"), "imagenet: open " + filepath.Join(dir, "nope.jpg") + ": no such file or directory"},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := ReadFile(c.path)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want prefix %q", c.name, err, c.want)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("%s: allocated %d bytes to refuse it", c.name, n)
		}
	}
}

// TestDecodeErrorsSayFormatOnce: the standard decoders' own prefixes are
// not repeated after ours.
func TestDecodeErrorsSayFormatOnce(t *testing.T) {
	data, err := os.ReadFile(fixtures.Testdata(t, "imagenet/skimage_chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Decode(data[:len(data)/2])
	if err == nil || strings.Contains(err.Error(), "png: png:") || !strings.HasPrefix(err.Error(), "imagenet: invalid format: png: ") {
		t.Errorf("truncated PNG: %v", err)
	}
}

// TestTruncatedJPEGWarns: a JPEG cut short decodes as OpenCV decodes it,
// with libjpeg's warning.
func TestTruncatedJPEGWarns(t *testing.T) {
	data, err := os.ReadFile(fixtures.Testdata(t, "imagenet/gomod_go-turns-two-280x360.jpeg"))
	if err != nil {
		t.Fatal(err)
	}
	whole, err := Decode(data)
	if err != nil || len(whole.Warnings) != 0 {
		t.Fatalf("whole file: warnings %v, err %v", whole.Warnings, err)
	}
	cut, err := Decode(data[:len(data)*2/3])
	if err != nil {
		t.Fatal(err)
	}
	if len(cut.Warnings) == 0 || cut.Warnings[0] != "Premature end of JPEG file" {
		t.Errorf("warnings = %q", cut.Warnings)
	}
	if cut.Width != whole.Width || cut.Height != whole.Height {
		t.Errorf("size %dx%d, want the full %dx%d", cut.Width, cut.Height, whole.Width, whole.Height)
	}
}

// TestImageNetWithoutAnnotationFile: the ImageNet val split laid out
// flat without meta/val.txt names the missing annotation file.
func TestImageNetWithoutAnnotationFile(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "val"), 0o755)
	os.WriteFile(filepath.Join(root, "val", "ILSVRC2012_val_00000001.JPEG"), []byte("x"), 0o644)
	_, err := NewDataset(DatasetConfig{Type: "ImageNet", DataRoot: root, Split: "val"})
	want := "found 0 class folders, but the dataset has 1000 classes; the annotation file " + filepath.Join(root, "meta", "val.txt") + " does not exist"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
}

// TestDecodeChecksMemoryBudget: a picture whose pixels would not fit the
// budget is refused from its header, before they are allocated.
func TestDecodeChecksMemoryBudget(t *testing.T) {
	data, err := os.ReadFile(fixtures.Testdata(t, "imagenet/skimage_chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("MOBILEONE_MEMORY_LIMIT", "1MiB") // 451x300 needs 11*135300 = 1.4 MiB
	_, err = Decode(data)
	if err == nil || !strings.HasPrefix(err.Error(), "decoding a 451x300 png image needs about 1.4 MiB of memory, more than the limit of 1.0 MiB") {
		t.Errorf("err = %v", err)
	}
	t.Setenv("MOBILEONE_MEMORY_LIMIT", "2MiB")
	if _, err := Decode(data); err != nil {
		t.Errorf("within the budget: %v", err)
	}
}
