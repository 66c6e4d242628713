package setup

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/model"
)

func tinyConfig(t *testing.T, deploy bool) *config.Config {
	t.Helper()
	name := "demo/mobileone-tiny_demo.py"
	if deploy {
		name = "demo/mobileone-tiny_demo_deploy.py"
	}
	cfg, err := config.Load(fixtures.Testdata(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A train-time checkpoint with a deploy config is reparameterized on load,
// with a notice; its classes come from the checkpoint meta.
func TestLoadModelReparameterizesTrainCheckpoint(t *testing.T) {
	mc, err := ModelConfig(tinyConfig(t, true))
	if err != nil {
		t.Fatal(err)
	}
	var notices bytes.Buffer
	l, err := LoadModel(context.Background(), mc, fixtures.Testdata(t, "checkpoint/tiny_train.pth"), nil, &notices)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Reparameterized || !l.Model.Deployed() || !strings.Contains(notices.String(), "reparameterized") {
		t.Errorf("reparameterized=%v deployed=%v notices=%q", l.Reparameterized, l.Model.Deployed(), notices.String())
	}
	if len(l.Classes) != 10 || l.Classes[0] != "airplane" {
		t.Errorf("classes = %v", l.Classes)
	}
	// The deploy checkpoint loads as is.
	notices.Reset()
	l, err = LoadModel(context.Background(), mc, fixtures.Testdata(t, "checkpoint/tiny_deploy.pth"), nil, &notices)
	if err != nil || l.Reparameterized || notices.Len() != 0 {
		t.Errorf("deploy checkpoint: %v, reparameterized=%v, notices=%q", err, l.Reparameterized, notices.String())
	}
}

func TestLoadModelErrors(t *testing.T) {
	train, err := ModelConfig(tinyConfig(t, false))
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadModel(context.Background(), train, fixtures.Testdata(t, "checkpoint/tiny_deploy.pth"), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "deploy variant of the config") {
		t.Errorf("deploy checkpoint with train config: %v", err)
	}
	// A checkpoint whose head has another class count: one error naming
	// the file and the mismatched key.
	other := train
	other.NumClasses = 7
	_, err = LoadModel(context.Background(), other, fixtures.Testdata(t, "checkpoint/tiny_train.pth"), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "tiny_train.pth") || !strings.Contains(err.Error(), "head.fc.weight") {
		t.Errorf("class-count mismatch: %v", err)
	}
}

func TestModelConfigRejectsUnsupported(t *testing.T) {
	for opt, want := range map[string]string{
		"model.backbone.type=ResNet":          "ResNet",
		"model.backbone.norm_cfg.type=SyncBN": "SyncBN",
		"model.backbone.out_indices=(1,2)":    "last stage",
		"model.backbone.typo=1":               "typo",
		"model.head.num_classes=0":            "num_classes",
		"model.head.in_channels=512":          "in_channels",
	} {
		cfg := tinyConfig(t, false)
		if err := cfg.MergeOptions([]string{opt}); err != nil {
			t.Fatal(err)
		}
		mc, err := ModelConfig(cfg)
		if err == nil {
			// in_channels is checked when the model is built.
			_, err = model.New(mc)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", opt, err, want)
		}
	}
	if got := OfficialCheckpoint("mobileone-s0_deploy_8xb32_in1k"); !strings.HasSuffix(got, "mobileone-s0_8xb32_in1k_20221110-0bc94952.pth") {
		t.Errorf("official s0 deploy checkpoint = %q", got)
	}
	if got := ImageNetClasses(); len(got) != 1000 || got[0] != "tench, Tinca tinca" {
		t.Errorf("ImageNet classes: %d, %q", len(got), got[0])
	}
}

// TestMismatchNamesTheCause: an s0 checkpoint given with an s1 config is
// reported as another architecture (which one it fits, which shapes
// differ), not as a class count; a head of another size as a class count.
func TestMismatchNamesTheCause(t *testing.T) {
	s0, err := model.New(model.Config{Arch: model.ArchZoo["s0"], NumClasses: 1000})
	if err != nil {
		t.Fatal(err)
	}
	sd := checkpoint.FromEntries(s0.StateDict())
	s1cfg := model.Config{Arch: model.ArchZoo["s1"], NumClasses: 1000}
	s1, _ := model.New(s1cfg)
	err = explainMismatch(checkpoint.Apply(s1.StateDict(), sd), "s0.pth", s1cfg, sd)
	msg := fmt.Sprint(err)
	for _, want := range []string{"s0.pth: the checkpoint's architecture differs from the config's model", `fits arch "s0"`, "head.fc.weight is [1000 1024] in the checkpoint, [1000 1280] in the model"} {
		if !strings.Contains(msg, want) {
			t.Errorf("s0 checkpoint, s1 config: %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "classes") {
		t.Errorf("s0 checkpoint, s1 config: %q talks about classes", msg)
	}
	c10 := model.Config{Arch: model.ArchZoo["s0"], NumClasses: 10}
	m10, _ := model.New(c10)
	err = explainMismatch(checkpoint.Apply(m10.StateDict(), sd), "s0.pth", c10, sd)
	if want := "s0.pth: has 1000 classes (head.fc.weight [1000 1024]) but the config's model has 10"; !strings.HasPrefix(fmt.Sprint(err), want) {
		t.Errorf("class count: %v, want %q", err, want)
	}
}

// matchingArch with a bare config of the checkpoint's graph and class
// count (as Convert asks it) names the built-in arch of the weights, train
// or deploy, and "" for an arch that is not built in.
func TestMatchingArchOfBareConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  model.Config
		want string
	}{
		{model.Config{Arch: model.ArchZoo["s1"], NumClasses: 7}, "s1"},
		{model.Config{Arch: model.ArchZoo["s0"], NumClasses: 3, Deploy: true}, "s0"},
		{model.Config{Arch: model.Arch{NumBlocks: [4]int{1, 1, 1, 1}, WidthFactor: [4]float64{0.25, 0.25, 0.25, 0.5},
			NumConvBranches: [4]int{1, 1, 1, 1}}, NumClasses: 3}, ""},
	} {
		m, err := model.New(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		sd := checkpoint.FromEntries(m.StateDict())
		if got := matchingArch(sd, model.Config{Deploy: c.cfg.Deploy, NumClasses: c.cfg.NumClasses}); got != c.want {
			t.Errorf("%s (deploy %v): matchingArch = %q, want %q", c.want, c.cfg.Deploy, got, c.want)
		}
	}
}
