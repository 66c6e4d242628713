package checkpoint

import (
	"bytes"
	"encoding/binary"
)

// Limits applied to every pickle before gopickle sees it. They are far above
// what torch.save produces for any real checkpoint (a MobileOne-s4 data.pkl
// is a few hundred KB with nesting depth < 10).
const (
	maxPickleBytes  = 256 << 20 // data.pkl / legacy pickle size
	maxMarkDepth    = 1000      // outstanding MARKs (Python's own recursion limit is 1000)
	maxStackItems   = 1 << 20   // live items on the unpickler stacks
	maxPickleMemory = 2 << 30   // rough upper bound of what unpickling may allocate
	maxLongBytes    = 1024      // LONG1/LONG4 payload (Python ints above 2^8192)
	maxLineBytes    = 4096      // text-opcode lines (INT, LONG, FLOAT, GLOBAL, ...)
	maxValueDepth   = 1000      // nesting of decoded containers
)

// opcode argument kinds.
const (
	argNone  = iota
	argFixed // n bytes
	argLine  // one newline-terminated line
	argLine2 // two lines (GLOBAL, INST)
	argLen1  // 1-byte length + data
	argLen4  // 4-byte little-endian length + data (uint32 or int32)
	argLen8  // 8-byte little-endian length + data
)

type opInfo struct {
	arg   int
	n     int // fixed size
	pop   int // items popped (after any mark pop)
	push  int // items pushed
	mark  int // +1 pushes a mark, -1 pops to the last mark
	cost  int // approximate bytes allocated by gopickle
	valid bool
}

var opTable [256]opInfo

