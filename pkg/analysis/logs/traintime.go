package logs

import (
	"fmt"
	"io"
	"math"
)

// TrainTime is what analyze_logs.py's cal_train_time computes from the
// "time" of the training records.
type TrainTime struct {
	// ByEpoch is set when the records carry "epoch"; the epoch fields are
	// meaningful only then.
	ByEpoch bool
	// EpochMeans holds, per run of consecutive records with the same epoch,
	// the mean time (without each run's first record unless
	// includeOutliers; NaN for a run left empty).
	EpochMeans []float64
	// Slowest and Fastest are 0-based indexes into EpochMeans (numpy's
	// argmax/argmin: the first extreme, or the first NaN).
	Slowest, Fastest int
	// EpochStd is the population standard deviation of EpochMeans.
	EpochStd float64
	// AvgIter is the mean time of all training records (outliers included).
	AvgIter float64
}

// CalTrainTime computes the training-time statistics of the log.
func (l *Log) CalTrainTime(includeOutliers bool) (TrainTime, error) {
	if len(l.Train) == 0 {
		return TrainTime{}, &FormatError{Path: l.Path, Msg: "no training records (lines with \"lr\")"}
	}
	var all []float64
	for i, r := range l.Train {
		t, ok := r["time"]
		if !ok {
			return TrainTime{}, &FormatError{Path: l.Path, Msg: fmt.Sprintf("training record %d has no \"time\"", i+1)}
		}
		all = append(all, t)
	}
	tt := TrainTime{AvgIter: mean(all)}
	if _, ok := l.Train[0]["epoch"]; !ok {
		return tt, nil
	}
	tt.ByEpoch = true
	// itertools.groupby: runs of consecutive records with equal epochs
	for i := 0; i < len(l.Train); {
		j := i
		for j < len(l.Train) && l.Train[j]["epoch"] == l.Train[i]["epoch"] {
			j++
		}
		run := all[i:j]
		if !includeOutliers {
			run = run[1:]
		}
		tt.EpochMeans = append(tt.EpochMeans, mean(run))
		i = j
	}
	tt.Slowest, tt.Fastest = argExtreme(tt.EpochMeans, func(a, b float64) bool { return a > b }),
		argExtreme(tt.EpochMeans, func(a, b float64) bool { return a < b })
	m := mean(tt.EpochMeans)
	dev := make([]float64, len(tt.EpochMeans))
	for i, v := range tt.EpochMeans {
		dev[i] = (v - m) * (v - m)
	}
	tt.EpochStd = math.Sqrt(npSum(dev) / float64(len(dev)))
	return tt, nil
}

// mean is numpy's mean of a float64 array (its pairwise sum divided by the
// count); NaN for no values.
func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return npSum(v) / float64(len(v))
}

// npSum is numpy's add.reduce of a contiguous float64 array: the
// reduction iterator hands the inner loop blocks of at most 8192 values
// (its buffer size), each summed pairwise and added in turn to the
// identity 0.
func npSum(v []float64) float64 {
	s := 0.0
	for len(v) > 0 {
		n := min(len(v), 8192)
		s += pairwiseSum(v[:n])
		v = v[n:]
	}
	return s
}

// pairwiseSum is numpy's pairwise_sum (numpy/core/src/umath/loops_utils.h.src)
// for a contiguous array, so that means and standard deviations round as
// numpy's do: plain summation below 8 values, eight interleaved
// accumulators up to 128, halves (at a multiple of 8) above.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		s := 0.0 // numpy starts from -0.0; the sign of an all-zero sum does not print
		for _, x := range a {
			s += x
		}
		return s
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for k := 0; k < 8; k++ {
				r[k] += a[i+k]
			}
		}
		s := (r[0] + r[1]) + (r[2] + r[3]) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += a[i]
		}
		return s
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
	}
}

// argExtreme is numpy's argmax/argmin: the first NaN wins, else the first
// extreme value.
func argExtreme(v []float64, better func(a, b float64) bool) int {
	best := 0
	for i, x := range v {
		if math.IsNaN(x) {
			return i
		}
		if better(x, v[best]) {
			best = i
		}
	}
	return best
}

// Print writes the report of cal_train_time for the log at name.
func (tt TrainTime) Print(w io.Writer, name string) {
	fmt.Fprintf(w, "-----Analyze train time of %s-----\n", name)
	if tt.ByEpoch {
		fmt.Fprintf(w, "slowest epoch %d, average time is %s\n", tt.Slowest+1, pyF4(tt.EpochMeans[tt.Slowest]))
		fmt.Fprintf(w, "fastest epoch %d, average time is %s\n", tt.Fastest+1, pyF4(tt.EpochMeans[tt.Fastest]))
		fmt.Fprintf(w, "time std over epochs is %s\n", pyF4(tt.EpochStd))
	}
	fmt.Fprintf(w, "average iter time: %s s/iter\n\n", pyF4(tt.AvgIter))
}

// pyF4 formats as Python's f"{x:.4f}" (nan, inf, -inf spelled as Python does).
func pyF4(x float64) string {
	switch {
	case math.IsNaN(x):
		return "nan"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	return fmt.Sprintf("%.4f", x)
}
