package flops

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/pkg/cmdutil"
)

func TestNewCmdFlopsParsesShape(t *testing.T) {
	for _, c := range []struct {
		args       []string
		h, w       int
		wantErr    bool
		wantConfig string
	}{
		{args: []string{"cfg.py"}, h: 224, w: 224, wantConfig: "cfg.py"},
		{args: []string{"cfg.py", "--shape", "256"}, h: 256, w: 256, wantConfig: "cfg.py"},
		{args: []string{"cfg.py", "--shape", "160,192"}, h: 160, w: 192, wantConfig: "cfg.py"},
		{args: []string{"cfg.py", "--shape", "1,2,3"}, wantErr: true},
		{args: []string{"cfg.py", "--shape", "0"}, wantErr: true},
		{args: []string{}, wantErr: true},
	} {
		ios, _, _, _ := cmdutil.Test()
		var got *Options
		cmd := NewCmdFlops(&cmdutil.Factory{IO: ios}, func(o *Options) error { got = o; return nil })
		cmd.SetArgs(c.args)
		cmd.SetOut(ios.ErrOut)
		cmd.SetErr(ios.ErrOut)
		err := cmd.Execute()
		if c.wantErr {
			if err == nil {
				t.Errorf("%v: no error", c.args)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if got.H != c.h || got.W != c.w || got.Config != c.wantConfig {
			t.Errorf("%v: got %+v", c.args, got)
		}
	}
}

// The deploy counts of configs/mobileone/metafile.yml.
func TestFlopsMatchesMetafile(t *testing.T) {
	for cfg, want := range map[string][2]int{
		"mobileone-s0_deploy_8xb32_in1k": {274136576, 2078504},
		"mobileone-s1_deploy_8xb32_in1k": {823839744, 4764840},
		"mobileone-s4_deploy_8xb32_in1k": {2979222528, 14838352},
	} {
		ios, _, out, _ := cmdutil.Test()
		if err := run(&Options{IO: ios, Config: cfg, H: 224, W: 224, JSON: true}); err != nil {
			t.Fatal(err)
		}
		var got struct {
			FLOPs  int  `json:"flops"`
			Params int  `json:"params"`
			Deploy bool `json:"deploy"`
		}
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.FLOPs != want[0] || got.Params != want[1] || !got.Deploy {
			t.Errorf("%s: %+v, want FLOPs %d params %d", cfg, got, want[0], want[1])
		}
	}
	ios, _, out, _ := cmdutil.Test()
	if err := run(&Options{IO: ios, Config: "mobileone-s0_deploy_8xb32_in1k", H: 224, W: 224}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Flops: 274.137M (274,136,576)", "Params: 2.079M (2,078,504)", "backbone.stage3", "Input shape: (3, 224, 224)"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestFlopsBadConfig(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	err := run(&Options{IO: ios, Config: "no-such-config", H: 224, W: 224})
	if err == nil || !strings.Contains(err.Error(), "no-such-config") {
		t.Errorf("err = %v", err)
	}
	err = run(&Options{IO: ios, Config: "mobileone-s0_8xb32_in1k", H: 224, W: 224, CfgOptions: []string{"model.backbone.arch=s9"}})
	if err == nil || !strings.Contains(err.Error(), "s9") {
		t.Errorf("err = %v", err)
	}
}
