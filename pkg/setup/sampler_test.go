package setup

import (
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/dist"
)

func TestSampler(t *testing.T) {
	env := dist.Env{Rank: 1, WorldSize: 3}
	for _, c := range []struct {
		opts   []string
		want   dist.Sampler
		seeded bool
		err    string
	}{
		{nil, dist.Sampler{N: 10, Rank: 1, WorldSize: 3, RoundUp: true}, true, ""},
		{[]string{"test_dataloader.sampler.round_up=False"}, dist.Sampler{N: 10, Rank: 1, WorldSize: 3}, true, ""},
		// DefaultSampler shuffles unless told not to; the seed comes from
		// the sampler, else randomness.seed, else nowhere.
		{[]string{"-shuffle"}, dist.Sampler{N: 10, Rank: 1, WorldSize: 3, Shuffle: true, RoundUp: true}, false, ""},
		{[]string{"-shuffle", "test_dataloader.sampler.seed=5", "randomness.seed=9"}, dist.Sampler{N: 10, Rank: 1, WorldSize: 3, Shuffle: true, RoundUp: true, Seed: 5}, true, ""},
		{[]string{"test_dataloader.sampler.shuffle=True", "randomness.seed=9"}, dist.Sampler{N: 10, Rank: 1, WorldSize: 3, Shuffle: true, RoundUp: true, Seed: 9}, true, ""},
		{[]string{"test_dataloader.sampler.type=InfiniteSampler"}, dist.Sampler{}, false, `not supported: test_dataloader.sampler.type "InfiniteSampler"`},
		{[]string{"test_dataloader.sampler.shufle=True"}, dist.Sampler{}, false, "shufle"},
	} {
		cfg := tinyConfig(t, false)
		opts := c.opts
		if len(opts) > 0 && opts[0] == "-shuffle" { // a sampler dict without shuffle
			d := config.NewDict()
			d.Set("type", "DefaultSampler")
			if err := cfg.Set("test_dataloader.sampler", d); err != nil {
				t.Fatal(err)
			}
			opts = opts[1:]
		}
		if err := cfg.MergeOptions(opts); err != nil {
			t.Fatal(err)
		}
		s, seeded, err := Sampler(cfg, "test_dataloader", 10, env)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: %v, want %q", c.opts, err, c.err)
			}
			continue
		}
		if err != nil || *s != c.want || seeded != c.seeded {
			t.Errorf("%v: %+v seeded=%v %v, want %+v seeded=%v", c.opts, s, seeded, err, c.want, c.seeded)
		}
	}
}
