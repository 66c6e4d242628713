package setup

import (
	"fmt"

	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/dist"
)

// Sampler is the <path>.sampler of a test or val dataloader (mmengine's
// DefaultSampler; absent: the unshuffled default of the mmpretrain
// configs) for n samples on env's rank. A sampler without shuffle
// defaults to shuffle=True, as DefaultSampler does. Its seed is
// sampler.seed, else randomness.seed (the Runner's seed); seeded reports
// whether one was given: shuffling without one takes a random seed
// (mmengine's sync_random_seed), which the caller must draw once and share
// among the ranks.
func Sampler(cfg *config.Config, path string, n int, env dist.Env) (s *dist.Sampler, seeded bool, err error) {
	s = dist.NewSampler(n, env)
	if v, ok := cfg.Get(path + ".sampler"); !ok || v == nil {
		return s, true, nil
	}
	var sc samplerCfg
	if err := cfg.Decode(path+".sampler", &sc); err != nil {
		return nil, false, err
	}
	if sc.Type != "DefaultSampler" {
		return nil, false, &config.Error{File: cfg.Filename, Msg: fmt.Sprintf("not supported: %s.sampler.type %q (DefaultSampler)", path, sc.Type)}
	}
	s.Shuffle = sc.Shuffle == nil || *sc.Shuffle
	if sc.RoundUp != nil {
		s.RoundUp = *sc.RoundUp
	}
	if !s.Shuffle {
		return s, true, nil
	}
	if sc.Seed != nil {
		s.Seed = *sc.Seed
		return s, true, nil
	}
	if v, ok := cfg.Get("randomness"); ok && v != nil {
		var rnd randomnessCfg
		if err := cfg.Decode("randomness", &rnd); err != nil {
			return nil, false, err
		}
		if rnd.Seed != nil {
			s.Seed = *rnd.Seed
			return s, true, nil
		}
	}
	return s, false, nil
}
