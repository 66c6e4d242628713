package checkpoint

import (
	"fmt"
	"strings"
)

// The key maps from other MobileOne implementations to mmpretrain's names,
// all in one place. State dicts in either format are mapped when loaded
// (File.StateDict) and `mobileone convert --from apple|timm` writes the
// mapped state dict as an mmpretrain checkpoint.
//
// Apple ml-mobileone (mobileone.py; .pth.tar files are bare state dicts),
// see MapAppleKey:
//
//	stage0.*, stageN.i.*               backbone.stage0.*, backbone.stageN.i.*
//	  .rbr_conv.i.conv / .rbr_conv.i.bn  .branch_conv_list.i.conv / .branch_conv_list.i.norm
//	  .rbr_scale.conv / .rbr_scale.bn    .branch_scale.conv / .branch_scale.norm
//	  .rbr_skip                          .branch_norm
//	  .reparam_conv                      .branch_reparam
//	  .se.reduce / .se.expand            .se.conv1.conv / .se.conv2.conv
//	linear.*                           head.fc.*
//
// timm (timm/models/byobnet.py, mobileone_s0..s4: ByobNet with stem_type
// 'one' and MobileOneBlock stages), see MapTimmKey:
//
//	stem.*                             backbone.stage0.*
//	stages.S.i.*                       backbone.stage{S+1}.i.*
//	  .conv_kxk.i.conv / .conv_kxk.i.bn  .branch_conv_list.i.conv / .branch_conv_list.i.norm
//	  .conv_scale.conv / .conv_scale.bn  .branch_scale.conv / .branch_scale.norm
//	  .identity                          .branch_norm
//	  .reparam_conv                      .branch_reparam
//	  .attn.fc1 / .attn.fc2              .se.conv1.conv / .se.conv2.conv
//	head.fc.*                          head.fc.*
//
// Both define the same network as mmpretrain (the same stage widths, SE
// squeeze widths for the published archs, branch order and fusion), so
// the mapped weights give the same logits.

// Format names a checkpoint's key naming.
type Format string

// The key namings StateDict recognizes.
const (
	FormatMMPretrain Format = "mmpretrain"
	FormatApple      Format = "apple"
	FormatTimm       Format = "timm"
)

// DetectFormat tells which implementation's names the (unmapped) keys use.
func DetectFormat(keys []string) Format {
	switch {
	// timm first: Apple's names also include reparam_conv
	case usesModules(keys, timmSegments, func(k string) bool {
		return strings.HasPrefix(k, "stem.") || strings.HasPrefix(k, "stages.") || strings.HasPrefix(k, "head.")
	}):
		return FormatTimm
	case usesModules(keys, appleSegments, func(k string) bool {
		return !strings.HasPrefix(k, "backbone.") && !strings.HasPrefix(k, "head.")
	}):
		return FormatApple
	}
	return FormatMMPretrain
}

// timmSegments are the timm MobileOneBlock module names (every timm key is
// under stem., stages. or head.).
var timmSegments = []string{"conv_kxk", "conv_scale", "identity", "reparam_conv"}

// appleSegments are the Apple ml-mobileone MobileOneBlock module names
// (mobileone.py; no Apple key is under backbone. or head.).
var appleSegments = []string{"rbr_conv", "rbr_scale", "rbr_skip", "reparam_conv"}

// usesModules reports whether every key is inScope and at least one key
// has a module name (a dot-separated segment) from segments.
func usesModules(keys, segments []string, inScope func(string) bool) bool {
	found := false
	for _, k := range keys {
		if !inScope(k) {
			return false
		}
		for _, seg := range segments {
			if strings.Contains("."+k+".", "."+seg+".") {
				found = true
			}
		}
	}
	return found
}

