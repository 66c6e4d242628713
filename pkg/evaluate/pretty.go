package evaluate

import (
	"strings"
	"unicode/utf8"
)

// RichWidth is the width rich.print uses when stdout is not a terminal.
const RichWidth = 80

// PrettyDict formats the metrics as mmpretrain's eval_metric.py prints
// them, rich.print of the metrics dict: on one line when it fits in width
// columns, otherwise one item per line indented by 4, each container
// expanded the same way when it does not fit (rich.pretty's algorithm);
// floats as Python's repr, the confusion matrix as torch's repr.
func PrettyDict(ms []Metric, width int) string {
	root := &richNode{open: "{", close: "}", children: []*richNode{}}
	for i, m := range ms {
		c := &richNode{key: pyStr(m.Name), last: i == len(ms)-1}
		switch {
		case m.Matrix != nil:
			c.value = TensorRepr(m.Matrix)
		case m.List != nil:
			c.open, c.close = "[", "]"
			c.children = []*richNode{}
			for j, v := range m.List {
				leaf := &richNode{last: j == len(m.List)-1}
				leaf.value = pyList([]float64{v}, m.Int)
				leaf.value = leaf.value[1 : len(leaf.value)-1]
				c.children = append(c.children, leaf)
			}
		case m.Int:
			c.value = m.LogValue()
		default:
			c.value = pyReprFloat(m.Value)
		}
		root.children = append(root.children, c)
	}
	lines := []*richLine{{node: root, last: true}}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l.node != nil && len(l.node.children) > 0 && !l.expanded && !l.fits(width) {
			lines = append(lines[:i], append(l.expand(4), lines[i+1:]...)...)
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.String()
	}
	return strings.Join(out, "\n")
}

// pyStr is Python's repr of a str without escapes to make (metric names).
func pyStr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

// richNode is rich.pretty's Node: a keyed or bare value, a leaf (value)
// or a container (children between open and close).
type richNode struct {
	key, value  string
	open, close string
	children    []*richNode // nil for a leaf
	last        bool
}

func (n *richNode) tokens(emit func(string) bool) bool {
	if n.key != "" && (!emit(n.key) || !emit(": ")) {
		return false
	}
	if n.children == nil {
		return emit(n.value)
	}
	if !emit(n.open) {
		return false
	}
	for _, c := range n.children {
		if !c.tokens(emit) || !c.last && !emit(", ") {
			return false
		}
	}
	return emit(n.close)
}

func (n *richNode) String() string {
	var b strings.Builder
	n.tokens(func(s string) bool { b.WriteString(s); return true })
	return b.String()
}

// richLine is rich.pretty's _Line.
type richLine struct {
	node                     *richNode
	text, suffix, whitespace string
	expanded, last           bool
}

func (l *richLine) fits(width int) bool {
	total := utf8.RuneCountInString(l.whitespace + l.text + l.suffix)
	return l.node.tokens(func(s string) bool {
		total += utf8.RuneCountInString(s)
		return total <= width
	})
}

func (l *richLine) expand(indent int) []*richLine {
	n := l.node
	first := &richLine{text: n.open, whitespace: l.whitespace, expanded: true}
	if n.key != "" {
		first.text = n.key + ": " + n.open
	}
	out := []*richLine{first}
	ws := l.whitespace + strings.Repeat(" ", indent)
	for _, c := range n.children {
		out = append(out, &richLine{node: c, whitespace: ws, suffix: ", ", last: c.last})
	}
	return append(out, &richLine{text: n.close, whitespace: l.whitespace, suffix: l.suffix, last: l.last, expanded: true})
}

func (l *richLine) String() string {
	s := l.whitespace + l.text
	if l.node != nil {
		s += l.node.String()
	}
	if !l.last {
		s += strings.TrimRight(l.suffix, " ")
	}
	return s
}
