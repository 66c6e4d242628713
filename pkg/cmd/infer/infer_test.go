package infer

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
)

// What upstream's ImageClassificationInferencer returned for the tiny
// checkpoints on the two PNG photos that are committed under testdata
// (shared fixtures manifest.json, infer.results.tiny). PNG decoding is
// lossless, so the inputs are the same pixels; scores agree to float32
// noise.
var upstreamTiny = map[string]map[string]struct {
	label int
	score float64
	class string
}{
	"train": {
		"skimage_chelsea.png": {5, 0.6537781357765198, "dog"},
		"skimage_camera.png":  {9, 0.31827792525291443, "truck"},
	},
	"deploy": {
		"skimage_chelsea.png": {5, 0.6537839770317078, "dog"},
		"skimage_camera.png":  {9, 0.3182774484157562, "truck"},
	},
}

func images(t *testing.T) []string {
	return []string{fixtures.Testdata(t, "imagenet/skimage_chelsea.png"), fixtures.Testdata(t, "imagenet/skimage_camera.png")}
}

func runJSON(t *testing.T, opts *Options) []Result {
	t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	opts.IO, opts.JSON = ios, true
	if opts.TopK == 0 {
		opts.TopK = 5
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = 8
	}
	if err := run(context.Background(), opts); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var res []Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return res
}

func TestInferTinyMatchesUpstream(t *testing.T) {
	cfgs := map[string]string{"train": "demo/mobileone-tiny_demo.py", "deploy": "demo/mobileone-tiny_demo_deploy.py"}
	for graph, want := range upstreamTiny {
		for _, ckpt := range []string{"train", "deploy"} {
			if graph == "train" && ckpt == "deploy" {
				continue // a deploy checkpoint cannot feed the train graph
			}
			res := runJSON(t, &Options{Images: images(t), Config: fixtures.Testdata(t, cfgs[graph]),
				Checkpoint: fixtures.Testdata(t, "checkpoint/tiny_"+ckpt+".pth")})
			if len(res) != 2 {
				t.Fatalf("%d results", len(res))
			}
			for _, r := range res {
				w := want[filepath.Base(r.Image)]
				if r.PredLabel != w.label || r.PredClass != w.class || math.Abs(float64(r.PredScore)-w.score) > 2e-5 {
					t.Errorf("%s graph, %s checkpoint, %s: got %d %q %.9f, upstream %d %q %.9f",
						graph, ckpt, r.Image, r.PredLabel, r.PredClass, r.PredScore, w.label, w.class, w.score)
				}
				if len(r.TopK) != 5 || r.TopK[0].Label != r.PredLabel || r.TopK[0].Score < r.TopK[4].Score {
					t.Errorf("top-k %+v", r.TopK)
				}
			}
		}
	}
}

// Batching must not change results: one image per pass and all at once.
func TestInferBatchSizeDoesNotMatter(t *testing.T) {
	imgs := append(images(t), fixtures.Testdata(t, "imagenet/gomod_go-turns-two-280x360.jpeg"))
	cfg, ckpt := fixtures.Testdata(t, "demo/mobileone-tiny_demo.py"), fixtures.Testdata(t, "checkpoint/tiny_train.pth")
	a := runJSON(t, &Options{Images: imgs, Config: cfg, Checkpoint: ckpt, BatchSize: 1})
	b := runJSON(t, &Options{Images: imgs, Config: cfg, Checkpoint: ckpt, BatchSize: 3})
	for i := range a {
		if a[i].Image != b[i].Image || a[i].PredLabel != b[i].PredLabel || math.Abs(float64(a[i].PredScore-b[i].PredScore)) > 1e-6 {
			t.Errorf("%d: batch 1 %+v, batch 3 %+v", i, a[i], b[i])
		}
	}
}

// The JSON scores are float32 values printed so that they round-trip.
func TestInferJSONRoundTripsFloat32(t *testing.T) {
	ios, _, out, _ := cmdutil.Test()
	err := run(context.Background(), &Options{IO: ios, Images: images(t)[:1], Config: fixtures.Testdata(t, "demo/mobileone-tiny_demo.py"),
		Checkpoint: fixtures.Testdata(t, "checkpoint/tiny_train.pth"), TopK: 3, BatchSize: 1, JSON: true})
	if err != nil {
		t.Fatal(err)
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(out.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"image", "pred_label", "pred_score", "pred_class", "topk"} {
		if _, ok := raw[0][key]; !ok {
			t.Errorf("JSON lacks %q: %s", key, out)
		}
	}
	var f32 float32
	json.Unmarshal(raw[0]["pred_score"], &f32)
	if text := string(raw[0]["pred_score"]); text != strconv.FormatFloat(float64(f32), 'g', -1, 32) || f32 == 0 {
		t.Errorf("pred_score %s is not the shortest text of a float32", text)
	}
}

func TestInferErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.png")
	os.WriteFile(corrupt, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644)
	cfg, ckpt := fixtures.Testdata(t, "demo/mobileone-tiny_demo.py"), fixtures.Testdata(t, "checkpoint/tiny_train.pth")
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{Images: []string{filepath.Join(dir, "missing.jpg")}, Config: cfg, Checkpoint: ckpt}, "missing.jpg"},
		{Options{Images: []string{corrupt}, Config: cfg, Checkpoint: ckpt}, "corrupt.png"},
		{Options{Images: images(t), Config: cfg, Checkpoint: filepath.Join(dir, "nope.pth")}, "nope.pth"},
		{Options{Images: images(t), Config: cfg}, "--checkpoint"},
		{Options{Images: images(t), Config: filepath.Join(dir, "nope.py"), Checkpoint: ckpt}, "nope.py"},
	} {
		ios, _, _, _ := cmdutil.Test()
		c.opts.IO, c.opts.TopK, c.opts.BatchSize = ios, 5, 8
		err := run(context.Background(), &c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want it to mention %q", c.opts, err, c.want)
		}
	}
	ios, _, _, _ := cmdutil.Test()
	cmd := NewCmdInfer(&cmdutil.Factory{IO: ios}, func(context.Context, *Options) error { return nil })
	cmd.SetArgs([]string{"x.jpg", "--topk", "0"})
	cmd.SetOut(ios.ErrOut)
	cmd.SetErr(ios.ErrOut)
	if err := cmd.Execute(); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("--topk 0: %v", err)
	}
}

// A checkpoint URL is downloaded once into $TORCH_HOME/hub/checkpoints
// (served here by a local HTTP server) and then used from the cache.
func TestInferDownloadsCheckpoint(t *testing.T) {
	data, err := os.ReadFile(fixtures.Testdata(t, "checkpoint/tiny_train.pth"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	name := fmt.Sprintf("tiny_train_20240101-%x.pth", sum[:4])
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Write(data)
	}))
	defer srv.Close()
	t.Setenv("TORCH_HOME", t.TempDir())
	for i := 0; i < 2; i++ {
		res := runJSON(t, &Options{Images: images(t)[:1], Config: fixtures.Testdata(t, "demo/mobileone-tiny_demo.py"), Checkpoint: srv.URL + "/" + name})
		if res[0].PredLabel != 5 {
			t.Fatalf("pred_label %d", res[0].PredLabel)
		}
	}
	if hits != 1 {
		t.Errorf("server hit %d times, want 1 (second run from the cache)", hits)
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("TORCH_HOME"), "hub", "checkpoints", name)); err != nil {
		t.Errorf("not cached: %v", err)
	}
}
