package dist

import "fmt"

// Sampler is mmengine's DefaultSampler for one rank: which dataset
// indices the rank evaluates, in order.
//
// Without shuffling the dataset order 0 … N-1 is dealt round-robin:
// rank r takes r, r+W, r+2W, … With RoundUp (the default) the list is
// first repeated from its start up to ⌈N/W⌉·W entries, so every rank gets
// the same count and the last ranks may evaluate a few samples twice; the
// merge drops those again (Interleave). Without RoundUp rank r gets
// ⌈(N-r)/W⌉ samples and nothing is repeated. With Shuffle the order is
// torch.randperm(N) from a torch.Generator seeded with Seed+Epoch
// (bit-exact: PyTorch's MT19937 and its Fisher-Yates swaps).
type Sampler struct {
	N         int // dataset size
	Rank      int
	WorldSize int
	Shuffle   bool
	Seed      int64
	Epoch     int
	RoundUp   bool
}

// NewSampler returns mmengine's default test sampler for env:
// DefaultSampler(shuffle=False, round_up=True).
func NewSampler(n int, env Env) *Sampler {
	return &Sampler{N: n, Rank: env.Rank, WorldSize: max(env.WorldSize, 1), RoundUp: true}
}

// NumSamples is the number of indices of this rank (len(sampler)).
func (s *Sampler) NumSamples() int {
	if s.RoundUp {
		return ceilDiv(s.N, s.WorldSize)
	}
	return max(0, ceilDiv(s.N-s.Rank, s.WorldSize))
}

// TotalSize is the length of the padded list all ranks share.
func (s *Sampler) TotalSize() int {
	if s.RoundUp {
		return ceilDiv(s.N, s.WorldSize) * s.WorldSize
	}
	return s.N
}

// Indices returns this rank's dataset indices in the order it evaluates
// them (DefaultSampler.__iter__).
func (s *Sampler) Indices() []int {
	var all []int
	if s.Shuffle {
		all = RandPerm(s.N, uint64(s.Seed+int64(s.Epoch)))
	} else {
		all = make([]int, s.N)
		for i := range all {
			all[i] = i
		}
	}
	total := s.TotalSize()
	if s.RoundUp && len(all) > 0 {
		// (indices * int(total/len + 1))[:total]
		for len(all) < total {
			all = append(all, all[:min(len(all), total-len(all))]...)
		}
		all = all[:total]
	}
	out := make([]int, 0, s.NumSamples())
	for i := s.Rank; i < min(total, len(all)); i += s.WorldSize {
		out = append(out, all[i])
	}
	return out
}

func ceilDiv(a, b int) int {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

// Interleave merges the parts of collect_results_cpu back into sampler
// order (part 0's first item, part 1's first, …, then the second items)
// and keeps the first size items, which drops the round-up padding. With
// the unshuffled DefaultSampler this is dataset order.
func Interleave[T any](parts [][]T, size int) ([]T, error) {
	longest, total := 0, 0
	for _, p := range parts {
		longest = max(longest, len(p))
		total += len(p)
	}
	if total < size {
		return nil, fmt.Errorf("dist: the parts hold %d results, fewer than the %d samples of the dataset", total, size)
	}
	out := make([]T, 0, total)
	for i := 0; i < longest; i++ {
		for _, p := range parts {
			if i < len(p) {
				out = append(out, p[i])
			}
		}
	}
	return out[:size], nil
}

// RandPerm is torch.randperm(n, generator=g) on the CPU after
// g.manual_seed(seed): PyTorch's MT19937 (seeded with the seed's low 32
// bits) drives the swaps r[i] ↔ r[i + random() % (n-i)] for i < n-1, its
// algorithm for n < 2³²/20.
func RandPerm(n int, seed uint64) []int {
	r := make([]int, n)
	for i := range r {
		r[i] = i
	}
	if n >= 1<<32/20 {
		panic("dist: RandPerm: n too large for torch's small-n algorithm")
	}
	mt := newMT19937(uint32(seed))
	for i := 0; i < n-1; i++ {
		z := int(uint64(mt.next()) % uint64(n-i))
		r[i], r[z+i] = r[z+i], r[i]
	}
	return r
}

// mt19937 is the 32-bit Mersenne Twister (std::mt19937, PyTorch's
// at::mt19937).
type mt19937 struct {
	state [624]uint32
	i     int
}

func newMT19937(seed uint32) *mt19937 {
	m := &mt19937{i: 624}
	m.state[0] = seed
	for j := 1; j < 624; j++ {
		p := m.state[j-1]
		m.state[j] = 1812433253*(p^(p>>30)) + uint32(j)
	}
	return m
}

func (m *mt19937) next() uint32 {
	const upper, lower = 0x80000000, 0x7fffffff
	if m.i >= 624 {
		for j := 0; j < 624; j++ {
			y := m.state[j]&upper | m.state[(j+1)%624]&lower
			v := m.state[(j+397)%624] ^ y>>1
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			m.state[j] = v
		}
		m.i = 0
	}
	y := m.state[m.i]
	m.i++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}
