package patcher

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"syscall"
)

// Output is a patched file described, not built: pieces laid end to end,
// each either a range of the input or bytes elfpatch made, and small edits
// (header fields, sites, symbol entries) written over them. A patch
// changes a few hundred bytes of a file that may be hundreds of MiB of
// debug information, so the input's ranges are never read into memory:
// WriteTo has the kernel copy them (a reflink clone where the filesystem
// can, copy_file_range otherwise), and Bytes builds the whole file only
// for callers that want it in memory.
type Output struct {
	in     []byte    // the input (mapped, not read)
	inOver []overlay // edits at input offsets, moved with the bytes they edit
	// inOrder indexes inOver by offset; inMaxLen is its longest edit.
	inOrder  []int
	inMaxLen uint64
	pieces   []piece
	size     uint64
	over     []overlay // edits at output offsets, applied last, in order
}

type piece struct {
	input bool   // a range of the input ...
	off   uint64 // ... at this offset,
	n     uint64
	data  []byte // or these bytes
}

type overlay struct {
	off  uint64
	data []byte
}

// rope is a section's new contents: pieces of their own, placed where
// the section lands.
type rope []piece

func bytesRope(b []byte) rope { return rope{{n: uint64(len(b)), data: b}} }

func (r rope) size() uint64 {
	var n uint64
	for _, p := range r {
		n += p.n
	}
	return n
}

// bytes builds the contents in memory; for contents known to be small.
func (r rope) bytes(in []byte) []byte {
	if len(r) == 1 && !r[0].input {
		return r[0].data
	}
	var b []byte
	for _, p := range r {
		if p.input {
			b = append(b, in[p.off:p.off+p.n]...)
		} else {
			b = append(b, p.data...)
		}
	}
	return b
}

func newOutput(in []byte) *Output { return &Output{in: in} }

// Size is the output's length.
func (o *Output) Size() uint64 { return o.size }

// patchInput edits the input's bytes at off wherever they land; it must
// come before the range holding them is appended.
func (o *Output) patchInput(off uint64, data []byte) {
	o.inOver = append(o.inOver, overlay{off, append([]byte(nil), data...)})
}

// appendInput appends the input's bytes [off, off+n).
func (o *Output) appendInput(off, n uint64) {
	if n == 0 {
		return
	}
	at := o.size
	if k := len(o.pieces) - 1; k >= 0 && o.pieces[k].input && o.pieces[k].off+o.pieces[k].n == off {
		o.pieces[k].n += n
	} else {
		o.pieces = append(o.pieces, piece{input: true, off: off, n: n})
	}
	o.size += n
	for _, i := range o.inputEdits(off, off+n) {
		e := o.inOver[i]
		lo, hi := max(e.off, off), min(e.off+uint64(len(e.data)), off+n)
		o.over = append(o.over, overlay{at + lo - off, e.data[lo-e.off : hi-e.off]})
	}
}

// inputEdits lists, in the order made, the input edits that touch
// [lo, hi), found through an index by offset (edits never change once a
// range is appended).
func (o *Output) inputEdits(lo, hi uint64) []int {
	if len(o.inOver) == 0 {
		return nil
	}
	if len(o.inOrder) != len(o.inOver) {
		o.inOrder = make([]int, len(o.inOver))
		o.inMaxLen = 0
		for i, e := range o.inOver {
			o.inOrder[i] = i
			o.inMaxLen = max(o.inMaxLen, uint64(len(e.data)))
		}
		sort.SliceStable(o.inOrder, func(a, b int) bool { return o.inOver[o.inOrder[a]].off < o.inOver[o.inOrder[b]].off })
	}
	// The first edit that may reach lo starts at most inMaxLen before it.
	from := uint64(0)
	if lo > o.inMaxLen {
		from = lo - o.inMaxLen
	}
	k := sort.Search(len(o.inOrder), func(k int) bool { return o.inOver[o.inOrder[k]].off >= from })
	var hit []int
	for ; k < len(o.inOrder); k++ {
		e := o.inOver[o.inOrder[k]]
		if e.off >= hi {
			break
		}
		if e.off+uint64(len(e.data)) > lo {
			hit = append(hit, o.inOrder[k])
		}
	}
	sort.Ints(hit)
	return hit
}

// appendBytes appends bytes elfpatch made.
func (o *Output) appendBytes(b []byte) {
	if len(b) == 0 {
		return
	}
	o.pieces = append(o.pieces, piece{n: uint64(len(b)), data: b})
	o.size += uint64(len(b))
}

