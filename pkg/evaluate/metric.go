package evaluate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Metric is one named result of an evaluator, as mmengine's
// Evaluator.evaluate returns it: accuracy/top1 = 43.33333206176758,
// single-label/support = 30, single-label/precision_classwise = [...],
// confusion_matrix/result = tensor([[...]]).
type Metric struct {
	Name string
	// Value is a scalar metric's value: a Python float (from a float32
	// tensor's .item()) or, with Int set, a Python int (support).
	Value float64
	// Int marks integer values (support): printed without decimals.
	Int bool
	// List is a classwise metric (SingleLabelMetric with average=None): one
	// value per class, as tensor.tolist() gives it. A non-nil List makes
	// the metric non-scalar.
	List []float64
	// Matrix is ConfusionMatrix's int64 tensor, rows indexed by the ground
	// truth and columns by the prediction. Non-nil makes the metric
	// non-scalar.
	Matrix [][]int64
}

// Scalar reports whether the metric is a single number (mmengine's
// _is_scalar): scalars go to the log's scalar history, the others to its
// runtime info.
func (m Metric) Scalar() bool { return m.List == nil && m.Matrix == nil }

// LogValue formats the value as mmengine's LogProcessor.get_log_after_epoch
// prints it: floats with 4 decimals, an int as is, a list as Python's repr,
// a tensor as torch's repr between newlines.
func (m Metric) LogValue() string {
	switch {
	case m.Matrix != nil:
		return "\n" + TensorRepr(m.Matrix) + "\n"
	case m.List != nil:
		return pyList(m.List, m.Int)
	case m.Int:
		return strconv.FormatInt(int64(m.Value), 10)
	}
	return strconv.FormatFloat(m.Value, 'f', 4, 64)
}

// FormatLog joins the metrics as mmengine's log line does after a val or
// test epoch: "name: value" items separated by two spaces, the scalars
// first (in order), then the non-scalars. The caller appends
// "  data_time: ...  time: ..." (mmengine moves those to the end).
func FormatLog(ms []Metric) string {
	var items []string
	for _, scalars := range []bool{true, false} {
		for _, m := range ms {
			if m.Scalar() == scalars {
				items = append(items, m.Name+": "+m.LogValue())
			}
		}
	}
	return strings.Join(items, "  ")
}

// LogOrder returns the metrics in the order mmengine's log line and JSON
// log use: scalars first, then non-scalars.
func LogOrder(ms []Metric) []Metric {
	out := make([]Metric, 0, len(ms))
	for _, scalars := range []bool{true, false} {
		for _, m := range ms {
			if m.Scalar() == scalars {
				out = append(out, m)
			}
		}
	}
	return out
}

// JSONValue encodes the value as mmengine's LoggerHook writes it into the
// test run's JSON log (LoggerHook._process_tags, then json.dump): floats as
// Python prints them, lists and tensors as nested lists, and an integer
// scalar as null (the message hub holds it as a numpy int64, which
// _process_tags drops).
func (m Metric) JSONValue() string {
	switch {
	case m.Matrix != nil:
		rows := make([]string, len(m.Matrix))
		for i, r := range m.Matrix {
			f := make([]float64, len(r))
			for j, v := range r {
				f[j] = float64(v)
			}
			rows[i] = pyList(f, true)
		}
		return "[" + strings.Join(rows, ", ") + "]"
	case m.List != nil:
		return pyList(m.List, m.Int)
	case m.Int:
		return "null"
	}
	return PyFloat(m.Value)
}

// PyFloat formats f as Python's repr(float) and json.dumps do: the
// shortest representation that reads back exactly, in fixed notation with
// at least one decimal for decimal exponents -4..15, otherwise as
// 1e-05 / 1.5e+16.
func PyFloat(f float64) string { return pyFloat(f, "NaN", "Infinity") }

// pyReprFloat is repr(float): PyFloat with Python's nan/inf spellings.
func pyReprFloat(f float64) string { return pyFloat(f, "nan", "inf") }

func pyFloat(f float64, nan, inf string) string {
	switch {
	case math.IsNaN(f):
		return nan
	case math.IsInf(f, 1):
		return inf
	case math.IsInf(f, -1):
		return "-" + inf
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	i := strings.IndexByte(e, 'e')
	exp, _ := strconv.Atoi(e[i+1:])
	if exp < -4 || exp >= 16 {
		mant, sign, digits := e[:i], e[i+1], strings.TrimLeft(e[i+2:], "0")
		if len(digits) < 2 {
			digits = strings.Repeat("0", 2-len(digits)) + digits
		}
		return mant + "e" + string(sign) + digits
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// pyList formats values as Python's repr of a list of floats (or ints).
func pyList(v []float64, ints bool) string {
	parts := make([]string, len(v))
	for i, x := range v {
		if ints {
			parts[i] = strconv.FormatInt(int64(x), 10)
		} else {
			parts[i] = pyReprFloat(x)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// torch's default print options (torch._tensor_str.PRINT_OPTS).
const (
	printThreshold = 1000
	printEdgeItems = 3
	printLineWidth = 80
)

// TensorRepr formats a 2-D int64 tensor as torch's repr does with the
// default print options: "tensor([[1, 0],\n        [0, 1]])", elements
// right-aligned to the widest one; above 1000 elements only the first and
// last 3 rows and columns are shown, around "...".
func TensorRepr(m [][]int64) string {
	rows := len(m)
	cols := 0
	if rows > 0 {
		cols = len(m[0])
	}
	if rows == 0 || cols == 0 {
		return fmt.Sprintf("tensor([], size=(%d, %d), dtype=torch.int64)", rows, cols)
	}
	summarize := rows*cols > printThreshold
	keep := func(n int) []int {
		if summarize && n > 2*printEdgeItems {
			idx := []int{0, 1, 2}
			return append(idx, n-3, n-2, n-1)
		}
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	rowIdx, colIdx := keep(rows), keep(cols)
	width := 0
	for _, i := range rowIdx {
		for _, j := range colIdx {
			width = max(width, len(strconv.FormatInt(m[i][j], 10)))
		}
	}
	const indent = len("tensor(")
	perLine := max(1, (printLineWidth-(indent+1))/(width+2))
	vector := func(r []int64) string {
		var data []string
		for n, j := range colIdx {
			if n == printEdgeItems && len(colIdx) < cols {
				data = append(data, " ...")
			}
			s := strconv.FormatInt(r[j], 10)
			data = append(data, strings.Repeat(" ", width-len(s))+s)
		}
		var lines []string
		for i := 0; i < len(data); i += perLine {
			lines = append(lines, strings.Join(data[i:min(i+perLine, len(data))], ", "))
		}
		return "[" + strings.Join(lines, ",\n"+strings.Repeat(" ", indent+2)) + "]"
	}
	var slices []string
	for n, i := range rowIdx {
		if n == printEdgeItems && len(rowIdx) < rows {
			slices = append(slices, "...")
		}
		slices = append(slices, vector(m[i]))
	}
	return "tensor([" + strings.Join(slices, ",\n"+strings.Repeat(" ", indent+1)) + "])"
}
