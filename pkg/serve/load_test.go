package serve

import (
	"context"
	"flag"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/internal/loadtest"
)

// The full-size run is `make bench-serve` (bench/serve); these are the
// small sizes `make test` runs.
var (
	loadClients  = flag.Int("serve.clients", 8, "concurrent clients of TestLoadAndFaults")
	loadRequests = flag.Int("serve.requests", 64, "requests of TestLoadAndFaults")
)

// loadImages are the committed photos, and the shared fixture photos when
// they are there.
func loadImages(t *testing.T) []loadtest.Image {
	t.Helper()
	paths, _ := filepath.Glob(fixtures.Testdata(t, "imagenet") + "/*.[jp][pn]*g")
	if dir, ok := fixtures.SharedDir(t); ok {
		more, _ := filepath.Glob(filepath.Join(dir, "inputs/images/*"))
		paths = append(paths, more...)
	}
	imgs, err := loadtest.LoadImages(paths...)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) < 3 {
		t.Fatalf("only %d images: %v", len(imgs), paths)
	}
	return imgs
}

// Concurrent clients get an answer for every image, and each hostile
// request gets its 4xx or is cut off, while the server keeps answering
// and its heap stays bounded.
func TestLoadAndFaults(t *testing.T) {
	imgs := loadImages(t)
	const readTimeout = time.Second
	url, _ := start(t, nil, Options{MaxBatch: 8, MaxInFlight: max(*loadClients, 8)}, HTTPOptions{ReadTimeout: readTimeout})
	predictURL := url + "/predictions/tiny"
	before := heapInUse()
	rep, err := loadtest.Load(context.Background(), predictURL, imgs, *loadClients, *loadRequests)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep)
	if rep.Errors != 0 || rep.OK != *loadRequests {
		t.Fatalf("%s; failures %v", rep, rep.Failures)
	}
	var jpeg []byte
	for _, im := range imgs {
		if im.ContentType == "image/jpeg" {
			jpeg = im.Data
			break
		}
	}
	faults, err := loadtest.Faults(predictURL, loadtest.FaultOptions{JPEG: jpeg, ReadTimeout: readTimeout, BigBody: 100e6})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range faults {
		t.Log(f)
		if !f.OK {
			t.Error(f)
		}
	}
	rep, err = loadtest.Load(context.Background(), predictURL, imgs, *loadClients, *loadRequests)
	if err != nil || rep.Errors != 0 {
		t.Fatalf("after the faults: %v %s %v", err, rep, rep.Failures)
	}
	after := heapInUse()
	t.Logf("heap in use: %.1f MB before, %.1f MB after", float64(before)/1e6, float64(after)/1e6)
	// Nothing of the 100 MB bodies is kept: the heap grows by far less
	// than one of them (decode buffers and pooled activations are reused).
	if after > before+50e6 {
		t.Errorf("heap grew from %d to %d bytes", before, after)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