func (o *Output) appendRope(r rope) {
	for _, p := range r {
		if p.input {
			o.appendInput(p.off, p.n)
		} else {
			o.appendBytes(p.data)
		}
	}
}

// pad appends zeros up to a multiple of align.
func (o *Output) pad(align uint64) {
	if align > 1 && o.size%align != 0 {
		o.appendBytes(make([]byte, align-o.size%align))
	}
}

// writeAt edits the output's bytes at off.
func (o *Output) writeAt(off uint64, data []byte) {
	o.over = append(o.over, overlay{off, data})
}

// putField writes a header field at base.
func (o *Output) putField(img *Image, base uint64, f fieldSpec, v uint64) {
	b := make([]byte, f.width)
	if f.width == 8 {
		img.Order.PutUint64(b, v)
	} else {
		img.Order.PutUint32(b, uint32(v))
	}
	o.writeAt(base+f.off, b)
}

// check reports an edit past the end, which would be elfpatch's mistake.
func (o *Output) check(name string) error {
	for _, e := range o.over {
		if e.off > o.size || uint64(len(e.data)) > o.size-e.off {
			return atOffset(name, e.off, "internal error: an edit of %d bytes past the end of the output (0x%x bytes)", len(e.data), o.size)
		}
	}
	return nil
}

// Bytes builds the whole output in memory.
func (o *Output) Bytes() []byte {
	b := make([]byte, 0, o.size)
	for _, p := range o.pieces {
		if p.input {
			b = append(b, o.in[p.off:p.off+p.n]...)
		} else {
			b = append(b, p.data...)
		}
	}
	for _, e := range o.over {
		copy(b[e.off:], e.data)
	}
	return b
}

// unchanged reports whether the output is the input, byte for byte,
// without building it: the same length, and every run of it (see
// segments: ranges of the input, and the edited windows, built) equal to
// the input's bytes at its place.
func (o *Output) unchanged() bool {
	if o.size != uint64(len(o.in)) {
		return false
	}
	for _, sg := range o.segments() {
		var same bool
		switch {
		case sg.input && sg.off == sg.at:
			same = true
		case sg.input:
			same = bytes.Equal(o.in[sg.off:sg.off+sg.n], o.in[sg.at:sg.at+sg.n])
		default:
			same = bytes.Equal(sg.data, o.in[sg.at:sg.at+sg.n])
		}
		if !same {
			return false
		}
	}
	return true
}

// WriteTo writes the output to dst, an empty file, reading the input's
// ranges from src, the input file itself. The output, when it starts with
// the whole input, is first cloned where the filesystem shares extents
// (FICLONE: XFS, Btrfs and others); every other range of the input goes
// through copy_file_range, which the kernel serves without passing the
// bytes through elfpatch (and which shares whole blocks where it can).
// The edits are gathered into windows (edits less than a block apart
// share one), each written once, built from the pieces under it: a patch
// of thousands of sites is a few writes, and the input's pages are read
// only under the edits.
func (o *Output) WriteTo(dst, src *os.File) (cloned bool, err error) {
	segs := o.segments()
	// An output that starts with the whole input gets it first, whole: a
	// clone where the filesystem can, else one copy from offset 0 to
	// offset 0, which the kernel does faster than the same bytes copied
	// to another offset or in pieces; the edits are written over it.
	whole := false
	if len(o.pieces) > 0 && o.pieces[0].input && o.pieces[0].off == 0 && o.pieces[0].n == uint64(len(o.in)) {
		if err := fileClone(dst, src); err == nil {
			cloned, whole = true, true
		} else if !errors.Is(err, syscall.EOPNOTSUPP) && !errors.Is(err, syscall.EXDEV) && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTTY) && !errors.Is(err, syscall.ENOSYS) && !errors.Is(err, syscall.EPERM) {
			// Anything else (a full disk, an I/O error) is the write's
			// failure; a filesystem that cannot clone is not.
			return false, err
		} else if err := copyOnce(dst, src, 0, 0, uint64(len(o.in))); err != nil {
			return false, err
		} else {
			whole = true
		}
	}
	for _, sg := range segs {
		switch {
		case !sg.input:
			if _, err := dst.WriteAt(sg.data, int64(sg.at)); err != nil {
				return cloned, err
			}
		case whole && sg.off == sg.at:
			// The clone or the copy holds these bytes already.
		default:
			if err := copyRange(dst, src, sg.at, sg.off, sg.n); err != nil {
				return cloned, err
			}
		}
	}
	if err := dst.Truncate(int64(o.size)); err != nil {
		return cloned, err
	}
	return cloned, nil
}

