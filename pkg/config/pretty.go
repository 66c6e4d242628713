package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// prettyWidth is the line length PrettyText tries to keep to (yapf's
// pep8 column limit, as mmengine uses).
const prettyWidth = 79

// pyKeywords cannot be keyword-argument names in dict(...).
var pyKeywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true,
	"async": true, "await": true, "break": true, "class": true, "continue": true,
	"def": true, "del": true, "elif": true, "else": true, "except": true, "finally": true,
	"for": true, "from": true, "global": true, "if": true, "import": true, "in": true,
	"is": true, "lambda": true, "nonlocal": true, "not": true, "or": true, "pass": true,
	"raise": true, "return": true, "try": true, "while": true, "with": true, "yield": true,
	"load": true,
}

func isIdent(s string) bool {
	if s == "" || pyKeywords[s] {
		return false
	}
	for i, r := range s {
		if r == '_' || (r < utf8.RuneSelf && unicode.IsLetter(r)) || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

// pyString is Python's repr(str).
func pyString(s string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < utf8.RuneSelf || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// scalarRepr writes a non-container value as Python source.
func scalarRepr(v Value) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return "float('" + pyFloat(x) + "')"
		}
		return pyFloat(x)
	case string:
		return pyString(x)
	}
	return fmt.Sprintf("<%T>", v)
}

// repr renders v on one line as Python source.
func repr(v Value) string {
	var b strings.Builder
	writeFlat(&b, v)
	return b.String()
}

func writeFlat(b *strings.Builder, v Value) {
	switch x := v.(type) {
	case *Dict:
		if x == nil {
			b.WriteString("None")
			return
		}
		kw := dictAsCall(x)
		if kw {
			b.WriteString("dict(")
		} else {
			b.WriteString("{")
		}
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			if kw {
				b.WriteString(k + "=")
			} else {
				b.WriteString(pyString(k) + ": ")
			}
			writeFlat(b, x.m[k])
		}
		if kw {
			b.WriteString(")")
		} else {
			b.WriteString("}")
		}
	case []Value:
		b.WriteString("[")
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeFlat(b, e)
		}
		b.WriteString("]")
	case Tuple:
		b.WriteString("(")
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeFlat(b, e)
		}
		if len(x) == 1 {
			b.WriteString(", ")
		}
		b.WriteString(")")
	default:
		b.WriteString(scalarRepr(v))
	}
}

// dictAsCall reports whether d can be written as dict(k=v, ...): all
// keys are identifiers. An empty dict is written dict().
func dictAsCall(d *Dict) bool {
	for _, k := range d.keys {
		if !isIdent(k) {
			return false
		}
	}
	return true
}

// writePretty writes v starting at the current column col, breaking it
// over lines indented by indent when the flat form is too wide.
func writePretty(b *strings.Builder, v Value, indent, col int) {
	flat := repr(v)
	if col+len(flat) <= prettyWidth {
		b.WriteString(flat)
		return
	}
	pad := strings.Repeat(" ", indent+4)
	switch x := v.(type) {
	case *Dict:
		if x == nil || x.Len() == 0 {
			b.WriteString(flat)
			return
		}
		kw := dictAsCall(x)
		if kw {
			b.WriteString("dict(\n")
		} else {
			b.WriteString("{\n")
		}
		for _, k := range x.keys {
			b.WriteString(pad)
			prefix := k + "="
			if !kw {
				prefix = pyString(k) + ": "
			}
			b.WriteString(prefix)
			writePretty(b, x.m[k], indent+4, indent+4+len(prefix))
			b.WriteString(",\n")
		}
		b.WriteString(strings.Repeat(" ", indent))
		if kw {
			b.WriteString(")")
		} else {
			b.WriteString("}")
		}
	case []Value:
		writeSeq(b, x, "[", "]", indent)
	case Tuple:
		writeSeq(b, x, "(", ")", indent)
	default:
		b.WriteString(flat)
	}
}

func writeSeq(b *strings.Builder, l []Value, open, closing string, indent int) {
	if len(l) == 0 {
		b.WriteString(open + closing)
		return
	}
	pad := strings.Repeat(" ", indent+4)
	b.WriteString(open + "\n")
	for _, e := range l {
		b.WriteString(pad)
		writePretty(b, e, indent+4, indent+4)
		b.WriteString(",\n")
	}
	b.WriteString(strings.Repeat(" ", indent) + closing)
}

// PrettyText renders the config as Python source in mmengine's style
// (`key = dict(...)` per top-level key, lines kept within 79 columns when
// possible). Loading the text back gives the same config. It is what
// checkpoints store as meta.cfg and what print-config prints. The layout
// is not byte-identical to mmengine's yapf-formatted output.
func (c *Config) PrettyText() string {
	var b strings.Builder
	for i, k := range c.Dict.keys {
		if i > 0 {
			b.WriteString("\n")
		}
		name := k
		if !isIdent(k) {
			// Not expressible as a top-level assignment; keep it readable.
			name = "# " + pyString(k) + ":\n_ "
		}
		b.WriteString(name + " = ")
		writePretty(&b, c.Dict.m[k], 0, len(k)+3)
		b.WriteString("\n")
	}
	return b.String()
}