// MapTimmKey maps one timm MobileOne key to its mmpretrain name (table
// above). A key outside that table is returned with ok false.
func MapTimmKey(k string) (string, bool) {
	parts := strings.Split(k, ".")
	var out []string
	rest := parts
	switch {
	case parts[0] == "head" && len(parts) == 3 && parts[1] == "fc":
		return k, true
	case parts[0] == "stem":
		out, rest = []string{"backbone", "stage0"}, parts[1:]
	case parts[0] == "stages" && len(parts) > 2 && len(parts[1]) == 1 && parts[1] >= "0" && parts[1] <= "3":
		out, rest = []string{"backbone", fmt.Sprintf("stage%d", int(parts[1][0]-'0')+1), parts[2]}, parts[3:]
	default:
		return "", false
	}
	if len(rest) < 2 {
		return "", false
	}
	switch rest[0] {
	case "conv_kxk":
		if len(rest) != 4 || (rest[2] != "conv" && rest[2] != "bn") {
			return "", false
		}
		out = append(out, "branch_conv_list", rest[1], map[string]string{"conv": "conv", "bn": "norm"}[rest[2]], rest[3])
	case "conv_scale":
		if len(rest) != 3 || (rest[1] != "conv" && rest[1] != "bn") {
			return "", false
		}
		out = append(out, "branch_scale", map[string]string{"conv": "conv", "bn": "norm"}[rest[1]], rest[2])
	case "identity":
		if len(rest) != 2 {
			return "", false
		}
		out = append(out, "branch_norm", rest[1])
	case "reparam_conv":
		if len(rest) != 2 {
			return "", false
		}
		out = append(out, "branch_reparam", rest[1])
	case "attn":
		if len(rest) != 3 || (rest[1] != "fc1" && rest[1] != "fc2") {
			return "", false
		}
		out = append(out, "se", map[string]string{"fc1": "conv1", "fc2": "conv2"}[rest[1]], "conv", rest[2])
	default:
		return "", false
	}
	return strings.Join(out, "."), true
}

// MapAppleKey maps one Apple ml-mobileone key to its mmpretrain name
// (MobileOne spec §1.9; table above): rbr_conv.i.conv -> branch_conv_list.i.conv,
// rbr_conv.i.bn -> branch_conv_list.i.norm, rbr_scale.conv/bn ->
// branch_scale.conv/norm, rbr_skip -> branch_norm, reparam_conv ->
// branch_reparam, se.reduce -> se.conv1.conv, se.expand -> se.conv2.conv,
// linear -> head.fc; every other key gets the "backbone." prefix.
func MapAppleKey(k string) string {
	if strings.HasPrefix(k, "linear.") {
		return "head.fc." + strings.TrimPrefix(k, "linear.")
	}
	parts := strings.Split(k, ".")
	out := make([]string, 0, len(parts)+2)
	for i := 0; i < len(parts); i++ {
		p := parts[i]
		switch {
		case p == "rbr_conv":
			out = append(out, "branch_conv_list")
			if i+2 < len(parts) && parts[i+2] == "bn" {
				out = append(out, parts[i+1], "norm")
				i += 2
			}
		case p == "rbr_scale":
			out = append(out, "branch_scale")
			if i+1 < len(parts) && parts[i+1] == "bn" {
				out = append(out, "norm")
				i++
			}
		case p == "rbr_skip":
			out = append(out, "branch_norm")
		case p == "reparam_conv":
			out = append(out, "branch_reparam")
		case p == "se" && i+1 < len(parts) && parts[i+1] == "reduce":
			out = append(out, "se", "conv1", "conv")
			i++
		case p == "se" && i+1 < len(parts) && parts[i+1] == "expand":
			out = append(out, "se", "conv2", "conv")
			i++
		default:
			out = append(out, p)
		}
	}
	return "backbone." + strings.Join(out, ".")
}

// mapKeys renames every key of sd with mapKey; a key it cannot map or two
// keys mapping to one name is an error.
func mapKeys(sd *StateDict, format Format) (*StateDict, error) {
	mapped := NewStateDict()
	mapped.Metadata = sd.Metadata
	for _, k := range sd.Keys {
		nk, ok := k, true
		switch format {
		case FormatApple:
			nk = MapAppleKey(k)
		case FormatTimm:
			nk, ok = MapTimmKey(k)
		}
		if !ok {
			return nil, formatErrorf("%s key %q is not part of a MobileOne (see the key maps in pkg/checkpoint/keymaps.go)", format, k)
		}
		if _, dup := mapped.Tensors[nk]; dup {
			return nil, formatErrorf("keys map to the same name %q", nk)
		}
		mapped.Add(nk, sd.Tensors[k])
	}
	return mapped, nil
}

// SourceFormat returns the key naming of the file's state dict before
// StateDict maps it.
func (f *File) SourceFormat() (Format, error) {
	root, ok := f.Root.(*Dict)
	if !ok {
		return "", &Error{Path: f.Path, Err: formatErrorf("top-level object is %s, not a dict", typeName(f.Root))}
	}
	src, what := root, "top-level dict"
	if v, ok := root.Get("state_dict"); ok {
		if d, ok := v.(*Dict); ok {
			src, what = d, "state_dict"
		}
	}
	sd, err := toStateDict(src, what, nil)
	if err != nil {
		return "", &Error{Path: f.Path, Err: err}
	}
	return DetectFormat(sd.Keys), nil
}