func init() {
	set := func(op byte, arg, n, pop, push, mark, cost int) {
		opTable[op] = opInfo{arg: arg, n: n, pop: pop, push: push, mark: mark, cost: cost, valid: true}
	}
	const obj = 160                    // a new container or object
	const val = 32                     // a boxed scalar
	set('(', argNone, 0, 0, 0, 1, 300) // MARK allocates a new 16-slot stack
	set('.', argNone, 0, 1, 0, 0, 0)   // STOP
	set('0', argNone, 0, 1, 0, 0, 0)   // POP (handled specially)
	set('1', argNone, 0, 0, 0, -1, 0)  // POP_MARK
	set('2', argNone, 0, 1, 2, 0, 16)  // DUP
	set('F', argLine, 0, 0, 1, 0, val) // FLOAT
	set('I', argLine, 0, 0, 1, 0, val) // INT
	set('J', argFixed, 4, 0, 1, 0, val)
	set('K', argFixed, 1, 0, 1, 0, val)
	set('L', argLine, 0, 0, 1, 0, val)
	set('M', argFixed, 2, 0, 1, 0, val)
	set('N', argNone, 0, 0, 1, 0, 16)
	set('P', argLine, 0, 0, 1, 0, obj) // PERSID
	set('Q', argNone, 0, 1, 1, 0, obj) // BINPERSID
	set('R', argNone, 0, 2, 1, 0, obj) // REDUCE
	set('S', argLine, 0, 0, 1, 0, val) // STRING
	set('T', argLen4, 0, 0, 1, 0, val) // BINSTRING
	set('U', argLen1, 0, 0, 1, 0, val) // SHORT_BINSTRING
	set('V', argLine, 0, 0, 1, 0, val) // UNICODE
	set('X', argLen4, 0, 0, 1, 0, val) // BINUNICODE
	set('a', argNone, 0, 2, 1, 0, 16)  // APPEND
	set('b', argNone, 0, 2, 1, 0, obj) // BUILD
	set('c', argLine2, 0, 0, 1, 0, obj)
	set('d', argNone, 0, 0, 1, -1, obj) // DICT
	set('}', argNone, 0, 0, 1, 0, obj)
	set('e', argNone, 0, 1, 1, -1, 16) // APPENDS
	set('g', argLine, 0, 0, 1, 0, 16)
	set('h', argFixed, 1, 0, 1, 0, 16)
	set('i', argLine2, 0, 0, 1, -1, obj) // INST
	set('j', argFixed, 4, 0, 1, 0, 16)
	set('l', argNone, 0, 0, 1, -1, obj) // LIST
	set(']', argNone, 0, 0, 1, 0, obj)
	set('o', argNone, 0, 0, 1, -1, obj) // OBJ
	set('p', argLine, 0, 0, 0, 0, 64)   // PUT (memo entries)
	set('q', argFixed, 1, 0, 0, 0, 64)
	set('r', argFixed, 4, 0, 0, 0, 64)
	set('s', argNone, 0, 3, 1, 0, 64)   // SETITEM
	set('t', argNone, 0, 0, 1, -1, obj) // TUPLE
	set(')', argNone, 0, 0, 1, 0, obj)
	set('u', argNone, 0, 1, 1, -1, 64) // SETITEMS
	set('G', argFixed, 8, 0, 1, 0, val)
	// protocol 2
	set(0x80, argFixed, 1, 0, 0, 0, 0)   // PROTO
	set(0x81, argNone, 0, 2, 1, 0, obj)  // NEWOBJ
	set(0x82, argFixed, 1, 0, 1, 0, obj) // EXT1
	set(0x83, argFixed, 2, 0, 1, 0, obj)
	set(0x84, argFixed, 4, 0, 1, 0, obj)
	set(0x85, argNone, 0, 1, 1, 0, obj) // TUPLE1
	set(0x86, argNone, 0, 2, 1, 0, obj)
	set(0x87, argNone, 0, 3, 1, 0, obj)
	set(0x88, argNone, 0, 0, 1, 0, 16)
	set(0x89, argNone, 0, 0, 1, 0, 16)
	set(0x8a, argLen1, 0, 0, 1, 0, val) // LONG1
	set(0x8b, argLen4, 0, 0, 1, 0, val) // LONG4
	// protocol 3
	set('B', argLen4, 0, 0, 1, 0, val) // BINBYTES
	set('C', argLen1, 0, 0, 1, 0, val) // SHORT_BINBYTES
	// protocol 4
	set(0x8c, argLen1, 0, 0, 1, 0, val) // SHORT_BINUNICODE
	set(0x8d, argLen8, 0, 0, 1, 0, val) // BINUNICODE8
	set(0x8e, argLen8, 0, 0, 1, 0, val) // BINBYTES8
	set(0x8f, argNone, 0, 0, 1, 0, obj) // EMPTY_SET
	set(0x90, argNone, 0, 1, 1, -1, 64) // ADDITEMS
	set(0x91, argNone, 0, 0, 1, -1, obj)
	set(0x92, argNone, 0, 3, 1, 0, obj) // NEWOBJ_EX
	set(0x93, argNone, 0, 2, 1, 0, obj) // STACK_GLOBAL
	set(0x94, argNone, 0, 0, 0, 0, 64)  // MEMOIZE
	set(0x95, argFixed, 8, 0, 0, 0, 0)  // FRAME (size checked specially)
	// protocol 5
	set(0x96, argLen8, 0, 0, 1, 0, val) // BYTEARRAY8
	// NEXT_BUFFER / READONLY_BUFFER need out-of-band buffers: never valid here.
}

// scanPickle walks the opcodes of the pickle starting at data[0] without
// executing them and returns the length up to and including STOP. It
// rejects anything gopickle would mishandle: unknown opcodes (0xFF panics in
// gopickle), arguments running past the end, lengths that would make gopickle
// allocate more than the input holds, oversized integers and lines, stack
// underflow, MARK nesting deeper than maxMarkDepth and inputs whose decoding
// would allocate more than maxPickleMemory.
func scanPickle(data []byte) (int, error) { return scanPickleLimit(data, maxPickleBytes) }