// segment is a run of the output: a range of the input or bytes.
type segment struct {
	at    uint64 // output offset
	input bool
	off   uint64 // input offset
	n     uint64
	data  []byte
}

// editGap is how far apart two edits may lie and still be written as one.
const editGap = cloneBlock

// segments lays the output out as runs to write: the pieces, with every
// window of edits built in memory.
func (o *Output) segments() []segment {
	// Windows: the edits' extents in offset order, merged when close.
	type window struct {
		lo, hi uint64
		edits  []int
	}
	idx := make([]int, len(o.over))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return o.over[idx[a]].off < o.over[idx[b]].off })
	var wins []*window
	for _, i := range idx {
		e := o.over[i]
		lo, hi := e.off, e.off+uint64(len(e.data))
		if n := len(wins); n > 0 && lo <= wins[n-1].hi+editGap {
			w := wins[n-1]
			w.hi = max(w.hi, hi)
			w.edits = append(w.edits, i)
			continue
		}
		wins = append(wins, &window{lo: lo, hi: hi, edits: []int{i}})
	}
	// Runs of the pieces over [lo, hi), the first found by its start.
	starts := make([]uint64, len(o.pieces))
	var pos uint64
	for i, p := range o.pieces {
		starts[i] = pos
		pos += p.n
	}
	var segs []segment
	var at uint64
	emit := func(lo, hi uint64, into []byte) {
		first := sort.Search(len(o.pieces), func(i int) bool { return starts[i]+o.pieces[i].n > lo })
		for i := first; i < len(o.pieces) && starts[i] < hi; i++ {
			p := o.pieces[i]
			start, end := starts[i], starts[i]+p.n
			if end <= lo {
				continue
			}
			a, b := max(start, lo), min(end, hi)
			switch {
			case into != nil && p.input:
				copy(into[a-lo:], o.in[p.off+a-start:p.off+b-start])
			case into != nil:
				copy(into[a-lo:], p.data[a-start:b-start])
			case p.input:
				segs = append(segs, segment{at: a, input: true, off: p.off + a - start, n: b - a})
			default:
				segs = append(segs, segment{at: a, n: b - a, data: p.data[a-start : b-start]})
			}
		}
	}
	for _, w := range wins {
		w.hi = min(w.hi, o.size)
		if w.lo >= w.hi {
			continue
		}
		emit(at, w.lo, nil)
		buf := make([]byte, w.hi-w.lo)
		emit(w.lo, w.hi, buf)
		sort.Ints(w.edits) // in the order made: a later edit wins
		for _, i := range w.edits {
			e := o.over[i]
			copy(buf[e.off-w.lo:], e.data)
		}
		segs = append(segs, segment{at: w.lo, n: uint64(len(buf)), data: buf})
		at = w.hi
	}
	emit(at, o.size, nil)
	return segs
}

// copyRange copies n bytes of src at off to dst at at, through
// copy_file_range. A large range whose two offsets lie alike in a block
// is split at block boundaries, so that its whole blocks can be shared.
func copyRange(dst, src *os.File, at, off, n uint64) error {
	if n >= cloneMin && at%cloneBlock == off%cloneBlock {
		head := (cloneBlock - off%cloneBlock) % cloneBlock
		if err := copyRange(dst, src, at, off, head); err != nil {
			return err
		}
		at, off, n = at+head, off+head, n-head
		body := n / cloneBlock * cloneBlock
		if err := copyOnce(dst, src, at, off, body); err != nil {
			return err
		}
		at, off, n = at+body, off+body, n-body
	}
	return copyOnce(dst, src, at, off, n)
}

func copyOnce(dst, src *os.File, at, off, n uint64) error {
	if n == 0 {
		return nil
	}
	if _, err := dst.Seek(int64(at), io.SeekStart); err != nil {
		return err
	}
	if _, err := src.Seek(int64(off), io.SeekStart); err != nil {
		return err
	}
	// *os.File's ReadFrom turns this into copy_file_range (or
	// sendfile/splice), falling back to a buffered copy.
	if k, err := io.CopyN(dst, src, int64(n)); err != nil {
		if err == io.EOF {
			return fmt.Errorf("the input is %d bytes shorter than when it was read", n-uint64(k))
		}
		return err
	}
	return nil
}

// ficlone is Linux's FICLONE ioctl: _IOW(0x94, 9, int).
const ficlone = 0x40049409

// fileClone makes dst share src's extents, where the filesystem can.
func fileClone(dst, src *os.File) error {
	dc, err := dst.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	if err := dc.Control(func(d uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, d, ficlone, src.Fd())
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}
