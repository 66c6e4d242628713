package checkpoint

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

type keySpec struct {
	Key   string
	Shape []int
	DType string
}

func (k *keySpec) UnmarshalJSON(b []byte) error {
	var raw [3]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[0], &k.Key); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[1], &k.Shape); err != nil {
		return err
	}
	return json.Unmarshal(raw[2], &k.DType)
}

type digest struct {
	Numel  int
	Sum    float64
	AbsSum float64 `json:"abs_sum"`
	L2     float64
	First  []float64
	Last   []float64
}

type modelManifest struct {
	Classes      any               // a list for tiny; a description string for s0/s1 (see classesFile)
	KeysTrain    []keySpec         `json:"keys_train"`
	KeysDeploy   []keySpec         `json:"keys_deploy"`
	DeployDigest map[string]digest `json:"deploy_tensor_digest"`
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func tinyManifest(t *testing.T) modelManifest {
	var m modelManifest
	readJSON(t, fixtures.Testdata(t, "checkpoint/tiny_manifest.json"), &m)
	return m
}

func sharedManifest(t *testing.T, model string) modelManifest {
	p := fixtures.Shared(t, "manifest.json")
	var m struct{ Models map[string]modelManifest }
	readJSON(t, p, &m)
	mm, ok := m.Models[model]
	if !ok {
		t.Fatalf("manifest has no model %q", model)
	}
	return mm
}

func checkKeys(t *testing.T, sd *StateDict, want []keySpec) {
	t.Helper()
	if len(sd.Keys) != len(want) {
		t.Errorf("%d keys, want %d", len(sd.Keys), len(want))
	}
	for i := range min(len(sd.Keys), len(want)) {
		w := want[i]
		if sd.Keys[i] != w.Key {
			t.Fatalf("key %d = %q, want %q", i, sd.Keys[i], w.Key)
		}
		tn := sd.Tensors[w.Key]
		if !slices.Equal(tn.Shape, w.Shape) || string(tn.DType) != w.DType {
			t.Errorf("%s: %s%v, want %s%v", w.Key, tn.DType, tn.Shape, w.DType, w.Shape)
		}
		n := tn.Numel()
		if len(tn.F32)+len(tn.I64) != n {
			t.Errorf("%s: %d+%d values for %d elements", w.Key, len(tn.F32), len(tn.I64), n)
		}
	}
}

func loadSD(t *testing.T, path string) (*File, *StateDict) {
	t.Helper()
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := f.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	return f, sd
}

func TestTinyKeys(t *testing.T) {
	m := tinyManifest(t)
	for _, c := range []struct {
		file string
		keys []keySpec
	}{{"checkpoint/tiny_train.pth", m.KeysTrain}, {"checkpoint/tiny_deploy.pth", m.KeysDeploy}} {
		t.Run(c.file, func(t *testing.T) {
			f, sd := loadSD(t, fixtures.Testdata(t, c.file))
			if f.Format != FormatZip {
				t.Errorf("format %q", f.Format)
			}
			checkKeys(t, sd, c.keys)
			if got := f.Classes(); !equalStrings(got, anyStrings(m.Classes)) {
				t.Errorf("classes %q, want %v", got, m.Classes)
			}
			if sd.Metadata == nil || sd.Metadata.Len() == 0 {
				t.Errorf("no _metadata")
			}
		})
	}
}

func anyStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, len(l))
	for i, x := range l {
		out[i], _ = x.(string)
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkDigest compares a tensor with the manifest digest: sums in float64
// with a relative tolerance of 1e-9 (the manifest was computed in float64
// from the same float32 values), first/last exactly.
func checkDigest(t *testing.T, key string, tn *Tensor, d digest) {
	t.Helper()
	if tn.Numel() != d.Numel {
		t.Errorf("%s: numel %d, want %d", key, tn.Numel(), d.Numel)
		return
	}
	var sum, abs, l2 float64
	for _, v := range tn.F32 {
		x := float64(v)
		sum += x
		abs += math.Abs(x)
		l2 += x * x
	}
	l2 = math.Sqrt(l2)
	near := func(got, want float64) bool {
		return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want))*float64(d.Numel)
	}
	if !near(sum, d.Sum) || !near(abs, d.AbsSum) || !near(l2, d.L2) {
		t.Errorf("%s: sum/abs/l2 = %v/%v/%v, want %v/%v/%v", key, sum, abs, l2, d.Sum, d.AbsSum, d.L2)
	}
	for i, w := range d.First {
		if float64(tn.F32[i]) != w {
			t.Errorf("%s: first[%d] = %v, want %v", key, i, tn.F32[i], w)
		}
	}
	for i, w := range d.Last {
		if got := float64(tn.F32[len(tn.F32)-len(d.Last)+i]); got != w {
			t.Errorf("%s: last[%d] = %v, want %v", key, i, got, w)
		}
	}
}

func TestTinyDeployDigest(t *testing.T) {
	m := tinyManifest(t)
	_, sd := loadSD(t, fixtures.Testdata(t, "checkpoint/tiny_deploy.pth"))
	if len(m.DeployDigest) == 0 {
		t.Fatal("manifest has no digests")
	}
	for key, d := range m.DeployDigest {
		tn, ok := sd.Tensors[key]
		if !ok {
			t.Errorf("missing %s", key)
			continue
		}
		checkDigest(t, key, tn, d)
	}
}

func TestSharedKeys(t *testing.T) {
	for _, c := range []struct {
		model, file string
		deploy      bool
	}{
		{"s0", "checkpoints/s0_train.pth", false},
		{"s0", "checkpoints/s0_deploy.pth", true},
		{"s1", "checkpoints/s1_train.pth", false},
	} {
		t.Run(c.file, func(t *testing.T) {
			p := fixtures.Shared(t, c.file)
			m := sharedManifest(t, c.model)
			f, sd := loadSD(t, p)
			want := m.KeysTrain
			if c.deploy {
				want = m.KeysDeploy
			}
			checkKeys(t, sd, want)
			// manifest: "dataset_meta.classes of the checkpoint = mmpretrain
			// IMAGENET_CATEGORIES (also imagenet/meta/classes.txt)"
			b, err := os.ReadFile(fixtures.Shared(t, "imagenet/meta/classes.txt"))
			if err != nil {
				t.Fatal(err)
			}
			wantClasses := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
			if got := f.Classes(); !equalStrings(got, wantClasses) {
				t.Errorf("classes: %d names, want %d from classes.txt", len(got), len(wantClasses))
			}
			if c.deploy {
				for key, d := range m.DeployDigest {
					checkDigest(t, key, sd.Tensors[key], d)
				}
			}
		})
	}
}
