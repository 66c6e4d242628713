package kernels

import "sync"

// splitJob runs one of the small data-parallel kernels over contiguous
// ranges of units on the package workers (no goroutine start, no
// allocation). Every unit is computed the same way whatever the split, so
// the results do not depend on the thread count.
type splitJob struct {
	kind    int
	a, b, c []float32
	p       ConvParams
	n, ch   int
	hw      int
	units   int
	parts   int
}

const (
	splitGather = iota
	splitScatter
	splitReLU
	splitReLUBackward
	splitAdd
	splitDW1x1Data
	splitDW1x1Weight
)

var splitJobPool = sync.Pool{New: func() any { return new(splitJob) }}

// runSplit runs j over its units, split into at most Threads() parts of at
// least minChunk units.
func runSplit(j splitJob, minChunk int) {
	parts := Threads()
	if minChunk < 1 {
		minChunk = 1
	}
	if mp := j.units / minChunk; parts > mp {
		parts = mp
	}
	if parts <= 1 {
		j.parts = 1
		j.runRange(0, j.units)
		return
	}
	pj := splitJobPool.Get().(*splitJob)
	*pj = j
	pj.parts = parts
	runParallel(pj, parts)
	*pj = splitJob{}
	splitJobPool.Put(pj)
}

func (j *splitJob) runPart(part int) {
	j.runRange(part*j.units/j.parts, (part+1)*j.units/j.parts)
}

func (j *splitJob) runRange(lo, hi int) {
	switch j.kind {
	case splitGather:
		n, channels, hw := j.n, j.ch, j.hw
		dst, src := j.a, j.b
		for c := lo; c < hi; c++ {
			row := dst[c*n*hw : (c+1)*n*hw]
			if hw == 1 {
				for i := range row {
					row[i] = src[i*channels+c]
				}
				continue
			}
			for i := 0; i < n; i++ {
				d, sr := row[i*hw:(i+1)*hw], src[(i*channels+c)*hw:(i*channels+c+1)*hw]
				if hw < 16 {
					for x, v := range sr {
						d[x] = v
					}
				} else {
					copy(d, sr)
				}
			}
		}
	case splitScatter:
		n, channels, hw := j.n, j.ch, j.hw
		dst, src := j.a, j.b
		for c := lo; c < hi; c++ {
			row := src[c*n*hw : (c+1)*n*hw]
			if hw == 1 {
				for i, v := range row {
					dst[i*channels+c] = v
				}
				continue
			}
			for i := 0; i < n; i++ {
				d, sr := dst[(i*channels+c)*hw:(i*channels+c+1)*hw], row[i*hw:(i+1)*hw]
				if hw < 16 {
					for x, v := range sr {
						d[x] = v
					}
				} else {
					copy(d, sr)
				}
			}
		}
	case splitReLU:
		reluRange(j.a[lo:hi], j.b[lo:hi])
	case splitReLUBackward:
		reluBackwardRange(j.a[lo:hi], j.b[lo:hi], j.c[lo:hi])
	case splitAdd:
		addRange(j.a[lo:hi], j.b[lo:hi], j.c[lo:hi])
	case splitDW1x1Data:
		p := j.p
		inSz, outSz := p.InC*p.InH*p.InW, p.OutC*p.OutH()*p.OutW()
		for n := lo; n < hi; n++ {
			depthwise1x1BackwardData(j.a[n*inSz:(n+1)*inSz], j.b[n*outSz:(n+1)*outSz], j.c, p)
		}
	case splitDW1x1Weight:
		p := j.p
		ohw := p.OutH() * p.OutW()
		inSz, outSz := p.InC*p.InH*p.InW, p.OutC*ohw
		dW, in, dOut := j.a, j.b, j.c
		for c := lo; c < hi; c++ {
			var s float64
			for n := 0; n < p.N; n++ {
				s += depthwise1x1WeightSum(dOut[n*outSz+c*ohw:][:ohw], in[n*inSz+c*p.InH*p.InW:][:p.InH*p.InW], p)
			}
			dW[c] = float32(s)
		}
	}
}
