package checkpoint

import "testing"

func TestMapTimmKey(t *testing.T) {
	for k, want := range map[string]string{
		"stem.conv_kxk.0.conv.weight":             "backbone.stage0.branch_conv_list.0.conv.weight",
		"stem.conv_scale.bn.running_var":          "backbone.stage0.branch_scale.norm.running_var",
		"stages.0.1.identity.num_batches_tracked": "backbone.stage1.1.branch_norm.num_batches_tracked",
		"stages.2.3.conv_kxk.1.bn.bias":           "backbone.stage3.3.branch_conv_list.1.norm.bias",
		"stages.3.0.reparam_conv.bias":            "backbone.stage4.0.branch_reparam.bias",
		"stages.3.1.attn.fc1.weight":              "backbone.stage4.1.se.conv1.conv.weight",
		"stages.3.1.attn.fc2.bias":                "backbone.stage4.1.se.conv2.conv.bias",
		"head.fc.weight":                          "head.fc.weight",
		"stages.4.0.reparam_conv.weight":          "",
		"stages.0.0.attn.bn.weight":               "",
		"final_conv.conv.weight":                  "",
		"stem.conv_kxk.0.act.weight":              "",
	} {
		got, ok := MapTimmKey(k)
		if ok != (want != "") || got != want {
			t.Errorf("MapTimmKey(%q) = %q, %v; want %q", k, got, ok, want)
		}
	}
}

func TestDetectFormat(t *testing.T) {
	for _, c := range []struct {
		keys []string
		want Format
	}{
		{[]string{"stem.reparam_conv.weight", "head.fc.bias"}, FormatTimm},
		{[]string{"stage0.reparam_conv.weight", "linear.bias"}, FormatApple},
		{[]string{"backbone.stage0.branch_reparam.weight", "head.fc.bias"}, FormatMMPretrain},
		{[]string{"stem.reparam_conv.weight", "stages.0.0.reparam_conv.weight"}, FormatTimm},
		{[]string{"stem.weight", "head.fc.bias"}, FormatMMPretrain},
	} {
		if got := DetectFormat(c.keys); got != c.want {
			t.Errorf("DetectFormat(%q) = %s, want %s", c.keys, got, c.want)
		}
	}
}
