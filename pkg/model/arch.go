package model

import (
	"fmt"
	"sort"
)

// Arch is one row of mmpretrain's MobileOne arch_zoo: four values per stage
// (stage1..stage4).
type Arch struct {
	NumBlocks       [4]int     `json:"num_blocks"`
	WidthFactor     [4]float64 `json:"width_factor"`
	NumConvBranches [4]int     `json:"num_conv_branches"`
	NumSEBlocks     [4]int     `json:"num_se_blocks"`
}

// ArchZoo holds the five published variants (mmpretrain
// mmpretrain/models/backbones/mobileone.py, arch_zoo).
var ArchZoo = map[string]Arch{
	"s0": {[4]int{2, 8, 10, 1}, [4]float64{0.75, 1.0, 1.0, 2.0}, [4]int{4, 4, 4, 4}, [4]int{0, 0, 0, 0}},
	"s1": {[4]int{2, 8, 10, 1}, [4]float64{1.5, 1.5, 2.0, 2.5}, [4]int{1, 1, 1, 1}, [4]int{0, 0, 0, 0}},
	"s2": {[4]int{2, 8, 10, 1}, [4]float64{1.5, 2.0, 2.5, 4.0}, [4]int{1, 1, 1, 1}, [4]int{0, 0, 0, 0}},
	"s3": {[4]int{2, 8, 10, 1}, [4]float64{2.0, 2.5, 3.0, 4.0}, [4]int{1, 1, 1, 1}, [4]int{0, 0, 0, 0}},
	"s4": {[4]int{2, 8, 10, 1}, [4]float64{3.0, 3.5, 3.5, 4.0}, [4]int{1, 1, 1, 1}, [4]int{0, 0, 5, 1}},
}

// ArchNames lists the keys of ArchZoo in order.
func ArchNames() []string {
	names := make([]string, 0, len(ArchZoo))
	for k := range ArchZoo {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// ParseArch accepts what MobileOne's `arch` argument accepts: one of the
// names in ArchZoo, or a dict whose four keys each map to a list of exactly
// four numbers. v is the JSON-decoded config value (string or
// map[string]any with []any lists).
func ParseArch(v any) (Arch, error) {
	switch a := v.(type) {
	case string:
		arch, ok := ArchZoo[a]
		if !ok {
			return Arch{}, fmt.Errorf("model: arch %q is not one of %v", a, ArchNames())
		}
		return arch, nil
	case map[string]any:
		var arch Arch
		get := func(key string) ([4]float64, error) {
			raw, ok := a[key]
			if !ok {
				return [4]float64{}, fmt.Errorf("model: custom arch lacks %q", key)
			}
			list, ok := raw.([]any)
			if !ok || len(list) != 4 {
				return [4]float64{}, fmt.Errorf("model: custom arch %q must be a list of 4 values, got %v", key, raw)
			}
			var out [4]float64
			for i, e := range list {
				f, ok := e.(float64)
				if !ok {
					return out, fmt.Errorf("model: custom arch %q[%d] is not a number: %v", key, i, e)
				}
				out[i] = f
			}
			return out, nil
		}
		toInts := func(key string, dst *[4]int) error {
			f, err := get(key)
			if err != nil {
				return err
			}
			for i, x := range f {
				if x != float64(int(x)) || x < 0 {
					return fmt.Errorf("model: custom arch %q[%d] must be a non-negative integer, got %v", key, i, x)
				}
				dst[i] = int(x)
			}
			return nil
		}
		if err := toInts("num_blocks", &arch.NumBlocks); err != nil {
			return arch, err
		}
		if err := toInts("num_conv_branches", &arch.NumConvBranches); err != nil {
			return arch, err
		}
		if err := toInts("num_se_blocks", &arch.NumSEBlocks); err != nil {
			return arch, err
		}
		wf, err := get("width_factor")
		if err != nil {
			return arch, err
		}
		arch.WidthFactor = wf
		return arch, arch.Validate()
	default:
		return Arch{}, fmt.Errorf("model: arch must be a string or a dict, got %T", v)
	}
}

// Validate checks the constraints MobileOne's constructor checks.
func (a Arch) Validate() error {
	for i := 0; i < 4; i++ {
		if a.NumSEBlocks[i] > a.NumBlocks[i] {
			return fmt.Errorf("model: stage%d: number of SE blocks cannot exceed number of layers (%d > %d)", i+1, a.NumSEBlocks[i], a.NumBlocks[i])
		}
		if a.NumBlocks[i] < 1 {
			return fmt.Errorf("model: stage%d: num_blocks must be at least 1", i+1)
		}
		if a.NumConvBranches[i] < 1 {
			return fmt.Errorf("model: stage%d: num_conv_branches must be at least 1", i+1)
		}
		if a.WidthFactor[i] <= 0 {
			return fmt.Errorf("model: stage%d: width_factor must be positive", i+1)
		}
	}
	return nil
}

// Channels returns the output widths of stage0..stage4:
// stage0 = min(64, int(64·wf[0])), stage i = int(base[i-1]·wf[i-1]) with
// base = [64, 128, 256, 512] (Python int() truncation).
func (a Arch) Channels() [5]int {
	base := [4]float64{64, 128, 256, 512}
	var ch [5]int
	ch[0] = min(64, int(64*a.WidthFactor[0]))
	for i := 0; i < 4; i++ {
		ch[i+1] = int(base[i] * a.WidthFactor[i])
	}
	return ch
}

// MakeDivisible is mmpretrain's make_divisible(value, divisor) with the
// default min_value = divisor and min_ratio = 0.9.
func MakeDivisible(value float64, divisor int) int {
	d := float64(divisor)
	newValue := int(value+d/2) / divisor * divisor
	if newValue < divisor {
		newValue = divisor
	}
	if float64(newValue) < 0.9*value {
		newValue += divisor
	}
	return newValue
}
