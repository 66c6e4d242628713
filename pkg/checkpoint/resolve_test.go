package checkpoint

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestResolve(t *testing.T) {
	body := []byte("pretend checkpoint bytes")
	sum := sha256.Sum256(body)
	prefix := hex.EncodeToString(sum[:])[:8]
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if strings.Contains(r.URL.Path, "missing") {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	home := t.TempDir()
	t.Setenv("TORCH_HOME", home)
	cache := filepath.Join(home, "hub", "checkpoints")
	ctx := context.Background()

	if p, err := Resolve(ctx, "local/file.pth", nil); err != nil || p != "local/file.pth" {
		t.Errorf("local path: %q, %v", p, err)
	}

	good := srv.URL + "/mobileone/mobileone-s0_8xb32_in1k_20221110-" + prefix + ".pth"
	var prog bytes.Buffer
	p, err := Resolve(ctx, good, &prog)
	if err != nil {
		t.Fatal(err)
	}
	if p != filepath.Join(cache, "mobileone-s0_8xb32_in1k_20221110-"+prefix+".pth") {
		t.Errorf("path %q", p)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, body) {
		t.Error("content differs")
	}
	if !strings.Contains(prog.String(), "downloading") {
		t.Errorf("no progress output: %q", prog.String())
	}
	// Cached: no second request.
	before := hits.Load()
	if p2, err := Resolve(ctx, good, nil); err != nil || p2 != p {
		t.Errorf("cached: %q %v", p2, err)
	}
	if hits.Load() != before {
		t.Error("cached call hit the server")
	}

	// Wrong hash: error, nothing left in the cache.
	bad := srv.URL + "/x/model-deadbeef.pth"
	if _, err := Resolve(ctx, bad, nil); err == nil || !strings.Contains(err.Error(), "hash") {
		t.Errorf("bad hash: %v", err)
	}
	// HTTP error.
	if _, err := Resolve(ctx, srv.URL+"/missing-00000000.pth", nil); err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "local path") {
		t.Errorf("404: %v", err)
	}
	ents, _ := os.ReadDir(cache)
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("cache holds %q, want only the good file", names)
	}

	// Server down: helpful error.
	srv.Close()
	if _, err := Resolve(ctx, srv.URL+"/other-abc.pth", nil); err == nil || !strings.Contains(err.Error(), "pass its local path") {
		t.Errorf("server down: %v", err)
	}
}

func TestHubDirDefault(t *testing.T) {
	t.Setenv("TORCH_HOME", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if d, _ := HubDir(); d != "/xdg/torch/hub/checkpoints" {
		t.Errorf("HubDir = %q", d)
	}
}