// scanPickleLimit is scanPickle for pickles of up to maxBytes.
func scanPickleLimit(data []byte, maxBytes int) (int, error) {
	var (
		pos    int
		marks  []int // stack sizes saved by MARK
		stack  int   // items on the current stack
		live   int   // items on all stacks
		memory int
	)
	for {
		if pos >= len(data) {
			return 0, FormatError("pickle truncated (no STOP opcode)")
		}
		if pos > maxBytes {
			return 0, unsupportedf("pickle larger than %d bytes", maxBytes)
		}
		op := data[pos]
		info := opTable[op]
		if !info.valid {
			return 0, formatErrorf("unknown or unsupported pickle opcode 0x%02x at offset %d", op, pos)
		}
		start := pos
		pos++
		argLen := 0
		switch info.arg {
		case argFixed:
			if len(data)-pos < info.n {
				return 0, formatErrorf("pickle truncated in opcode 0x%02x at offset %d", op, start)
			}
			switch op {
			case 0x80:
				if data[pos] > 5 {
					return 0, unsupportedf("pickle protocol %d", data[pos])
				}
			case 0x95:
				n := binary.LittleEndian.Uint64(data[pos:])
				if n > uint64(len(data)-pos-8) {
					return 0, formatErrorf("pickle frame of %d bytes exceeds the remaining %d bytes", n, len(data)-pos-8)
				}
				memory += int(n)
			}
			pos += info.n
		case argLine, argLine2:
			lines := 1
			if info.arg == argLine2 {
				lines = 2
			}
			for range lines {
				i := bytes.IndexByte(data[pos:min(len(data), pos+maxLineBytes)], '\n')
				if i < 0 {
					if len(data)-pos > maxLineBytes {
						return 0, formatErrorf("pickle text argument longer than %d bytes at offset %d", maxLineBytes, start)
					}
					return 0, formatErrorf("pickle truncated in opcode 0x%02x at offset %d", op, start)
				}
				pos += i + 1
				argLen += i + 1
			}
		case argLen1, argLen4, argLen8:
			var n uint64
			switch info.arg {
			case argLen1:
				if len(data)-pos < 1 {
					return 0, formatErrorf("pickle truncated in opcode 0x%02x at offset %d", op, start)
				}
				n = uint64(data[pos])
				pos++
			case argLen4:
				if len(data)-pos < 4 {
					return 0, formatErrorf("pickle truncated in opcode 0x%02x at offset %d", op, start)
				}
				n = uint64(binary.LittleEndian.Uint32(data[pos:]))
				if (op == 'T' || op == 0x8b) && n >= 1<<31 {
					return 0, formatErrorf("negative length in opcode 0x%02x at offset %d", op, start)
				}
				pos += 4
			case argLen8:
				if len(data)-pos < 8 {
					return 0, formatErrorf("pickle truncated in opcode 0x%02x at offset %d", op, start)
				}
				n = binary.LittleEndian.Uint64(data[pos:])
				pos += 8
			}
			if n > uint64(len(data)-pos) {
				return 0, formatErrorf("pickle argument of %d bytes at offset %d runs past the end", n, start)
			}
			if (op == 0x8a || op == 0x8b) && n > maxLongBytes {
				return 0, unsupportedf("integer of %d bytes in pickle", n)
			}
			if op == 0x8a && n == 0 {
				// LONG1 with no bytes is 0 in Python but panics in gopickle.
				return 0, unsupportedf("zero-length LONG1 at offset %d", start)
			}
			argLen = int(n)
			pos += int(n)
		}
		memory += info.cost + 2*argLen
		if memory > maxPickleMemory {
			return 0, unsupportedf("pickle would allocate more than %d bytes", maxPickleMemory)
		}

		// Stack effect.
		if info.mark < 0 {
			if len(marks) == 0 {
				return 0, formatErrorf("pickle opcode 0x%02x at offset %d without MARK", op, start)
			}
			live -= stack
			stack = marks[len(marks)-1]
			marks = marks[:len(marks)-1]
		}
		pop := info.pop
		if op == '0' && stack == 0 { // POP with empty stack pops a mark in gopickle
			if len(marks) == 0 {
				return 0, formatErrorf("pickle stack underflow at offset %d", start)
			}
			stack = marks[len(marks)-1]
			marks = marks[:len(marks)-1]
			pop = 0
		}
		if stack < pop {
			return 0, formatErrorf("pickle stack underflow in opcode 0x%02x at offset %d", op, start)
		}
		stack += info.push - pop
		live += info.push - pop
		if info.mark > 0 {
			if len(marks) >= maxMarkDepth {
				return 0, unsupportedf("pickle nesting deeper than %d", maxMarkDepth)
			}
			marks = append(marks, stack)
			stack = 0
		}
		if live > maxStackItems {
			return 0, unsupportedf("pickle stack larger than %d items", maxStackItems)
		}
		if op == '.' {
			return pos, nil
		}
	}
}
