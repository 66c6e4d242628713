package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/clitest"
	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/cmd/infer"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/onnx"
	"github.com/mobileone-go/mobileone/pkg/onnx/ort"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "c", "k"}, "accepts 3 arg(s)"},
		{[]string{"export", "c", "k", "o.onnx", "--opset", "10"}, "--opset 10 is not supported: use 11..18"},
		{[]string{"export", "c", "k", "o.onnx", "--shape", "1,2,3"}, "--shape takes H or H,W"},
		{[]string{"export", "c", "k", "o.onnx", "--shape", "0"}, "--shape must be positive"},
	} {
		_, errOut, code := clitest.Run(t, c.args...)
		if code != cmdutil.ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want usage error with %q", c.args, code, errOut, c.want)
		}
	}
}

// TestBadCheckpoints: a file that is not a checkpoint, or a truncated one,
// is an error naming it, and no ONNX file (nor its directory) is written.
func TestBadCheckpoints(t *testing.T) {
	dir := t.TempDir()
	truncated := fixtures.TruncatedCopy(t, "checkpoint/tiny_train.pth", dir)
	notPth := fixtures.Testdata(t, "onnx/mmpretrain_tiny_deploy.onnx")
	for _, ckpt := range []string{truncated, notPth, filepath.Join(dir, "none.pth")} {
		out := filepath.Join(dir, "out", "m.onnx")
		_, errOut, code := clitest.Run(t, "export", fixtures.Testdata(t, "demo/mobileone-tiny_demo.py"), ckpt, out)
		if code != cmdutil.ExitError || !strings.Contains(errOut, ckpt) {
			t.Errorf("%s: exit %d, stderr %q; want an error naming the file", ckpt, code, errOut)
		}
		if _, err := os.Stat(filepath.Dir(out)); !os.IsNotExist(err) {
			t.Errorf("%s: the output directory exists after the error (%v)", ckpt, err)
		}
	}
}

// TestWithPreprocessMatchesInfer exports with --with-preprocess, feeds ONNX
// Runtime the uint8 crops of real photos (decoded and cropped by the
// config's test pipeline) and checks the top-5 against `mobileone infer` on
// the same files: for the tiny demo checkpoint (train-time, fused on the
// fly) and, with the shared fixtures, the s0 deploy checkpoint.
func TestWithPreprocessMatchesInfer(t *testing.T) {
	rt, err := ort.Find()
	fixtures.NeedTool(t, "Node.js with onnxruntime-node", err)
	photos := []string{
		fixtures.Testdata(t, "imagenet/skimage_chelsea.png"),
		fixtures.Testdata(t, "imagenet/skimage_camera.png"),
		fixtures.Testdata(t, "imagenet/gomod_go-turns-two-280x360.jpeg"),
	}
	cases := []struct{ name, config, ckpt string }{
		{"tiny_train", fixtures.Testdata(t, "demo/mobileone-tiny_demo.py"), fixtures.Testdata(t, "checkpoint/tiny_train.pth")},
	}
	if dir, ok := fixtures.SharedDir(t); ok {
		cases = append(cases, struct{ name, config, ckpt string }{"s0_deploy", "mobileone-s0_deploy_8xb32_in1k", filepath.Join(dir, "checkpoints/s0_deploy.pth")})
	} else {
		t.Logf("s0 case left out: no shared fixtures at %s", dir)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "m.onnx")
			out, errOut, code := clitest.Run(t, "export", c.config, c.ckpt, file, "--with-preprocess", "--softmax", "--dynamic-shape")
			if code != 0 {
				t.Fatalf("export: exit %d: %s", code, errOut)
			}
			if !strings.Contains(out, "max |logit diff| vs the checkpoint: 0\n") {
				t.Errorf("export output %q lacks the exact read-back check", out)
			}
			out, errOut, code = clitest.Run(t, append([]string{"infer", "--config", c.config, "--checkpoint", c.ckpt, "--json", "--topk", "5"}, photos...)...)
			if code != 0 {
				t.Fatalf("infer: exit %d: %s", code, errOut)
			}
			var want []infer.Result
			if err := json.Unmarshal([]byte(out), &want); err != nil {
				t.Fatal(err)
			}
			cfg, _, err := setup.Load(c.config, nil)
			if err != nil {
				t.Fatal(err)
			}
			pipe, err := setup.Pipeline(cfg, "test_dataloader.dataset.pipeline", nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range photos {
				img, err := imagenet.DecodeFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if img, err = pipe.Apply(img, nil); err != nil {
					t.Fatal(err)
				}
				res, err := rt.Run(context.Background(), file, 2, ort.Tensor{Name: onnx.ImageName, Dims: []int{1, img.Height, img.Width, 3}, U8: bytes.Clone(img.Pix)})
				if err != nil {
					t.Fatal(err)
				}
				scores := res.Outputs[0].F32
				idx := make([]int, len(scores))
				for j := range idx {
					idx[j] = j
				}
				sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
				var wantTop []int
				worst := 0.0
				for _, k := range want[i].TopK {
					wantTop = append(wantTop, k.Label)
					worst = max(worst, onnx.MaxAbsDiff([]float32{scores[k.Label]}, []float32{k.Score}))
				}
				if !slices.Equal(idx[:5], wantTop) {
					t.Errorf("%s: ONNX Runtime top-5 %v, infer %v", filepath.Base(p), idx[:5], wantTop)
				}
				t.Logf("%s: top-5 %v equal; max |score diff| on them %.3g", filepath.Base(p), wantTop, worst)
			}
		})
	}
}
