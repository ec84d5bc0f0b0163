package raster

import "math"

// An expression is compiled once into a program of vector instructions, each
// applying one operator to whole chunks of pixels held in registers (one per
// tree node), so evaluation costs a tight loop per operator rather than a
// tree walk per pixel. NaN marks an undefined value (0/0, x/0, comparisons
// with an undefined operand, …) and flows through every operator to the
// result, where BandMath turns it into nodata.

// exprFuncArity is the number of arguments of each function; negative: at
// least that many.
var exprFuncArity = map[string]int{
	"sqrt": 1, "abs": 1, "exp": 1, "log": 1, "log10": 1, "floor": 1, "ceil": 1, "round": 1,
	"sin": 1, "cos": 1, "tan": 1, "atan": 1, "atan2": 2, "min": -2, "max": -2, "clamp": 3, "where": 3,
}

var exprUnary = map[string]func(float64) float64{
	"neg":  func(a float64) float64 { return -a },
	"not":  func(a float64) float64 { return exprTruth(a == 0, a, a) },
	"sqrt": math.Sqrt, "abs": math.Abs, "exp": math.Exp, "log": math.Log, "log10": math.Log10,
	"floor": math.Floor, "ceil": math.Ceil, "round": math.Round,
	"sin": math.Sin, "cos": math.Cos, "tan": math.Tan, "atan": math.Atan,
}

var exprBinary = map[string]func(a, b float64) float64{
	"+":     func(a, b float64) float64 { return a + b },
	"-":     func(a, b float64) float64 { return a - b },
	"*":     func(a, b float64) float64 { return a * b },
	"/":     exprDiv,
	"%":     func(a, b float64) float64 { return math.Mod(a, b) }, // NaN for b = 0
	"^":     math.Pow,
	"<":     func(a, b float64) float64 { return exprTruth(a < b, a, b) },
	"<=":    func(a, b float64) float64 { return exprTruth(a <= b, a, b) },
	">":     func(a, b float64) float64 { return exprTruth(a > b, a, b) },
	">=":    func(a, b float64) float64 { return exprTruth(a >= b, a, b) },
	"==":    func(a, b float64) float64 { return exprTruth(a == b, a, b) },
	"!=":    func(a, b float64) float64 { return exprTruth(a != b, a, b) },
	"&&":    func(a, b float64) float64 { return exprTruth(a != 0 && b != 0, a, b) },
	"||":    func(a, b float64) float64 { return exprTruth(a != 0 || b != 0, a, b) },
	"atan2": math.Atan2, "min": math.Min, "max": math.Max,
}

var exprTernary = map[string]func(a, b, c float64) float64{
	"clamp": func(x, lo, hi float64) float64 { return math.Min(math.Max(x, lo), hi) },
	"where": func(c, a, b float64) float64 {
		switch {
		case c != c:
			return c
		case c != 0:
			return a
		}
		return b
	},
}

// div is a/b, undefined (NaN) when b is 0.
func exprDiv(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// truth is 1 or 0 for condition c on operands a and b: NaN if either is
// undefined.
func exprTruth(c bool, a, b float64) float64 {
	switch {
	case a != a || b != b:
		return math.NaN()
	case c:
		return 1
	}
	return 0
}

// instr applies op to registers a, b, c (as many as it takes) into dst.
type exprInstr struct {
	op      string
	dst     int
	args    []int
	unary   func(float64) float64
	binary  func(a, b float64) float64
	ternary func(a, b, c float64) float64
}

// program is a compiled expression.
type exprProgram struct {
	code   []exprInstr
	consts map[int]float64 // constant registers
	bandOf map[int]int     // band registers: 0-based band index
	nregs  int
	out    int // the result's register
}

// compile turns a tree into a program, folding constant subtrees.
func compileExpr(n *exprNode) *exprProgram {
	p := &exprProgram{consts: map[int]float64{}, bandOf: map[int]int{}}
	p.out = p.emit(n)
	return p
}

func (p *exprProgram) reg() int { p.nregs++; return p.nregs - 1 }

// emit compiles n and returns the register of its value.
func (p *exprProgram) emit(n *exprNode) int {
	switch n.op {
	case "num":
		r := p.reg()
		p.consts[r] = n.num
		return r
	case "band":
		r := p.reg()
		p.bandOf[r] = n.band
		return r
	}
	args := make([]int, len(n.args))
	for i, a := range n.args {
		args[i] = p.emit(a)
	}
	if n.op == "min" || n.op == "max" { // variadic: a chain of pairs
		for len(args) > 2 {
			pair := &exprNode{op: n.op}
			args = append([]int{p.add(pair, args[:2])}, args[2:]...)
		}
	}
	return p.add(n, args)
}

// add appends the instruction applying n.op to args, or folds it into a
// constant when every argument is one.
func (p *exprProgram) add(n *exprNode, args []int) int {
	in := exprInstr{op: n.op, args: args, unary: exprUnary[n.op], binary: exprBinary[n.op], ternary: exprTernary[n.op]}
	vals := make([]float64, len(args))
	folded := true
	for i, a := range args {
		v, ok := p.consts[a]
		vals[i], folded = v, folded && ok
	}
	in.dst = p.reg()
	if folded {
		var v float64
		switch len(args) {
		case 1:
			v = in.unary(vals[0])
		case 2:
			v = in.binary(vals[0], vals[1])
		default:
			v = in.ternary(vals[0], vals[1], vals[2])
		}
		for _, a := range args {
			delete(p.consts, a)
		}
		p.consts[in.dst] = v
		return in.dst
	}
	p.code = append(p.code, in)
	return in.dst
}

// exec runs the instruction over the first n values of the registers.
func (in *exprInstr) exec(regs [][]float64, n int) {
	d := regs[in.dst][:n]
	switch len(in.args) {
	case 1:
		a := regs[in.args[0]][:n]
		for i := range d {
			d[i] = in.unary(a[i])
		}
	case 2:
		a, b := regs[in.args[0]][:n], regs[in.args[1]][:n]
		switch in.op { // the common operators without a call per pixel
		case "+":
			for i := range d {
				d[i] = a[i] + b[i]
			}
		case "-":
			for i := range d {
				d[i] = a[i] - b[i]
			}
		case "*":
			for i := range d {
				d[i] = a[i] * b[i]
			}
		case "/":
			for i := range d {
				d[i] = a[i] / b[i]
				if b[i] == 0 {
					d[i] = math.NaN()
				}
			}
		default:
			for i := range d {
				d[i] = in.binary(a[i], b[i])
			}
		}
	default:
		a, b, c := regs[in.args[0]][:n], regs[in.args[1]][:n], regs[in.args[2]][:n]
		for i := range d {
			d[i] = in.ternary(a[i], b[i], c[i])
		}
	}
}
