package predict

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

func TestListInputs(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"b.png", "A.JPG", "sub/c.jpeg", "sub/deeper/d.tif", ".hidden.png", ".git/e.png", "notes.txt", "x.webp"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), nil, 0o644)
	}
	got, err := ListInputs([]string{dir, filepath.Join(dir, "*.png"), "https://h/x/cat.jpg?s=1", filepath.Join(dir, "missing.jpg")})
	if err != nil {
		t.Fatal(err)
	}
	var rels []string
	for _, s := range got {
		rels = append(rels, s.Rel)
	}
	// Sorted by path (byte order), recursive, mmpretrain's extensions only,
	// hidden files and folders left out; the glob skips dot files as a
	// shell; the URL and the missing file are kept as given.
	want := "A.JPG b.png sub/c.jpeg sub/deeper/d.tif b.png cat.jpg missing.jpg"
	if strings.Join(rels, " ") != want {
		t.Errorf("got %q\nwant %q", strings.Join(rels, " "), want)
	}
	if _, err := ListInputs([]string{filepath.Join(dir, "*.gif")}); err == nil || !strings.Contains(err.Error(), "no file matches") {
		t.Errorf("empty glob: %v", err)
	}
	os.MkdirAll(filepath.Join(dir, "docs"), 0o755)
	os.WriteFile(filepath.Join(dir, "docs", "readme.txt"), nil, 0o644)
	if _, err := ListInputs([]string{filepath.Join(dir, "docs")}); err == nil || !strings.Contains(err.Error(), "no image files in this folder") {
		t.Errorf("folder without images: %v", err)
	}
}

func TestReaderFetchesURLs(t *testing.T) {
	png, err := os.ReadFile(fixtures.Testdata(t, "imagenet/skimage_chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cat.png":
			w.Write(png)
		case "/page.html":
			w.Write([]byte("<html>not an image</html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	read := Reader(context.Background(), srv.Client(), nil)
	if m, err := read(srv.URL + "/cat.png"); err != nil || m.Width != 451 || m.Height != 300 {
		t.Errorf("cat.png: %v", err)
	}
	if _, err := read(srv.URL + "/page.html"); err == nil || !strings.Contains(err.Error(), "/page.html: imagenet: invalid format: not an image") {
		t.Errorf("page.html: %v", err)
	}
	if _, err := read(srv.URL + "/gone.jpg"); err == nil || !strings.Contains(err.Error(), "/gone.jpg: HTTP 404") {
		t.Errorf("404: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Reader(ctx, srv.Client(), nil)(srv.URL + "/cat.png"); err == nil {
		t.Error("a cancelled fetch succeeded")
	}
}
